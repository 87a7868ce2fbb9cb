package core

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets. The seeds added with f.Add run under plain `go test`; run
// one for real with e.g. `go test -fuzz=FuzzDQEIDMobileParse -fuzztime=20s ./core/`.

var closedCodes = map[string]bool{
	CodeConfig: true, CodeInvalidRequest: true, CodeInvalidClient: true, CodeUnauthorizedClient: true,
	CodeInvalidGrant: true, CodeUnsupportedGrantType: true, CodeInvalidToken: true, CodeQuotaExceeded: true,
	CodeServerError: true, CodeMalformedResponse: true, CodeNetwork: true, CodeUsage: true,
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-4711","client_secret":"s3cret-pass"}`,
		`{"provider":"dqe-idmobile","base_url":"http://[::1]:9/x/","licence":"l","client_secret":"s","method":"get","leeway_seconds":5}`,
		`{"provider":"dqe-idmobile","licence":"l","licence":"m"}`,
		`{"provider":"moversconnect","company_id":"ACME","username":"u","password":"p"}`,
		`{"provider":"bydesign","base_url":"https://webapi.bydesign.com/X","username":"1001","password":"p","user_type":"rep"}`,
		`{"provider":"crmcom","base_url":"https://h/crmapi/rest/v2/","key":"k","identifier":"i","pass_code":"p"}`,
		"\ufeff{}", `[]`, `{"provider":null}`, `{"leeway_seconds":1e99}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != CodeConfig || e.Field == "" {
				t.Fatalf("ParseConfig error %#v is not a config *Error with a field", err)
			}
			return
		}
		if _, err := newTestSession(c); err != nil {
			t.Fatalf("a parsed config does not start a session: %v", err)
		}
		w := c.MarshalWire()
		if !json.Valid(w) {
			t.Fatalf("MarshalWire is not JSON: %q", w)
		}
		c2, err := ParseConfig(w)
		if err != nil {
			t.Fatalf("ParseConfig(MarshalWire) failed: %v\n%s", err, w)
		}
		w2 := c2.MarshalWire()
		c3, err := ParseConfig(w2)
		if err != nil {
			t.Fatalf("second ParseConfig failed: %v\n%s", err, w2)
		}
		if w3 := c3.MarshalWire(); !bytes.Equal(w2, w3) || !jsonEqual(w, w2) {
			t.Fatalf("config wire not stable:\n%s\n%s", w, w2)
		}
		// String must not depend on any secret's value.
		blank := c
		for _, f := range configFields {
			if p := f.ptr(&blank); isSecret(f.name) && *p != "" {
				*p = "X"
			}
		}
		if c.String() != blank.String() || c.GoString() != blank.GoString() {
			t.Fatalf("String depends on a secret value:\n%s\n%s", c.String(), blank.String())
		}
	})
}

func FuzzParseToken(f *testing.F) {
	f.Add(wireTokenBytes())
	for _, s := range []string{`{}`, `{"access_token":null,"expires_at":null}`, `{"expires_at":-1}`, `{"attach":{"params":{"a":1}}}`, `{"extra":[]}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := ParseToken(data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeUsage {
				t.Fatalf("ParseToken error %#v", err)
			}
			return
		}
		w := tk.MarshalWire()
		if !json.Valid(w) {
			t.Fatalf("MarshalWire is not JSON: %q", w)
		}
		tk2, err := ParseToken(w)
		if err != nil {
			t.Fatalf("ParseToken(MarshalWire) failed: %v", err)
		}
		w2 := tk2.MarshalWire()
		tk3, _ := ParseToken(w2)
		if w3 := tk3.MarshalWire(); !bytes.Equal(w2, w3) || !jsonEqual(w, w2) {
			t.Fatalf("token wire not stable:\n%s\n%s", w, w2)
		}
		// String shows token lengths, never their values.
		blank := tk
		blank.AccessToken = strings.Repeat("X", len(tk.AccessToken))
		blank.RefreshToken = strings.Repeat("X", len(tk.RefreshToken))
		blank.Attach.Value = "X"
		if tk.String() != blank.String() || tk.GoString() != blank.GoString() {
			t.Fatalf("String depends on a token value:\n%s\n%s", tk.String(), blank.String())
		}
	})
}

