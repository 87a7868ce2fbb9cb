package core

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckBaseURL(t *testing.T) {
	for _, u := range []string{"https://dqe.example", "https://dqe.example:8443/base/", "HTTPS://DQE.EXAMPLE", "https://[2001:db8::1]/x",
		"https://[2001:db8::1]:443", "https://[::ffff:192.0.2.1]", "https://dqe.example.", "https://my_host.example", "https://192.0.2.7:1/x",
		"https://dqe.example:65535", "https://dqe.example/caf%C3%A9", "https://xn--caf-dma.example", "https://app.localhost",
		"http://127.0.0.1", "http://127.0.0.1:8080/x", "http://127.255.3.4", "http://localhost", "http://LOCALHOST:3000",
		"http://[::1]", "http://[::1]:9000/p", "http://[0:0:0:0:0:0:0:1]", "http://[::0001]"} {
		assert.NoError(t, checkBaseURL(u), u)
	}
	for _, u := range []string{"http://dqe.example", "http://10.0.0.1", "http://128.0.0.1", "http://127.1", "http://127.0.0.256", "http://0x7f.0.0.1",
		"http://localhost.evil.example", "http://127.0.0.1.evil.example", "http://[::2]", "http://[::1].evil.example", "http://[::1",
		"https://user@dqe.example", "https://user:pw@dqe.example/x", "http://x@127.0.0.1", "https://dqe.example/?q=1", "https://dqe.example/#f",
		"https://dqe example", "https://", "https:///path", "dqe.example", "ftp://dqe.example", "javascript://x", "https://dqe.example\n",
		"http://127.0.0.1.", "http://localhost.", "http://[::ffff:127.0.0.1]", "http://[fe80::1%25lo]", "http://[::1]x",
		"https://dqe.example:", "https://dqe.example:0", "https://dqe.example:99999", "https://dqe.example:65536", "https://dqe.example:+80",
		"https://dqe.example:8a", "https://2001:db8::1/x", "https://dqe..example", "https://-bad%2e.example", "https://dqe.exämple",
		"https://dqe.example\\@evil.example", "https://0177.0.0.1", "https://1.2.3", "https://300.1.1.1", "https://[1::2::3]",
		"https://[1:2:3:4:5:6:7:8:9]", "https://[::1:]", "https://[1:2:3:4:5:6:7::8]",
		"https://" + strings.Repeat("a", 64) + ".example", "https://x.example/" + strings.Repeat("p", maxBaseURLLen)} {
		err := checkBaseURL(u)
		var ce *Error
		require.ErrorAs(t, err, &ce, u)
		assert.Equal(t, CodeConfig, ce.Code, u)
		assert.Equal(t, "base_url", ce.Field, u)
		assert.NotContains(t, ce.Message, "pw", u)
	}
}

// TestBaseURLLocalhostSubdomainRefused is issue 8 item 4: a name under
// .localhost resolves wherever /etc/hosts or a DNS search domain says, so
// http:// to it would send the licence in clear text off the machine.
func TestBaseURLLocalhostSubdomainRefused(t *testing.T) {
	for _, u := range []string{"http://evil.localhost", "http://evil.localhost:8080/x", "http://A.B.LOCALHOST", "http://app.localhost."} {
		_, err := ParseConfig([]byte(`{"provider":"dqe-idmobile","base_url":"` + u + `","licence":"LIC-4711","client_secret":"s3cret"}`))
		var ce *Error
		require.ErrorAs(t, err, &ce, u)
		assert.Equal(t, CodeConfig, ce.Code, u)
		assert.Equal(t, "base_url", ce.Field, u)
		assert.Contains(t, ce.Message, "https://", u)
		assert.Contains(t, ce.Message, "127.0.0.1", u)
	}
	// https to such a name is fine: TLS checks who answers.
	_, err := ParseConfig([]byte(`{"provider":"dqe-idmobile","base_url":"https://evil.localhost","licence":"LIC-4711","client_secret":"s3cret"}`))
	assert.NoError(t, err)
}

