package core

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adversarial checks of the promise "secrets never leave by accident": a
// vendor (or a broken proxy) that echoes what it was sent, in whatever
// encoding, at whatever offset, must not get a secret into an error text.

// leakPW needs escaping in every encoding: URL, form, JSON, HTML and XML.
const leakPW = `p@ss w"rd/<&>+é\x'`

// echoes is secret as vendors and frameworks echo it.
func echoes(secret string) map[string]string {
	jsonMin := strings.NewReplacer(`"`, `\"`, `\`, `\\`).Replace(secret)
	goJSON, _ := json.Marshal(secret) // Go escapes <, > and & as \u003c…
	var dotnet strings.Builder        // System.Text.Json's default: every non-ASCII and HTML-sensitive char as \uXXXX
	for _, r := range secret {
		if r > 0x7e || strings.ContainsRune(`"'<>&+\`, r) {
			fmt.Fprintf(&dotnet, `\u%04X`, r)
		} else {
			dotnet.WriteRune(r)
		}
	}
	html := strings.NewReplacer(`&`, `&amp;`, `<`, `&lt;`, `>`, `&gt;`, `"`, `&quot;`, `'`, `&#39;`).Replace(secret)
	var numeric strings.Builder
	for _, r := range secret {
		fmt.Fprintf(&numeric, "&#x%x;", r)
	}
	form := url.QueryEscape(secret)
	return map[string]string{
		"raw":            secret,
		"form":           form,
		"form lower hex": strings.ToLower(form),
		"%20 for space":  strings.ReplaceAll(form, "+", "%20"),
		"path escape":    url.PathEscape(secret),
		"form twice":     url.QueryEscape(form),
		"json minimal":   jsonMin,
		"json \\/":       strings.ReplaceAll(jsonMin, "/", `\/`),
		"json go":        strings.Trim(string(goJSON), `"`),
		"json .NET":      dotnet.String(),
		"html":           html,
		"xml &apos;":     strings.ReplaceAll(html, "&#39;", "&apos;"),
		"numeric refs":   numeric.String(),
		"form in json":   strings.ReplaceAll(form, "%", `\u0025`),
	}
}

func assertNoEcho(t *testing.T, out, secret, what string) {
	t.Helper()
	for enc, v := range echoes(secret) {
		assert.NotContains(t, out, v, "%s: %s echo", what, enc)
	}
}

func TestLeakMaskReadsEveryEcho(t *testing.T) {
	r := redactorWith(leakPW)
	for enc, v := range echoes(leakPW) {
		got := r.excerpt([]byte("Invalid password " + v + " for user bob"))
		assert.Equal(t, "Invalid password [redacted] for user bob", got, enc)
		assert.Equal(t, "x=[redacted]&y=1", r.mask("x="+v+"&y=1"), enc)
	}
	// Text that merely resembles a secret stays: the mask is not greedy.
	assert.Equal(t, "p@ss w&quot;rd and %70", r.mask("p@ss w&quot;rd and %70"))
	// A '%' in the secret, sent as %25 (and literally).
	r2 := redactorWith("100%pure")
	assert.Equal(t, "a [redacted] b [redacted]", r2.mask("a 100%25pure b 100%pure"))
	// Characters outside the BMP: a JSON surrogate pair.
	r3 := redactorWith("k€y😀pw")
	assert.Equal(t, "[redacted]", r3.mask(`k\u20acy\ud83d\ude00pw`))
}