func wireTokenBytes() []byte { t := wireToken(); return t.MarshalWire() }

// jsonEqual compares two JSON texts by value. The first encoding of a value
// read from invalid UTF-8 writes each bad byte as the escape \ufffd; read
// back, that is a real U+FFFD, written raw: the same value, other bytes.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"status":200,"headers":{"Content-Type":"application/json"},"body":"{\"access_token\":\"x\"}"}`,
		`{"status":429,"headers":{"Retry-After":"3"},"body":""}`,
		`{"error":{"code":"network","message":"connection refused"}}`,
		`{"status":200,"body":"\ud800"}`, `{"status":-1}`, `{"status":1e3}`, `{"status":200,"headers":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseResponse(data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeUsage {
				t.Fatalf("ParseResponse error %#v", err)
			}
			return
		}
		w := r.MarshalWire()
		if !json.Valid(w) {
			t.Fatalf("MarshalWire is not JSON: %q", w)
		}
		r2, err := ParseResponse(w)
		if err != nil {
			t.Fatalf("ParseResponse(MarshalWire) failed: %v\n%s", err, w)
		}
		w2 := r2.MarshalWire()
		r3, _ := ParseResponse(w2)
		if w3 := r3.MarshalWire(); !bytes.Equal(w2, w3) || !jsonEqual(w, w2) {
			t.Fatalf("response wire not stable:\n%s\n%s", w, w2)
		}
	})
}

func FuzzParseStep(f *testing.F) {
	for _, s := range []Step{
		{Kind: StepToken, Token: wireToken(), Changed: true},
		{Kind: StepRequest, Request: Request{Method: "POST", URL: "https://h/", Header: map[string]string{"A": "b"}, Body: "a=b"}},
		{Kind: StepError, Err: &Error{Code: CodeQuotaExceeded, Status: 429, Retryable: true, RetryAfter: 3, Message: "m", Field: "f"}},
		{Kind: StepPending},
	} {
		f.Add(s.MarshalWire())
	}
	f.Add([]byte(`{"token":null}`))
	f.Add([]byte(`{"error":"x","pending":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStep(data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeUsage {
				t.Fatalf("ParseStep error %#v", err)
			}
			return
		}
		if s.Kind < StepToken || s.Kind > StepPending || (s.Kind == StepError) != (s.Err != nil) {
			t.Fatalf("inconsistent step %v", s.Kind)
		}
		w := s.MarshalWire()
		if !json.Valid(w) {
			t.Fatalf("MarshalWire is not JSON: %q", w)
		}
		s2, err := ParseStep(w)
		if err != nil {
			t.Fatalf("ParseStep(MarshalWire) failed: %v\n%s", err, w)
		}
		w2 := s2.MarshalWire()
		s3, _ := ParseStep(w2)
		if w3 := s3.MarshalWire(); !bytes.Equal(w2, w3) || !jsonEqual(w, w2) {
			t.Fatalf("step wire not stable:\n%s\n%s", w, w2)
		}
	})
}

const (
	fuzzLicence = "LIC-4711"
	fuzzSecret  = "s3cret-pass"
)

