package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// Generic core behaviour: expiry, Retry-After, redaction, fmt safety, the
// JSON writer, form encoding, Token.Apply, the wire format, error matching
// and base_url checks. Provider quirks live in each provider's _test.go.

const coreT0 = int64(1700000000)

func coreJV(t *testing.T, s string) *fastjson.Value {
	t.Helper()
	v, err := fastjson.Parse(s)
	require.NoError(t, err, s)
	return v
}

func TestRelativeExpiry(t *testing.T) {
	ok := map[string]int64{
		`"300"`: 300, `300`: 300, `" 42 "`: 42, `1`: 1,
		fmt.Sprint(maxLifetime): maxLifetime, fmt.Sprintf(`"%d"`, maxLifetime): maxLifetime,
	}
	for in, want := range ok {
		got, err := relativeExpiry("expires_in", coreJV(t, in), coreT0, 200)
		require.Nil(t, err, in)
		assert.Equal(t, coreT0+want, got, in)
	}
	bad := []string{`0`, `"0"`, `-5`, `"-5"`, `"abc"`, `"1e3"`, `1e3`, `300.0`, `"300.5"`, `""`, `" "`, `true`, `null`, `{}`, `[]`,
		fmt.Sprint(maxLifetime + 1), `"99999999999"`, `"99999999999999999999999"`, `"0x10"`, `"+"`}
	for _, in := range bad {
		_, err := relativeExpiry("expires_in", coreJV(t, in), coreT0, 200)
		require.NotNil(t, err, in)
		assert.Equal(t, CodeMalformedResponse, err.Code, in)
		assert.Equal(t, 200, err.Status)
		assert.Contains(t, err.Message, "expires_in", in)
	}
}

func TestAbsoluteExpiry(t *testing.T) {
	for _, in := range []int64{coreT0 + 1, coreT0 + 7200, coreT0 + maxLifetime} {
		got, err := absoluteExpiry("exp", coreJV(t, fmt.Sprint(in)), coreT0, 200)
		require.Nil(t, err)
		assert.Equal(t, in, got)
		got, err = absoluteExpiry("exp", coreJV(t, fmt.Sprintf(`"%d"`, in)), coreT0, 200)
		require.Nil(t, err, "a numeric string as in CRM.COM's JWT claims")
		assert.Equal(t, in, got)
	}
	for _, in := range []string{fmt.Sprint(coreT0), fmt.Sprint(coreT0 - 1), `0`, fmt.Sprint(coreT0 + maxLifetime + 1), `"soon"`, `1.5e9`, `null`} {
		_, err := absoluteExpiry("exp", coreJV(t, in), coreT0, 200)
		require.NotNil(t, err, in)
		assert.Equal(t, CodeMalformedResponse, err.Code)
	}
}

func TestRefreshAt(t *testing.T) {
	assert.Equal(t, coreT0+240, refreshAt(coreT0+300, coreT0, 60), "leeway before expiry")
	assert.Equal(t, coreT0+15, refreshAt(coreT0+30, coreT0, 60), "never before half the life")
	assert.Equal(t, coreT0+60, refreshAt(coreT0+120, coreT0, 60), "exactly half")
	assert.Equal(t, coreT0+30-60, refreshAt(coreT0+30, 0, 60), "issue time unknown: plain leeway")
	assert.Equal(t, coreT0-60, refreshAt(coreT0, coreT0, 60), "issued at expiry: no clamp")
	assert.Equal(t, int64(0), refreshAt(0, coreT0, 60), "unknown expiry")
	assert.Equal(t, coreT0+299, refreshAt(coreT0+300, coreT0, 1))
}

func TestStateAt(t *testing.T) {
	assert.Equal(t, Missing, (&Token{}).StateAt(1000*(coreT0)))
	assert.Equal(t, Missing, (&Token{RefreshToken: "r", ExpiresAt: coreT0 + 100}).StateAt(1000*(coreT0)))
	assert.Equal(t, Stale, (&Token{AccessToken: "a"}).StateAt(1000*(coreT0)), "unknown expiry is stale")
	tk := &Token{AccessToken: "a", ExpiresAt: coreT0 + 300, RefreshAt: coreT0 + 240}
	assert.Equal(t, Fresh, tk.StateAt(1000*(coreT0)))
	assert.Equal(t, Fresh, tk.StateAt(1000*(coreT0+239)))
	assert.Equal(t, Stale, tk.StateAt(1000*(coreT0+240)))
	assert.Equal(t, Stale, tk.StateAt(1000*(coreT0+299)))
	assert.Equal(t, Expired, tk.StateAt(1000*(coreT0+300)))
	assert.Equal(t, Fresh, (&Token{AccessToken: "a", ExpiresAt: coreT0 + 1}).StateAt(1000*(coreT0)), "no refresh_at: fresh until expiry")
	for s, name := range map[State]string{Missing: "missing", Fresh: "fresh", Stale: "stale", Expired: "expired"} {
		assert.Equal(t, name, s.String())
	}
}

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(2023, 11, 14, 22, 15, 20, 0, time.UTC).Unix()
	for _, s := range []string{"Tue, 14 Nov 2023 22:15:20 GMT", " Tue, 14 Nov 2023 22:15:20 GMT ", "Tue, 14 Nov 2023 23:15:20 +0100",
		"Tuesday, 14-Nov-23 22:15:20 GMT", "Tue Nov 14 22:15:20 2023"} {
		got, ok := parseHTTPDate(s)
		require.True(t, ok, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "yesterday", "2023-11-14T22:15:20Z", "1700000120"} {
		_, ok := parseHTTPDate(s)
		assert.False(t, ok, s)
	}
}