func TestLeakMaskIsBoundedOnHostileText(t *testing.T) {
	// A body of near-matches cannot make the mask quadratic in the secret.
	secret := strings.Repeat("a%", 200)
	r := redactorWith(secret)
	body := strings.Repeat("a%25", 199) + "b"
	got := r.excerpt([]byte(body))
	assert.True(t, strings.HasPrefix(got, "a%25a%25"), got)
	assert.NotContains(t, got, "[redacted]", "a near-match is not a match")

	// A vendor's 64 KiB token, then an error body that almost repeats it at
	// every offset: matching gives up after a fixed amount of work, and what
	// it could not check is not shown.
	tok := strings.Repeat("a", 64<<10)
	r2 := redactorWith("s3cret-pass")
	r2.add(tok)
	near := strings.Repeat("a", len(tok)-1) + "b"
	body = "error " + near + near
	assert.Equal(t, "error [redacted]…", r2.mask(body))
	assert.Equal(t, "error [redacted]", r2.excerpt([]byte(body)))
	steps := maskSteps
	assert.Equal(t, -1, matchSecret(body, 6, tok, &steps))
	assert.Equal(t, maskSteps-len(tok), steps, "a near-match costs its length")
}

func TestLeakExcerptCutNeverShowsPartOfASecret(t *testing.T) {
	const secret = "s3cret-pass-phrase" // shorter than the opaque-run rule
	r := redactorWith(secret)
	for name, pad := range map[string]string{
		"white space": strings.Repeat(" ", excerptRead-len(secret)+3),
		"html tags":   "<html>" + strings.Repeat("<br>", (excerptRead-6)/4-1) + "xx",
		"form echo":   strings.Repeat("\n", excerptRead-40) + "grant_type=x&client_secret=",
	} {
		got := r.excerpt([]byte(pad + secret + " trailing"))
		assert.NotContains(t, got, "s3cret", name)
		assert.NotContains(t, got, "phrase", name)
		// mask reads a vendor's error code or id, as long as the vendor likes.
		got = r.mask(pad + secret + " trailing")
		assert.NotContains(t, got, "s3cret", name)
		assert.NotContains(t, got, "phrase", name)
		assert.LessOrEqual(t, len(got), excerptRead+len("[redacted]…"), name)
	}
	// A token the session does not know, cut by the 4 KiB window: its head
	// is shorter than the opaque-run rule but is still part of a token.
	tok := "TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA"
	got := r.excerpt([]byte(strings.Repeat(" ", excerptRead-10) + tok))
	assert.NotContains(t, got, tok[:10])
}

func TestLeakNetworkErrorIsMaskedBeforeItIsClipped(t *testing.T) {
	const secret = "s3cret-pass-phrase"
	// net/http quotes what a broken server sent back: here the request line,
	// placed across the old 200-byte clip, then across the 4 KiB read.
	prefix := "net/http: HTTP/1.x transport connection broken: malformed MIME header line: "
	line := `{"client_secret":"` + secret
	for _, msg := range []string{
		prefix + strings.Repeat("-", 200-len(prefix)-len(line)+4) + line,
		prefix + strings.Repeat(" ", excerptRead-len(prefix)-len(line)+4) + line,
	} {
		s, err := newTestSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: "LIC-4711", ClientSecret: secret, Method: "GET"})
		require.NoError(t, err)
		require.Equal(t, StepRequest, nextS(s, coreT0).Kind)
		st := feedS(s, coreT0, Response{Err: &Error{Code: CodeNetwork, Message: msg, Field: secret}})
		require.Equal(t, StepError, st.Kind)
		assert.Equal(t, CodeNetwork, st.Err.Code)
		assert.Contains(t, st.Err.Message, "malformed MIME header line")
		assert.NotContains(t, st.Err.Error(), "s3cret")
		assert.NotContains(t, string(st.Err.MarshalWire()), "s3cret", "a field from the host is dropped too")
	}
}