func FuzzDQEIDMobileParse(f *testing.F) {
	tok := "TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA"
	for _, c := range []struct {
		status int
		body   string
		ra     string
	}{
		{200, `{"access_token":"` + tok + `","token_type":"Bearer","expires_in":"300","refresh_token":"*TK9bdd"}`, ""},
		{200, `{"status":"success","access_token":"` + tok + `","expires_in":600}`, ""},
		{200, `{"status":"error","error_id":"98","error_type":"credits exhausted"}`, ""},
		{400, `{"status":"error","error_id":22}`, ""},
		{400, "Invalid Client " + fuzzLicence + " " + fuzzSecret, ""},
		{500, "", "3"},
		{502, "<html><title>502</title>" + fuzzSecret + "</html>", "Tue, 14 Nov 2023 22:15:20 GMT"},
		{429, "", "99999999999999999999"},
		{200, `{"access_token":"a","access_token":"b","expires_in":"1"}`, ""},
		{200, `{"access_token":"` + tok + `","expires_in":"99999999999"}`, ""},
		{200, "\ufeff{\"access_token\":\"x\",\"expires_in\":\" 1 \"}", ""},
		{200, `{"status":"error","error_id":"` + fuzzSecret + `xxxxxxxx"}`, ""},
		{0, "", ""},
	} {
		f.Add(c.status, []byte(c.body), c.ra)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, ra string) {
		s, err := newTestSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: fuzzLicence, ClientSecret: fuzzSecret})
		if err != nil {
			t.Fatal(err)
		}
		if st := nextS(s, coreT0); st.Kind != StepRequest {
			t.Fatalf("first Next: %v", st.Kind)
		}
		st := feedS(s, coreT0, Response{Status: status, Header: map[string]string{"Retry-After": ra}, Body: body})
		w := st.MarshalWire()
		if !json.Valid(w) {
			t.Fatalf("step wire is not JSON: %q", w)
		}
		switch st.Kind {
		case StepToken:
			tk := st.Token
			if status != 200 || tk.AccessToken == "" || tk.ExpiresAt <= coreT0 || tk.ExpiresAt > coreT0+maxLifetime ||
				tk.RefreshAt > tk.ExpiresAt || tk.RefreshAt < coreT0 || !st.Changed {
				t.Fatalf("implausible token from status %d: %+v exp=%d refresh=%d", status, tk, tk.ExpiresAt, tk.RefreshAt)
			}
			if tk.Attach.In != "query" || tk.Attach.Params["licence"] != fuzzLicence {
				t.Fatalf("attach %+v", tk.Attach)
			}
		case StepError:
			e := st.Err
			if !closedCodes[e.Code] {
				t.Fatalf("code %q outside the closed set", e.Code)
			}
			if e.RetryAfter < 0 || e.RetryAfter > 86400 || (!e.Retryable && e.RetryAfter != 0) {
				t.Fatalf("retry_after %d retryable %v", e.RetryAfter, e.Retryable)
			}
			for _, out := range []string{e.Error(), string(w)} {
				if strings.Contains(out, fuzzSecret) || strings.Contains(out, fuzzLicence) {
					t.Fatalf("error shows a configured secret: %s", out)
				}
			}
			if len(e.Message) > 400 {
				t.Fatalf("message of %d bytes", len(e.Message))
			}
		default:
			t.Fatalf("Feed answered %v", st.Kind)
		}
		if st := nextS(s, coreT0); st.Kind != StepToken && st.Kind != StepRequest && st.Kind != StepError {
			t.Fatalf("Next after Feed: %v", st.Kind)
		}
	})
}

// fuzzSecrets are what the redaction targets must hide. They are built of
// token characters: a secret that contains "[", "]" or white space could be
// re-formed by the mask's own "[redacted]" or by white-space folding.
var fuzzSecrets = []string{fuzzSecret, fuzzLicence, "TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA", "p@ss"}

func FuzzExcerpt(f *testing.F) {
	for _, s := range []string{
		"Invalid Client " + fuzzSecret, "<!DOCTYPE html><html><body>" + fuzzLicence + "</body></html>", "\ufeff" + fuzzSecret,
		strings.Repeat(" ", 4090) + fuzzSecret, "s3cret\x00-pass", "s3cret-<b>pass", "<html>s3cret></b>-pass", "\xff\xfe",
		strings.Repeat("é", 200), "p%40ss",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := redactorWith(fuzzSecrets...)
		out := r.excerpt(body)
		for _, s := range fuzzSecrets {
			if strings.Contains(out, s) {
				t.Fatalf("excerpt shows secret %q: %q", s, out)
			}
		}
		if len(out) > excerptLen+8 {
			t.Fatalf("excerpt of %d bytes", len(out))
		}
		if strings.ContainsAny(out, "\n\r\t\x00") || strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") {
			t.Fatalf("excerpt is not one trimmed line: %q", out)
		}
	})
}