func TestRetryAfter(t *testing.T) {
	for in, want := range map[string]int64{
		"":                                0,
		"3":                               3,
		" 7 ":                             7,
		"0":                               0,
		"-5":                              0,
		"soon":                            0,
		"1.5":                             0,
		"86400":                           86400,
		"86401":                           86400,
		"31536000":                        86400,
		"99999999999999999999999":         86400, // past int64: still "a long time", clamped
		"-99999999999999999999999":        0,
		"Tue, 14 Nov 2023 22:15:20 GMT":   120,
		"Tue, 14 Nov 2023 22:13:19 GMT":   0, // in the past
		"Fri, 14 Nov 2025 22:13:20 GMT":   86400,
		"Tue, 14 Nov 2023 22:15:20 +0000": 120,
	} {
		assert.Equal(t, want, retryAfter(in, coreT0), "%q", in)
	}
}

func TestHTTPErrorClassification(t *testing.T) {
	r := &Response{Header: map[string]string{"rEtRy-AfTeR": "9"}}
	for status, want := range map[int]struct {
		code      string
		retryable bool
	}{
		400: {CodeInvalidRequest, false}, 401: {CodeInvalidClient, false}, 403: {CodeUnauthorizedClient, false},
		404: {CodeInvalidRequest, false}, 408: {CodeNetwork, true}, 429: {CodeQuotaExceeded, true},
		500: {CodeServerError, true}, 502: {CodeServerError, true}, 599: {CodeServerError, true}, 418: {CodeInvalidRequest, false},
	} {
		e := httpError(status, r, coreT0, "x")
		assert.Equal(t, want.code, e.Code, status)
		assert.Equal(t, want.retryable, e.Retryable, status)
		assert.Equal(t, status, e.Status)
		if want.retryable {
			assert.Equal(t, int64(9), e.RetryAfter, "header looked up case-insensitively")
		} else {
			assert.Zero(t, e.RetryAfter, "a final error carries no retry hint")
		}
	}
	assert.Contains(t, httpError(404, r, coreT0, "").Message, "base_url")
}

func TestOAuthCodeSetIsClosed(t *testing.T) {
	for in, want := range map[string]string{
		"invalid_request": CodeInvalidRequest, "invalid_client": CodeInvalidClient, "invalid_grant": CodeInvalidGrant,
		"unauthorized_client": CodeUnauthorizedClient, "unsupported_grant_type": CodeUnsupportedGrantType,
		"invalid_token": CodeInvalidToken, "invalid_scope": CodeUnauthorizedClient, "access_denied": CodeUnauthorizedClient,
		"server_error": CodeServerError, "temporarily_unavailable": CodeServerError, "usage": CodeInvalidRequest,
		"config": CodeInvalidRequest, "": CodeInvalidRequest, "whatever": CodeInvalidRequest,
	} {
		assert.Equal(t, want, oauthCode(in), in)
	}
}

// --- redaction ----------------------------------------------------------------

func redactorWith(secrets ...string) *redactor {
	var r redactor
	r.add(secrets...)
	r.pin()
	return &r
}

func TestMask(t *testing.T) {
	r := redactorWith("s3cret-pass", "LIC-4711", "abc") // "abc" is masked only as a whole word (redact_test.go)
	assert.Equal(t, "licence [redacted] secret [redacted]!", r.mask("licence LIC-4711 secret s3cret-pass!"))
	assert.Equal(t, "abcd xabc stays", r.mask("abcd xabc stays"))
	assert.Equal(t, "token [redacted] end", r.mask("token TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA end"), "long opaque run")
	assert.Equal(t, "[redacted]", r.mask("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiIxNTE4MTA0ODY0In0.c2lnbmF0dXJl"), "a JWT")
	short := strings.Repeat("x", minOpaqueRun-1)
	assert.Equal(t, short, r.mask(short), "below the opaque-run threshold")
	assert.Equal(t, "[redacted]", r.mask(short+"y"))
	assert.Equal(t, "Invalid Client", r.mask("Invalid Client"))
	assert.Equal(t, "", r.mask(""))
}