// TestLeakProvidersNeverEchoASecret sends every provider answers that echo
// its credentials in every encoding, in every error shape it reads.
func TestLeakProvidersNeverEchoASecret(t *testing.T) {
	configs := map[string]Config{
		MoversConnect: {Provider: MoversConnect, CompanyID: "ACME", Username: "bob", Password: leakPW + "m", ClientSecret: "cs-" + leakPW},
		DQEIDMobile:   {Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: "lic-" + leakPW, ClientSecret: "cs-" + leakPW, Method: "GET"},
		ByDesign:      {Provider: ByDesign, BaseURL: "https://webapi.bydesign.com/Acme", UserType: "rep", Username: "bob", Password: leakPW + "b", ClientID: "cid"},
		CRMCOM:        {Provider: CRMCOM, BaseURL: "https://crm.example/crmapi/rest/v2", Key: "key-" + leakPW, Identifier: "bob", PassCode: "pc-" + leakPW},
	}
	for id, cfg := range configs {
		secrets := cfg.secrets()
		if id == MoversConnect {
			secrets = secrets[:1] // its client_secret is a public default; still masked, but not the point
		}
		for _, secret := range secrets {
			for enc, v := range echoes(secret) {
				j := strings.Trim(strconv.Quote(v), `"`) // v inside a JSON string
				bodies := map[string]string{
					"text":          "Invalid Request: " + v,
					"html":          "<!DOCTYPE html><html><head><title>Error</title></head><body><p>" + v + "</p></body></html>",
					"oauth":         `{"error":"invalid_grant","error_description":"bad ` + j + `"}`,
					"oauth code":    `{"error":"` + j + `"}`,
					"json array":    `["` + j + `"]`,
					"dqe legacy":    `{"status":"error","error_id":"03","error_type":"` + j + `"}`,
					"movers":        `{"ErrorCode":"401","ProcessingMessage":"` + j + `"}`,
					"movers xml":    `<Error><ErrorCode>401</ErrorCode><ProcessingMessage>` + v + `</ProcessingMessage></Error>`,
					"crm":           `{"status":{"code":"INVALID_CREDENTIALS","message":"` + j + `"}}`,
					"crm code":      `{"status":{"code":"` + j + `","message":"x"}}`,
					"bydesign user": `{"access_token":"` + strings.Repeat("A", 30) + `","expires_in":300,"userName":"` + j + `"}`,
				}
				for shape, body := range bodies {
					for _, status := range []int{200, 400, 401, 429, 500} {
						s, err := newTestSession(cfg)
						require.NoError(t, err)
						require.Equal(t, StepRequest, nextS(s, coreT0).Kind)
						st := feedS(s, coreT0, Response{Status: status, Header: map[string]string{"Retry-After": v}, Body: []byte(body)})
						for st.Kind == StepRequest { // ByDesign resends as a form
							st = feedS(s, coreT0, Response{Status: status, Body: []byte(body)})
						}
						if st.Kind != StepError {
							continue
						}
						what := id + " " + shape + " " + strconv.Itoa(status) + " " + enc
						for _, out := range []string{st.Err.Error(), string(st.Err.MarshalWire()), fmt.Sprintf("%+v", st), fmt.Sprintf("%#v", st.Err)} {
							assertNoEcho(t, out, secret, what)
						}
					}
				}
			}
		}
	}
}

func TestLeakFmtOfStepsRequestsAndResponses(t *testing.T) {
	const pw, tok = "pw-s3cret-123", "access-tok-123456"
	s, err := newTestSession(Config{Provider: ByDesign, BaseURL: "https://webapi.bydesign.com/Acme", UserType: "rep", Username: "bob", Password: pw, ClientID: "cid", Encoding: "form"})
	require.NoError(t, err)
	req := nextS(s, coreT0)
	require.Equal(t, StepRequest, req.Kind)
	require.Contains(t, req.Request.Body, pw, "the request itself carries the password")
	resp := Response{Status: 200, Body: []byte(`{"access_token":"` + tok + `","expires_in":300,"userName":"-->r_bob"}`)}
	got := feedS(s, coreT0, resp)
	require.Equal(t, StepToken, got.Kind)

	dqe := Request{Method: "GET", URL: "https://dqe.example/ACCESS_TOKEN/?client_secret=" + pw + "#frag", Header: map[string]string{"Authorization": "Basic " + pw}}
	netErr := Response{Err: &Error{Code: CodeNetwork, Message: "connection refused"}}
	for _, v := range []any{req, &req, req.Request, &req.Request, dqe, resp, &resp, got, &got, got.Token.Attach, &got.Token.Attach, netErr} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, pw, "%s of %T", verb, v)
			assert.NotContains(t, out, tok, "%s of %T", verb, v)
		}
	}
	// Still useful for a log line.
	assert.Equal(t, "core.Request{GET https://dqe.example/ACCESS_TOKEN/?[redacted] headers=Authorization body=none}", fmt.Sprint(dqe))
	assert.Contains(t, fmt.Sprint(req), "POST https://webapi.bydesign.com/Acme/token")
	assert.Contains(t, fmt.Sprint(resp), "status=200")
	assert.Contains(t, fmt.Sprint(got.Token.Attach), "in=header name=Authorization")
	assert.Equal(t, "core.Response{error=tokensmith: network: connection refused}", fmt.Sprint(netErr))
	assert.Equal(t, "core.Step{pending}", fmt.Sprint(Step{Kind: StepPending}))
}