// TestBaseURLBadBytesAreConfigErrors is issue 8 item 10: what an HTTP client
// refuses later (then reported as a retryable network error, retried four
// times) is refused by the config, before any request.
func TestBaseURLBadBytesAreConfigErrors(t *testing.T) {
	for name, u := range map[string]string{
		"NUL":             "https://dqe.example/a\x00b",
		"DEL":             "https://dqe.example/a\x7fb",
		"NUL in host":     "https://dqe\x00.example",
		"ESC":             "https://dqe.example/\x1b[31m",
		"tab":             "https://dqe.example/\tx",
		"C1 control":      "https://dqe.example/\u0085",
		"no-break space":  "https://dqe.example/\u00a0",
		"bidi override":   "https://dqe.example/\u202e",
		"invalid UTF-8":   "https://dqe.example/\xff",
		"non-ASCII path":  "https://dqe.example/café",
		"non-ASCII host":  "https://dqé.example/",
		"zero-width":      "https://dqe\u200b.example/",
		"space":           "https://dqe.example/a b",
		"port 99999":      "https://dqe.example:99999",
		"port 0":          "https://dqe.example:0/x",
		"userinfo":        "https://bob:pw@dqe.example",
		"fragment":        "https://dqe.example/x#frag",
		"empty fragment":  "https://dqe.example/x#",
		"query":           "https://dqe.example/x?a=1",
		"http 127 port 0": "http://127.0.0.1:0",
	} {
		cfg := `{"provider":"dqe-idmobile","base_url":` + string(appendJSONString(nil, u)) + `,"licence":"LIC-4711","client_secret":"s3cret"}`
		_, err := ParseConfig([]byte(cfg))
		var ce *Error
		require.ErrorAs(t, err, &ce, name)
		assert.Equal(t, CodeConfig, ce.Code, name)
		assert.Equal(t, "base_url", ce.Field, name)
		assert.True(t, strings.HasPrefix(ce.Message, "base_url: "), name)
		assert.NotContains(t, ce.Message, "dqe.example", "%s: the URL is not quoted back", name)
		// A Config built in Go, not parsed, is refused the same way: no
		// session, so no request.
		s, err := newTestSession(Config{Provider: DQEIDMobile, BaseURL: u, Licence: "LIC-4711", ClientSecret: "s3cret"})
		assert.Nil(t, s, name)
		require.ErrorAs(t, err, &ce, name)
		assert.Equal(t, "base_url", ce.Field, name)
		// And over the wire boundary (WASM, JS): {"error":{"code":"config"…}}.
		var hs Handles
		h, out := hs.New([]byte(cfg), nil)
		assert.Zero(t, h, name)
		assert.Contains(t, string(out), `"code":"config"`, name)
		assert.Contains(t, string(out), `"field":"base_url"`, name)
	}
}

func TestParseIPv6(t *testing.T) {
	for s, want := range map[string]string{
		"::":                     "00000000000000000000000000000000",
		"::1":                    "00000000000000000000000000000001",
		"1::":                    "00010000000000000000000000000000",
		"2001:db8::1":            "20010db8000000000000000000000001",
		"1:2:3:4:5:6:7:8":        "00010002000300040005000600070008",
		"::ffff:192.0.2.1":       "00000000000000000000ffffc0000201",
		"1:2:3:4:5:6:1.2.3.4":    "00010002000300040005000601020304",
		"fe80::abcd:0:0:1":       "fe80000000000000abcd000000000001",
		"0:0:0:0:0:0:0:1":        "00000000000000000000000000000001",
		"a:b:c:d:e:f:1.2.3.4":    "000a000b000c000d000e000f01020304",
		"::2:3:4:5:6:7:8":        "00000002000300040005000600070008",
		"1:2:3:4:5:6:7::":        "00010002000300040005000600070000",
		"ABCD:EF01:2345::6789:1": "abcdef01234500000000000067890001",
	} {
		ip, ok := parseIPv6(s)
		require.True(t, ok, s)
		got := make([]byte, 0, 32)
		for _, b := range ip {
			got = append(got, hexDigits[b>>4], hexDigits[b&15])
		}
		assert.Equal(t, want, string(got), s)
	}
	for _, s := range []string{"", ":", ":::", "1", "1:2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1:", ":1::", "1:2:3:4:5:6:7:8::",
		"::1.2.3", "1.2.3.4", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "g::", "::1%lo", "::01.2.3.4"} {
		_, ok := parseIPv6(s)
		assert.False(t, ok, s)
	}
}

func FuzzCheckBaseURL(f *testing.F) {
	for _, s := range []string{"https://dqe.example", "http://127.0.0.1:8080/x", "http://[::1]:9000", "http://evil.localhost", "https://x:99999",
		"https://a\x00b", "http://[::ffff:127.0.0.1]", "https://[1::2::3]", "http://0x7f.1", "https://ü.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		err := checkBaseURL(u)
		if err != nil {
			e := err.(*Error)
			if e.Code != CodeConfig || e.Field != "base_url" {
				t.Fatalf("checkBaseURL(%q) = %#v", u, e)
			}
			return
		}
		// What passes has no byte an HTTP client would refuse, and http://
		// only ever goes to a loopback address or localhost.
		if strings.IndexFunc(u, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 || strings.ContainsAny(u, "#?@\\") {
			t.Fatalf("checkBaseURL accepted %q", u)
		}
		if strings.HasPrefix(strings.ToLower(u), "http://") {
			host := strings.ToLower(u[len("http://"):])
			if i := strings.IndexByte(host, '/'); i >= 0 {
				host = host[:i]
			}
			ok := host == "localhost" || strings.HasPrefix(host, "localhost:") || strings.HasPrefix(host, "127.") || strings.HasPrefix(host, "[")
			if !ok || strings.Contains(host, ".localhost") {
				t.Fatalf("checkBaseURL accepted http:// to %q", host)
			}
		}
	})
}