func TestMaskFormEncodedSecrets(t *testing.T) {
	r := redactorWith("p@ss word/&=+")
	got := r.mask("GET /ACCESS_TOKEN/?client_secret=p%40ss+word%2F%26%3D%2B&x=1")
	assert.NotContains(t, got, "p%40ss")
	assert.Contains(t, got, "[redacted]")
	assert.Equal(t, "secret [redacted].", r.mask("secret p@ss word/&=+."))
}

func TestRedactorIsBounded(t *testing.T) {
	r := redactorWith("s3cret-pass", "LIC-4711")
	for i := 0; i < 1000; i++ {
		tok := fmt.Sprintf("tok-%04d", i)
		r.add(tok, tok) // and again: duplicates are not kept twice
	}
	assert.LessOrEqual(t, len(r.secrets), r.pinned+maxRememberedTokens)
	assert.Equal(t, "[redacted] [redacted]", r.mask("s3cret-pass LIC-4711"), "configured secrets are never dropped")
	assert.Equal(t, "[redacted]", r.mask("tok-0999"), "the latest token is known")
}

func TestExcerpt(t *testing.T) {
	r := redactorWith("s3cret-pass")
	html := "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\r\n<body><h1>502 Bad\tGateway</h1><p>s3cret-pass</p></body></html>"
	assert.Equal(t, "502 Bad Gateway 502 Bad Gateway [redacted]", r.excerpt([]byte(html)))
	assert.Equal(t, "a b c", r.excerpt([]byte("  a\n\n b\x00\x01c  ")), "controls and white space fold")
	assert.Equal(t, "x", r.excerpt([]byte("\ufeffx")), "BOM dropped")
	assert.Equal(t, "<b>not html</b>", r.excerpt([]byte("<b>not html</b>")), "only a page that starts like HTML is stripped")
	assert.Equal(t, "", r.excerpt(nil))

	long := r.excerpt([]byte(strings.Repeat("word ", 1000)))
	assert.True(t, strings.HasSuffix(long, "…"))
	assert.LessOrEqual(t, len(long), excerptLen+8)
	assert.GreaterOrEqual(t, len(long), excerptLen)
	wide := r.excerpt([]byte(strings.Repeat("é", 1000)))
	assert.LessOrEqual(t, len(wide), excerptLen+8)

	// Only the first 4 KiB is read: a megabyte body costs the same.
	assert.Equal(t, "head", r.excerpt([]byte("head"+strings.Repeat(" ", 5000)+"tail")))
}

// --- fmt never shows a secret ---------------------------------------------------

func TestFmtNeverShowsSecrets(t *testing.T) {
	secrets := []string{"pw-123456", "cs-123456", "lic-123456", "key-123456", "auth-123456", "pass-123456", "jwt-123456",
		"access-123456", "refresh-123456"}
	c := Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Password: secrets[0], ClientSecret: secrets[1], Licence: secrets[2],
		Key: secrets[3], AuthenticationCode: secrets[4], PassCode: secrets[5], JWT: secrets[6], Username: "user"}
	tk := Token{Provider: DQEIDMobile, AccessToken: secrets[7], RefreshToken: secrets[8], ExpiresAt: coreT0,
		Attach: Attach{In: "query", Name: "token", Value: secrets[7], Params: map[string]string{"licence": secrets[2]}}}
	e := &Error{Code: CodeInvalidClient, Status: 400, Message: "HTTP 400: Invalid Client"}
	sess, err := newTestSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", ClientSecret: secrets[1], Licence: secrets[2]})
	require.NoError(t, err)
	require.NoError(t, sess.Restore(tk))

	values := []any{c, &c, tk, &tk, e, *e, sess}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				assert.NotContains(t, out, s, "%s of %T", verb, v)
			}
		}
	}
	assert.Contains(t, fmt.Sprint(c), "client_secret=[redacted]")
	assert.Contains(t, fmt.Sprint(c), "username=user", "non-secret fields stay readable")
	assert.Contains(t, fmt.Sprint(tk), "[redacted 13 bytes]")
	assert.Contains(t, fmt.Sprint(sess), "dqe-idmobile")
	var nilSess *Session
	assert.Equal(t, "core.Session(nil)", nilSess.String())
	assert.Equal(t, "<nil>", fmt.Sprint(nilSess), "Format has a value receiver, so that a copied Session is as safe (render.go)")
}