// FuzzLeakMask: whatever surrounds a secret, and however it is encoded,
// neither mask nor excerpt lets it through (and neither panics).
func FuzzLeakMask(f *testing.F) {
	f.Add(leakPW, "before ", " after", 0)
	f.Add("s3cret-pass-phrase", strings.Repeat(" ", 4090), "", 1)
	f.Add("100%pure", "%25%", "%", 2)
	f.Add("k€y😀pw", `\u`, `\`, 8)
	f.Add("&amp;&#", "&", ";", 11)
	f.Fuzz(func(t *testing.T, secret, before, after string, enc int) {
		if len(secret) < 4 || strings.ContainsAny(secret, "[]") || strings.IndexFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f || r == 0xa0 || r == utf8.RuneError }) >= 0 {
			t.Skip("the mask keys on secrets of 4+ bytes; [redacted] itself and folded white space could rebuild one")
		}
		r := redactorWith(secret)
		e := echoes(secret)
		names := make([]string, 0, len(e))
		for k := range e {
			names = append(names, k)
		}
		sort.Strings(names)
		v := e[names[(enc%len(names)+len(names))%len(names)]]
		text := before + v + after
		assert.NotContains(t, r.mask(text), secret)
		if len(text) <= excerptRead {
			assert.NotContains(t, r.excerpt([]byte(text)), secret)
		}
	})
}

// TestLeakShortTokenEchoedPastTheCut is the audit's reproducer: a failing
// answer carries a token shorter than the opaque-run rule and echoes it where
// the excerpt is cut. Scrubbing after the cut left its head; the providers
// now teach the redactor a failing answer's tokens before any excerpt is made.
func TestLeakShortTokenEchoedPastTheCut(t *testing.T) {
	const tok = "Tk-0123456789abcdef"
	for pad := 100; pad < 170; pad++ {
		filler := strings.Repeat("x ", pad/2)
		cases := []struct {
			cfg  string
			body string
		}{
			{`{"provider":"moversconnect","company_id":"ACME","username":"u","password":"pw-123456"}`,
				`{"ErrorCode":"401","Token":"` + tok + `","ProcessingMessage":"` + filler + ` token ` + tok + `"}`},
			{`{"provider":"bydesign","base_url":"https://bd.example/Acme","user_type":"rep","username":"1001","password":"pw-123456","client_id":"c"}`,
				`{"error":"invalid_grant","access_token":"` + tok + `","error_description":"` + filler + ` token ` + tok + `"}`},
		}
		for _, c := range cases {
			cfg, err := ParseConfig([]byte(c.cfg))
			require.NoError(t, err)
			s, err := newTestSession(cfg)
			require.NoError(t, err)
			nextS(s, 1700000000)
			st := feedS(s, 1700000000, Response{Status: 400, Body: []byte(c.body)})
			require.Equal(t, StepError, st.Kind, "%s", cfg.Provider)
			for n := 6; n <= len(tok); n++ {
				require.NotContains(t, st.Err.Message, tok[:n], "%s pad %d: %s", cfg.Provider, pad, st.Err.Message)
			}
		}
	}
}