func FuzzRedact(f *testing.F) {
	f.Add("licence LIC-4711 secret s3cret-pass", "s3cret-pass")
	f.Add("xxs3cret-passs3cret-pass", "s3cret-pass")
	f.Add("aaaaa", "aaaa")
	f.Add("ababab", "abab")
	f.Add("p%40ss+word", "p@ss word")
	f.Add(strings.Repeat("a", 30), "bbbb")
	f.Fuzz(func(t *testing.T, s, secret string) {
		// Secrets of token characters plus a few that form-escape; see
		// fuzzSecrets for why "[", "]" and white space are left out, and a
		// substring of "redacted" would be shown by the mask itself.
		if len(secret) < 4 || strings.Contains("[redacted]", secret) || strings.ContainsAny(secret, "[] \t\r\n\f\v") || !utf8.ValidString(secret) {
			return
		}
		r := redactorWith(secret)
		out := r.mask(s)
		if strings.Contains(out, secret) {
			t.Fatalf("mask shows the secret %q: %q", secret, out)
		}
		if len(out) > 3*len(s)+10 {
			t.Fatalf("mask grew %d bytes to %d", len(s), len(out))
		}
		ex := r.excerpt([]byte(s))
		if strings.Contains(ex, secret) && !strings.ContainsAny(secret, "<>\x00\x7f") {
			t.Fatalf("excerpt shows the secret %q: %q", secret, ex)
		}
		if len(ex) > excerptLen+8 {
			t.Fatalf("excerpt of %d bytes", len(ex))
		}
	})
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x1f\x7f", "a\u2028b\u2029", "\xff", "\xed\xa0\x80", "é😀", "\xe2\x82"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: not JSON: %v", s, b, err)
		}
		if want := validUTF8PerByte(s); back != want {
			t.Fatalf("decoded %q, want %q", back, want)
		}
		if bytes.ContainsAny(b, "\u2028\u2029") {
			t.Fatalf("raw U+2028/U+2029 in %q", b)
		}
		for _, c := range b {
			if c < 0x20 {
				t.Fatalf("raw control byte in %q", b)
			}
		}
	})
}

func FuzzFormRoundTrip(f *testing.F) {
	f.Add("licence", "LIC-4711", "client_secret", "p@ss word/&=+%")
	f.Add("", "", "=", "&")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		ps := []param{{k1, v1}, {k2, v2}}
		got := decodeForm(encodeForm(ps))
		if len(got) != 2 || got[0] != ps[0] || got[1] != ps[1] {
			t.Fatalf("round trip %q -> %q -> %q", ps, encodeForm(ps), got)
		}
	})
}