// --- JSON writer -------------------------------------------------------------------

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"":                 `""`,
		"plain":            `"plain"`,
		`q"b\`:             `"q\"b\\"`,
		"\n\r\t":           `"\n\r\t"`,
		"\x00\x01\x1f\x7f": `"\u0000\u0001\u001f\u007f"`,
		"\b\f":             `"\u0008\u000c"`,
		"é€😀":              `"é€😀"`,
		"a\u2028b\u2029c":  `"a\u2028b\u2029c"`,
		"bad\xffbyte":      `"bad\ufffdbyte"`,
		"\xed\xa0\x80":     `"\ufffd\ufffd\ufffd"`, // a UTF-16 surrogate in UTF-8 is invalid
		"cut\xe2\x82":      `"cut\ufffd\ufffd"`,
		"</script>":        `"</script>"`,
	} {
		got := appendJSONString(nil, in)
		assert.Equal(t, want, string(got), "%q", in)
		var back string
		require.NoError(t, json.Unmarshal(got, &back), "%q", in)
		assert.Equal(t, validUTF8PerByte(in), back, "%q", in)
	}
	assert.Equal(t, `x"y"`, string(appendJSONString([]byte("x"), "y")), "appends")
}

// validUTF8PerByte is the decoded form appendJSONString promises: every byte
// that is not part of valid UTF-8 becomes U+FFFD.
func validUTF8PerByte(s string) string {
	var b strings.Builder
	for _, r := range s { // range yields U+FFFD once per invalid byte
		b.WriteRune(r)
	}
	return b.String()
}

func TestObjWriter(t *testing.T) {
	o := newObj(nil)
	o.str("s", "v")
	o.optStr("skipped", "")
	o.optStr("o", "x")
	o.strOrNull("n", "")
	o.int("i", -3)
	o.unixOrNull("u", 0)
	o.unixOrNull("t", coreT0)
	o.bool("b", true)
	o.raw("r", []byte(`[1]`))
	o.strMap("m", map[string]string{"z": "1", "a": "2"})
	assert.Equal(t, `{"s":"v","o":"x","n":null,"i":-3,"u":null,"t":1700000000,"b":true,"r":[1],"m":{"a":"2","z":"1"}}`, string(o.done()))
	assert.True(t, json.Valid(o.done()))
}

// --- form encoding --------------------------------------------------------------------

func TestFormRoundTrip(t *testing.T) {
	ps := []param{{"licence", "LIC-4711"}, {"client_secret", "p@ss word/&=+%é"}, {"", ""}, {"k", ""}, {"a b", "\x00\xff"}, {"grant_type", "client_idmobile"}}
	enc := encodeForm(ps)
	assert.Equal(t, ps, decodeForm(enc))
	q, err := url.ParseQuery(enc)
	require.NoError(t, err, "net/url reads what we write")
	assert.Equal(t, "p@ss word/&=+%é", q.Get("client_secret"))
	assert.Equal(t, "\x00\xff", q.Get("a b"))
	assert.Equal(t, "licence=LIC-4711&client_secret=p%40ss+word%2F%26%3D%2B%25%C3%A9", encodeForm(ps[:2]), "order kept, upper-case escapes, space as +")
	assert.Equal(t, "", encodeForm(nil))
	assert.Nil(t, decodeForm(""))
	assert.Equal(t, []param{{"a", "%zz"}, {"b", "%"}}, decodeForm("a=%zz&b=%"), "broken escapes kept literally")
}

func TestWithQuery(t *testing.T) {
	ps := []param{{"token", "t k"}, {"licence", "L"}}
	assert.Equal(t, "https://h/p?token=t+k&licence=L", withQuery("https://h/p", ps))
	assert.Equal(t, "https://h/p?a=1&token=t+k&licence=L", withQuery("https://h/p?a=1", ps))
	assert.Equal(t, "https://h/p?token=t+k&licence=L", withQuery("https://h/p?", ps))
	assert.Equal(t, "https://h/p?a=1&token=t+k&licence=L#frag", withQuery("https://h/p?a=1#frag", ps))
	assert.Equal(t, "https://h/p", withQuery("https://h/p", nil))
}

// --- Token.Apply -----------------------------------------------------------------------

func TestApply(t *testing.T) {
	tk := func(in string) Token {
		return Token{AccessToken: "tok", Attach: Attach{In: in, Name: "token", Value: "tok v", Params: map[string]string{"licence": "L", "b": "2"}}}
	}
	t.Run("header", func(t *testing.T) {
		x := Token{AccessToken: "abc", Attach: Attach{In: "header", Name: "Authorization", Value: "Bearer abc"}}
		r := Request{Method: "GET", URL: "https://h/x"}
		require.NoError(t, x.Apply(&r))
		assert.Equal(t, "Bearer abc", r.Header["Authorization"])
		assert.Equal(t, "https://h/x", r.URL)
	})
	t.Run("query on GET", func(t *testing.T) {
		x := tk("query")
		r := Request{Method: "GET", URL: "https://h/x?n=1"}
		require.NoError(t, x.Apply(&r))
		assert.Equal(t, "https://h/x?n=1&token=tok+v&b=2&licence=L", r.URL, "token first, then params sorted")
		assert.Empty(t, r.Body)
	})
	t.Run("query without method is GET", func(t *testing.T) {
		x := tk("query")
		r := Request{URL: "https://h/x"}
		require.NoError(t, x.Apply(&r))
		assert.Contains(t, r.URL, "token=tok+v")
	})
	t.Run("query on POST form", func(t *testing.T) {
		x := tk("query")
		r := Request{Method: "POST", URL: "https://h/x", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, Body: "n=1"}
		require.NoError(t, x.Apply(&r))
		assert.Equal(t, "https://h/x", r.URL)
		assert.Equal(t, "n=1&token=tok+v&b=2&licence=L", r.Body)
	})
	t.Run("query on POST JSON", func(t *testing.T) {
		x := tk("query")
		r := Request{Method: "POST", URL: "https://h/x", Header: map[string]string{"Content-Type": "Application/JSON"}, Body: `{"n":1,"token":"old"}`}
		require.NoError(t, x.Apply(&r))
		assert.Equal(t, "https://h/x", r.URL)
		assert.JSONEq(t, `{"n":1,"token":"tok v","b":"2","licence":"L"}`, r.Body)
	})
	t.Run("query on POST of unknown type stays in the URL", func(t *testing.T) {
		x := tk("query")
		r := Request{Method: "POST", URL: "https://h/x", Header: map[string]string{"Content-Type": "text/xml"}, Body: "<a/>"}
		require.NoError(t, x.Apply(&r))
		assert.Contains(t, r.URL, "token=tok+v")
		assert.Equal(t, "<a/>", r.Body)
	})
	t.Run("json", func(t *testing.T) {
		x := tk("json")
		r := Request{Method: "POST", URL: "https://h/x"}
		require.NoError(t, x.Apply(&r))
		assert.JSONEq(t, `{"token":"tok v","b":"2","licence":"L"}`, r.Body)
		assert.Equal(t, "application/json", r.Header["Content-Type"])
		bad := Request{Method: "POST", URL: "https://h/x", Body: "[1]"}
		err := x.Apply(&bad)
		require.Error(t, err)
		assert.ErrorIs(t, err, &Error{Code: CodeUsage})
	})
	t.Run("form", func(t *testing.T) {
		x := tk("form")
		r := Request{Method: "POST", URL: "https://h/x"}
		require.NoError(t, x.Apply(&r))
		assert.Equal(t, "token=tok+v&b=2&licence=L", r.Body)
		assert.Equal(t, "application/x-www-form-urlencoded", r.Header["Content-Type"])
	})
	t.Run("unknown kind", func(t *testing.T) {
		x := tk("cookie")
		r := Request{Method: "GET", URL: "https://h/x"}
		err := x.Apply(&r)
		require.Error(t, err)
		assert.ErrorIs(t, err, &Error{Code: CodeUsage})
		assert.NotContains(t, err.Error(), "tok v")
	})
	t.Run("no token", func(t *testing.T) {
		r := Request{Method: "GET", URL: "https://h/x"}
		assert.ErrorIs(t, (&Token{}).Apply(&r), &Error{Code: CodeUsage})
	})
}

// --- wire format ----------------------------------------------------------------------------

func wireToken() Token {
	return Token{Provider: DQEIDMobile, AccessToken: "TK9488\u2028\"x", TokenType: "Bearer", RefreshToken: "*TK9b", ExpiresAt: coreT0 + 300,
		RefreshAt: coreT0 + 240, RefreshExpiresAt: coreT0 + 600, IssuedAt: coreT0,
		Attach: Attach{In: "query", Name: "token", Value: "TK9488\u2028\"x", Params: map[string]string{"licence": "L"}},
		Extra:  map[string]string{"userName": "-->r_1001", "é": "ü"}}
}

func TestTokenWireRoundTrip(t *testing.T) {
	for _, tk := range []Token{wireToken(), {Provider: CRMCOM, AccessToken: "a", Attach: Attach{In: "header", Name: "X", Value: "a"}, Extra: map[string]string{}}, {Extra: map[string]string{}}} {
		b := tk.MarshalWire()
		require.True(t, json.Valid(b), string(b))
		got, err := ParseToken(b)
		require.NoError(t, err)
		assert.Equal(t, tk, got)
		assert.Equal(t, string(b), string(got.MarshalWire()), "stable encoding")
	}
	// Unknown times are null on the wire and 0 in Go.
	b := (&Token{Provider: DQEIDMobile, AccessToken: "a"}).MarshalWire()
	assert.Contains(t, string(b), `"expires_at":null`)
	assert.Contains(t, string(b), `"extra":{}`)

	for _, bad := range []string{``, `[]`, `{"access_token":1}`, `{"expires_at":"1"}`, `{"expires_at":-1}`, `{"expires_at":1.5}`, `{"provider":true}`} {
		_, err := ParseToken([]byte(bad))
		assert.ErrorIs(t, err, &Error{Code: CodeUsage}, bad)
	}
	got, err := ParseToken([]byte("\ufeff{\"access_token\":\"a\",\"expires_at\":null,\"attach\":\"junk\"}"))
	require.NoError(t, err, "BOM, null and a junk attach are tolerated")
	assert.Equal(t, "a", got.AccessToken)
}

func TestResponseWireRoundTrip(t *testing.T) {
	r := Response{Status: 429, Header: map[string]string{"Retry-After": "3", "Content-Type": "text/plain"}, Body: []byte("slow \x00 down \u2028")}
	got, err := ParseResponse(r.MarshalWire())
	require.NoError(t, err)
	assert.Equal(t, r, got)

	ne := Response{Err: &Error{Code: CodeNetwork, Message: "connection refused"}}
	got, err = ParseResponse(ne.MarshalWire())
	require.NoError(t, err)
	require.NotNil(t, got.Err)
	assert.Equal(t, CodeNetwork, got.Err.Code)
	assert.Equal(t, "connection refused", got.Err.Message)

	got, err = ParseResponse([]byte(`{"error":{"message":"reset"}}`))
	require.NoError(t, err)
	assert.Equal(t, CodeNetwork, got.Err.Code, "a transport error without code is a network error")

	got, err = ParseResponse([]byte(`{"status":204}`))
	require.NoError(t, err)
	assert.Equal(t, 204, got.Status)
	assert.Empty(t, got.Body)

	for _, bad := range []string{``, `[]`, `{}`, `{"status":"200"}`, `{"status":200,"body":5}`, `{"status":2.5}`} {
		_, err := ParseResponse([]byte(bad))
		assert.ErrorIs(t, err, &Error{Code: CodeUsage}, bad)
	}
}

func TestRequestWireRoundTrip(t *testing.T) {
	r := Request{Method: "POST", URL: "https://h/x?a=1", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: "a=%40"}
	got, err := ParseRequest(r.MarshalWire())
	require.NoError(t, err)
	assert.Equal(t, r, got)
	for _, bad := range []string{`{}`, `{"url":""}`, `{"url":"u","method":1}`, `{"url":"u","body":{}}`, `x`} {
		_, err := ParseRequest([]byte(bad))
		assert.ErrorIs(t, err, &Error{Code: CodeUsage}, bad)
	}
}

func TestStepWireRoundTrip(t *testing.T) {
	steps := []Step{
		{Kind: StepToken, Token: wireToken(), Changed: true},
		{Kind: StepToken, Token: wireToken()},
		{Kind: StepRequest, Request: Request{Method: "GET", URL: "https://h/?a=b", Header: map[string]string{"Accept": "application/json"}}},
		{Kind: StepError, Err: &Error{Code: CodeConfig, Field: "licence", Message: "licence: missing"}},
		{Kind: StepError, Err: &Error{Code: CodeQuotaExceeded, Status: 429, Message: "HTTP 429", Retryable: true, RetryAfter: 3}},
		{Kind: StepPending},
	}
	for _, s := range steps {
		b := s.MarshalWire()
		require.True(t, json.Valid(b), string(b))
		got, err := ParseStep(b)
		require.NoError(t, err, string(b))
		assert.Equal(t, s, got, string(b))
		assert.Equal(t, string(b), string(s.AppendWire(nil)))
		assert.Equal(t, "pre"+string(b), string(s.AppendWire([]byte("pre"))))
	}
	assert.Equal(t, `{"pending":true}`, string((&Step{Kind: StepPending}).MarshalWire()))
	for k, name := range map[StepKind]string{StepToken: "token", StepRequest: "request", StepError: "error", StepPending: "pending", 0: "invalid"} {
		assert.Equal(t, name, k.String())
	}
	for _, bad := range []string{``, `{}`, `{"pending":false}`, `{"token":5}`, `{"request":{}}`} {
		_, err := ParseStep([]byte(bad))
		assert.ErrorIs(t, err, &Error{Code: CodeUsage}, bad)
	}
	e, err := ParseError([]byte(`{"error":{"code":"config","field":"licence","status":0}}`))
	require.NoError(t, err)
	assert.Equal(t, &Error{Code: CodeConfig, Field: "licence"}, e)
	_, err = ParseError([]byte(`{"ok":true}`))
	assert.Error(t, err)
}

func TestConfigWireRoundTrip(t *testing.T) {
	in := `{"provider":"dqe-idmobile","base_url":"https://dqe.example/base/","licence":"LIC \"4711\"","client_secret":"p@ss\u2028","method":"get","leeway_seconds":30}`
	c, err := ParseConfig([]byte(in))
	require.NoError(t, err)
	assert.Equal(t, Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example/base", Licence: `LIC "4711"`, ClientSecret: "p@ss\u2028", Method: "GET", LeewaySeconds: 30}, c)
	w := c.MarshalWire()
	require.True(t, json.Valid(w))
	c2, err := ParseConfig(w)
	require.NoError(t, err)
	assert.Equal(t, c, c2)
	assert.Equal(t, string(w), string(c2.MarshalWire()))

	d, err := ParseConfig([]byte("\ufeff" + `{"provider":"dqe-idmobile","base_url":"https://x","licence":"l","client_secret":"s","method":null}`))
	require.NoError(t, err, "BOM skipped, null is unset")
	assert.Equal(t, int64(DefaultLeeway), d.LeewaySeconds)
	assert.Equal(t, "POST", d.Method)
}

func TestParseConfigErrors(t *testing.T) {
	base := `"provider":"dqe-idmobile","base_url":"https://x","licence":"l","client_secret":"s"`
	for in, field := range map[string]string{
		`nope`:                                  "config",
		`[]`:                                    "config",
		`{}`:                                    "provider",
		`{"provider":5}`:                        "provider",
		`{"provider":"dqe"}`:                    "provider",
		`{` + base + `,"leeway_seconds":-1}`:    "leeway_seconds",
		`{` + base + `,"leeway_seconds":1.5}`:   "leeway_seconds",
		`{` + base + `,"leeway_seconds":86401}`: "leeway_seconds",
		`{` + base + `,"leeway_seconds":"60"}`:  "leeway_seconds",
		`{` + base + `,"provider":"dqe-idmobile"}`: "provider",
		`{` + base + `,"license":"l"}`:             "license",
		`{` + base + `,"password":"p"}`:            "password",
		`{` + base + `,"unit":"u"}`:                "unit",
	} {
		_, err := ParseConfig([]byte(in))
		var ce *Error
		require.ErrorAs(t, err, &ce, in)
		assert.Equal(t, CodeConfig, ce.Code, in)
		assert.Equal(t, field, ce.Field, in)
		assert.True(t, strings.HasPrefix(ce.Message, field+": "), ce.Message)
	}
	_, err := ParseConfig([]byte(`{"":"0"}`))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "config", ce.Field, "an empty key is named, not left blank")
	_, err = ParseConfig([]byte(`{"` + strings.Repeat("k", 500) + `":"v"}`))
	require.ErrorAs(t, err, &ce)
	assert.Less(t, len(ce.Message), 100, "a huge unknown key is clipped")
	_, err = ParseConfig([]byte(`{"provider":"` + strings.Repeat("x", 500) + `"}`))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200, "an unknown provider id is clipped")
}

func TestErrorsIsMatchesOnCode(t *testing.T) {
	e := &Error{Code: CodeInvalidGrant, Status: 400, Message: "x"}
	var err error = e
	assert.True(t, errors.Is(err, &Error{Code: CodeInvalidGrant}))
	assert.False(t, errors.Is(err, &Error{Code: CodeInvalidClient}))
	assert.True(t, errors.Is(fmt.Errorf("wrapped: %w", err), &Error{Code: CodeInvalidGrant}))
	assert.False(t, errors.Is(err, errors.New("invalid_grant")))
	assert.Equal(t, "tokensmith: invalid_grant (HTTP 400): x", e.Error())
	assert.Equal(t, "tokensmith: usage", (&Error{Code: CodeUsage}).Error())
	assert.JSONEq(t, `{"error":{"code":"invalid_grant","status":400,"message":"x","retryable":false,"retry_after":0}}`, string(e.MarshalWire()))
}

// --- session mechanics not tied to one vendor ---------------------------------------------------

func TestSessionRestore(t *testing.T) {
	s, err := newTestSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: "L-1", ClientSecret: "s"})
	require.NoError(t, err)
	require.NoError(t, s.Restore(Token{AccessToken: "a", ExpiresAt: coreT0 + 3600}))
	tk, ok := s.Token()
	require.True(t, ok)
	assert.Equal(t, DQEIDMobile, tk.Provider, "provider filled in")
	assert.Equal(t, coreT0+3540, tk.RefreshAt, "refresh_at computed")
	assert.Equal(t, "query", tk.Attach.In, "attach recomputed from the config")
	st := nextS(s, coreT0)
	assert.Equal(t, StepToken, st.Kind)
	assert.False(t, st.Changed)

	err = s.Restore(Token{Provider: ByDesign, AccessToken: "b"})
	assert.ErrorIs(t, err, &Error{Code: CodeUsage})
	tk, _ = s.Token()
	assert.Equal(t, "a", tk.AccessToken, "a refused restore changes nothing")

	s.Invalidate("a")
	_, ok = s.Token()
	assert.False(t, ok)
	assert.Equal(t, StepRequest, nextS(s, coreT0).Kind)
	s.Cancel()
	assert.Equal(t, StepError, feedS(s, coreT0, Response{Status: 200}).Kind)
}

func TestSessionNetworkErrorIsMasked(t *testing.T) {
	s, err := newTestSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: "LIC-4711", ClientSecret: "s3cret-pass"})
	require.NoError(t, err)
	require.Equal(t, StepRequest, nextS(s, coreT0).Kind)
	st := feedS(s, coreT0, Response{Status: 200, Err: &Error{Code: "weird", Status: 7, Message: "GET https://dqe.example/ACCESS_TOKEN/?client_secret=s3cret-pass: " + strings.Repeat("x ", 300)}})
	require.Equal(t, StepError, st.Kind)
	assert.Equal(t, CodeNetwork, st.Err.Code)
	assert.Equal(t, 0, st.Err.Status)
	assert.True(t, st.Err.Retryable)
	assert.NotContains(t, st.Err.Message, "s3cret-pass")
	assert.LessOrEqual(t, len(st.Err.Message), 220)
}

func TestMergeKeepsWhatAResponseOmits(t *testing.T) {
	held := Token{AccessToken: "a", TokenType: "Bearer", RefreshToken: "r", ExpiresAt: 10, RefreshExpiresAt: 20, IssuedAt: 1, Extra: map[string]string{"k": "v"}}
	got := merge(held, Token{ExpiresAt: 30}, true)
	assert.Equal(t, "a", got.AccessToken)
	assert.Equal(t, "r", got.RefreshToken)
	assert.Equal(t, int64(30), got.ExpiresAt)
	assert.Equal(t, int64(1), got.IssuedAt)
	got = merge(held, Token{AccessToken: "b", IssuedAt: 5, Extra: map[string]string{"n": "w"}}, true)
	assert.Equal(t, "b", got.AccessToken)
	assert.Equal(t, int64(5), got.IssuedAt)
	assert.Equal(t, map[string]string{"k": "v", "n": "w"}, got.Extra, "a refresh keeps profile fields it omits")
	assert.Equal(t, map[string]string{"k": "v"}, held.Extra, "the held map is not written to")
	got = merge(held, Token{AccessToken: "c", Extra: map[string]string{"n": "x"}}, false)
	assert.Equal(t, map[string]string{"n": "x"}, got.Extra, "a new grant's fields replace the old token's")
	assert.Equal(t, "r", got.RefreshToken, "a grant that sends no refresh token keeps the held one")
}

// TestParseHTTPDateAgreesWithTime checks the hand-written HTTP-date parser
// against the standard library over a spread of instants and all three forms.
func TestParseHTTPDateAgreesWithTime(t *testing.T) {
	for ts := int64(-2208988800); ts < 4102444800; ts += 7777777 {
		tm := time.Unix(ts, 0).UTC()
		for _, layout := range []string{time.RFC1123, time.ANSIC, time.RFC1123Z} {
			s := tm.Format(layout)
			got, ok := parseHTTPDate(s)
			require.Truef(t, ok, "%q", s)
			require.Equalf(t, ts, got, "%q", s)
		}
		if y := tm.Year(); y >= 1970 && y < 2070 {
			s := tm.Format("Monday, 02-Jan-06 15:04:05 GMT")
			got, ok := parseHTTPDate(s)
			require.Truef(t, ok, "%q", s)
			require.Equalf(t, ts, got, "%q", s)
		}
	}
	got, ok := parseHTTPDate("Sun, 17 Apr 2022 13:37:44 +0200")
	require.True(t, ok)
	require.Equal(t, int64(1650202664-7200), got) // 13:37:44 GMT is 1650202664
	for _, bad := range []string{"", "Sun, 31 Feb 2022 13:37:44 GMT", "Sun, 17 Apr 2022 24:00:00 GMT", "Sun, 17 Foo 2022 13:37:44 GMT",
		"Sun, 17 Apr 2022 13:37:44 PST", "17 Apr 2022", "Sun, 17 Apr 22 13:37:44 GMT", "Sun, 17 Apr 2022 13:37 GMT"} {
		_, ok := parseHTTPDate(bad)
		require.Falsef(t, ok, "%q", bad)
	}
}