func FuzzParseOptions(f *testing.F) {
	f.Add([]byte(`{"seed":"18446744073709551615","max_attempts":2,"hold_off_ms":5}`))
	f.Add([]byte(`{"seed":7,"budget_ms":1e3}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOptions(data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeConfig || !strings.HasPrefix(e.Field, "options.") {
				t.Fatalf("ParseOptions error %#v", err)
			}
			return
		}
		d := o.withDefaults()
		if d.MaxAttempts < 1 || d.MaxAttempts > maxOptionAttempts || d.BudgetMs < 1 || d.BudgetMs > maxOptionMs {
			t.Fatalf("out of bounds: %+v", d)
		}
		back, err := ParseOptions(o.MarshalWire())
		if err != nil || back != d {
			t.Fatalf("round trip: %v %+v %+v", err, back, d)
		}
	})
}

func FuzzParseInput(f *testing.F) {
	tk := wireToken()
	for _, w := range [][]byte{
		(&LeaseResult{Acquired: true, Token: &tk}).MarshalWire(),
		(&CommitResult{OK: false, Token: &tk}).MarshalWire(),
		(&CommitResult{Err: &Error{Code: CodeStore, Message: "x"}}).MarshalWire(),
		(&Response{Status: 200, Body: []byte("b")}).MarshalInput(),
		ReleaseInput,
	} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseInput(data)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeUsage {
				t.Fatalf("ParseInput error %#v", err)
			}
			return
		}
		n := 0
		for _, set := range []bool{in.Response != nil, in.Lease != nil, in.Commit != nil, in.Release} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d inputs set", n)
		}
	})
}

// FuzzSessionDrive feeds a session an arbitrary sequence of calls: it never
// panics, every answer is valid JSON with one known step, and the held token
// is always one a host could send.
func FuzzSessionDrive(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7}, int64(0))
	f.Add([]byte{0, 2, 3, 0, 0, 9, 1, 4}, int64(123456))
	f.Add([]byte{0, 2, 1, 3 + 32 + 16, 0}, int64(1))
	f.Fuzz(func(t *testing.T, ops []byte, seed int64) {
		s, err := NewSession(Config{Provider: MoversConnect, BaseURL: "https://mc.example", CompanyID: "C", Username: "u", Password: "Demo-Crew-Passw0rd"}, Options{Seed: uint64(seed)})
		if err != nil {
			t.Fatal(err)
		}
		now := coreT0 * 1000
		bodies := []string{mcGrantOK, `{"Token":null,"TokenExpires":1708035172}`, `{"ErrorCode":401}`, `x`}
		stored := &Token{AccessToken: "45C48CCE2E2D7FBDEA1AFC51C7C6AD26", RefreshToken: "R0123456789", ExpiresAt: coreT0 + 100, Rev: 9}
		for i, op := range ops {
			if i > 64 {
				break
			}
			now += int64(op) * 997
			var st Step
			switch op % 10 {
			case 0:
				st = s.Next(now)
			case 1:
				st = s.Feed(now, Response{Status: 200, Body: []byte(bodies[int(op/10)%len(bodies)])})
			case 2:
				st = s.Leased(now, LeaseResult{Acquired: op&16 == 0, Token: map[bool]*Token{true: stored}[op&32 != 0]})
			case 3:
				st = s.Committed(now, CommitResult{OK: op&16 == 0, Token: map[bool]*Token{true: stored}[op&32 != 0]})
			case 4:
				st = s.Released(now)
			case 5:
				st = s.Feed(now, Response{Status: 503, Header: map[string]string{"Retry-After": "2"}})
			case 6:
				s.Invalidate(s.tok.AccessToken)
				continue
			case 7:
				s.Cancel()
				continue
			case 8:
				st = s.Committed(now, CommitResult{Err: &Error{Code: CodeStore, Message: "down"}})
			case 9:
				st = s.Feed(now, Response{Err: &Error{Code: CodeNetwork, Message: "reset"}})
			}
			w := st.MarshalWire()
			if !json.Valid(w) {
				t.Fatalf("not JSON: %s", w)
			}
			if _, err := ParseStep(w); err != nil {
				t.Fatalf("unparsable step %s: %v", w, err)
			}
			if st.Kind == StepToken && st.Token.AccessToken == "" {
				t.Fatalf("token step without an access token")
			}
			if st.Usable != nil && st.Usable.StateAt(now) != Stale {
				t.Fatalf("usable token that is not stale")
			}
			if st.Kind == StepWait && st.UntilMs < now {
				t.Fatalf("wait in the past")
			}
			if tk, ok := s.Token(); ok && checkTokenValue("t", tk.AccessToken, 0) != nil {
				t.Fatalf("held token not sendable")
			}
		}
	})
}
