package core

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// The seed's example: key, authentication code, unit and sample token.
const (
	crmKey       = "EE73C0AE64524371B5DDEFF5F7BB2192"
	crmBasic     = "Basic RUU3M0MwQUU2NDUyNDM3MUI1RERFRkY1RjdCQjIxOTI6"
	crmAuthCode  = "p_kestora1!"
	crmSeedToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJjaWkiOiIyNjk1RkVEM0ZDRkQ0MDg0QUIzOUY0NEIxODg4OTEyMyIsInVzciI6Im1heXRlbXBsYXRlIiwib3JnIjoicHNfZGV2IiwiYXJpIjoiMjYxQkYyQjc5MTk4NDAxRDg5QTc5QzU0NUYxNkNCRUMiLCJvdW4iOiIxIiwiZXhwIjoiMTUxODEwNDg2NCIsImlhdCI6IjE1MTgwOTc2NjQiLCJqdGkiOiJGNTg2QjI4ODA0OEE0MTAwQjc0OUU2MkY0N0RGQzg0NCJ9.yvRGqFy7dL2H6RcqXOJQtD3zBoWHUDpoRN9Ma6hKfpg"
	crmSeedIat   = 1518097664
	crmSeedExp   = 1518104864
	crmBase      = "https://crm.example/crmapi/rest/v2"
)

// crmJWT builds an unsigned-looking compact JWS around payload.
func crmJWT(payload string, pad bool) string {
	enc := base64.RawURLEncoding
	if pad {
		enc = base64.URLEncoding
	}
	return "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9." + enc.EncodeToString([]byte(payload)) + ".c2lnbmF0dXJl"
}

func crmOK(tok string) []byte {
	return []byte(`{"data":{"token":` + strconv.Quote(tok) + `},"status":{"code":"OK","description":"","message":""}}`)
}

func crmConfig(t testing.TB, extra string) Config {
	t.Helper()
	c, err := ParseConfig([]byte(`{"provider":"crmcom","base_url":"` + crmBase + `"` + extra + `}`))
	require.NoError(t, err)
	return c
}

func crmParse(c *Config, status int, hdr map[string]string, body []byte, now int64) (Token, *Error) {
	x := &parseCtx{rd: &redactor{}}
	x.rd.add(c.secrets()...)
	r := &Response{Status: status, Header: hdr, Body: body}
	return crmcom{}.parse(c, exchange{}, r, now, x)
}

func TestCRMCOMJWTPayload(t *testing.T) {
	padded := crmJWT(`{"exp":12}`, true)
	require.True(t, strings.Contains(padded, "=."), "the case must carry padding")
	cases := []struct {
		name, tok string
		ok        bool
	}{
		{"seed sample", crmSeedToken, true},
		{"padding tolerated", padded, true},
		{"empty signature (alg none)", "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"a":1}`)) + ".", true},
		{"opaque hex", "3F2504E04F8911D39A0C0305E82C3301", false},
		{"two segments", "eyJhIjoxfQ.eyJhIjoxfQ", false},
		{"JWE five segments", "a.eyJhIjoxfQ.c.d.e", false},
		{"empty header", ".eyJhIjoxfQ.sig", false},
		{"empty payload", "eyJhIjoxfQ..sig", false},
		{"payload not base64url", "h.e30*.s", false},
		{"standard alphabet is not base64url", "h." + base64.RawStdEncoding.EncodeToString([]byte(`{"a":"??>"}`)) + ".s", false},
		{"payload not JSON", "h." + base64.RawURLEncoding.EncodeToString([]byte("hello")) + ".s", false},
		{"payload an array", "h." + base64.RawURLEncoding.EncodeToString([]byte(`[1,2]`)) + ".s", false},
		{"payload a string", "h." + base64.RawURLEncoding.EncodeToString([]byte(`"x"`)) + ".s", false},
		{"payload with trailing garbage", "h." + base64.RawURLEncoding.EncodeToString([]byte(`{}x`)) + ".s", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p fastjson.Parser
			_, ok := jwtPayload(tc.tok, &p)
			assert.Equal(t, tc.ok, ok)
		})
	}
	t.Run("large payload beyond the stack buffer", func(t *testing.T) {
		var p fastjson.Parser
		v, ok := jwtPayload(crmJWT(`{"pad":"`+strings.Repeat("x", 5000)+`","exp":7}`, false), &p)
		require.True(t, ok)
		assert.Equal(t, 7, v.GetInt("exp"))
	})
}

func TestCRMCOMExpiry(t *testing.T) {
	const now = 1700000000
	cases := []struct {
		name     string
		payload  string
		exp, iat int64
		errHas   string // non-empty: malformed_response whose message contains this
		extra    map[string]string
	}{
		{name: "exp and iat as strings (the sample's form)", payload: `{"exp":"1700007200","iat":"1700000000"}`, exp: 1700007200, iat: 1700000000,
			extra: map[string]string{"exp": "1700007200", "iat": "1700000000"}},
		{name: "exp as a number", payload: `{"exp":1700003600}`, exp: 1700003600},
		{name: "exp with spaces inside the string", payload: `{"exp":" 1700003600 "}`, exp: 1700003600},
		{name: "iat only: iat + 2 h", payload: `{"iat":1699999000}`, exp: 1699999000 + 7200, iat: 1699999000},
		{name: "null exp falls back to iat", payload: `{"exp":null,"iat":"1699999000"}`, exp: 1699999000 + 7200, iat: 1699999000},
		{name: "no claims: receipt + 2 h", payload: `{"usr":"u"}`, exp: now + 7200},
		{name: "garbage iat is ignored beside a valid exp", payload: `{"exp":1700003600,"iat":"yesterday"}`, exp: 1700003600},
		{name: "iat after exp is not an issue time", payload: `{"exp":1700003600,"iat":1700009999}`, exp: 1700003600},
		{name: "exp garbage", payload: `{"exp":"soon"}`, errHas: "exp is not a whole number"},
		{name: "exp fraction", payload: `{"exp":1700003600.5}`, errHas: "exp is not a whole number"},
		{name: "exp exponent", payload: `{"exp":1.7e9}`, errHas: "exp is not a whole number"},
		{name: "exp boolean", payload: `{"exp":true}`, errHas: "exp is not a whole number"},
		{name: "exp object", payload: `{"exp":{}}`, errHas: "exp is not a whole number"},
		{name: "exp beyond int64", payload: `{"exp":99999999999999999999}`, errHas: "exp is not a whole number"},
		{name: "exp past", payload: `{"exp":"1518104864"}`, errHas: "exp is already past"},
		{name: "exp now is past", payload: `{"exp":1700000000}`, errHas: "exp is already past"},
		{name: "exp in milliseconds", payload: `{"exp":1700003600000}`, errHas: "more than ten years"},
		{name: "iat-only garbage", payload: `{"iat":"soon"}`, errHas: "iat is not a whole number"},
		{name: "iat-only zero", payload: `{"iat":0}`, errHas: "iat is not a whole number"},
		{name: "iat-only near MaxInt64 does not wrap", payload: `{"iat":` + strconv.FormatInt(math.MaxInt64-1, 10) + `}`, errHas: "iat is not a whole number"},
		{name: "iat-only too old", payload: `{"iat":1699990000}`, errHas: "iat + 7200 is already past"},
		{name: "duplicate exp", payload: `{"exp":1700003600,"exp":1800000000}`, errHas: `"exp" appears more than once`},
		{name: "duplicate other claim", payload: `{"usr":"a","usr":"b","exp":1700003600}`, errHas: `"usr" appears more than once`},
		{name: "duplicate skipped claim", payload: `{"rol":[1],"rol":{},"exp":1700003600}`, errHas: `"rol" appears more than once`},
		{name: "claim rendering", payload: `{"s":"x","i":42,"neg":-3,"f":1.5,"e":1e3,"huge":1e300,"t":true,"f0":false,"n":null,"a":[1],"o":{"k":"v"},"esc":"a\"b\u00e9"}`,
			exp: now + 7200, extra: map[string]string{"s": "x", "i": "42", "neg": "-3", "f": "1.5", "e": "1000", "huge": "1e300", "t": "true", "f0": "false", "esc": "a\"bé"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p fastjson.Parser
			tk := Token{AccessToken: crmJWT(tc.payload, false)}
			err := crmcomExpiry(&tk, now, 200, &p)
			if tc.errHas != "" {
				require.NotNil(t, err)
				assert.Equal(t, CodeMalformedResponse, err.Code)
				assert.Contains(t, err.Message, tc.errHas)
				assert.NotContains(t, err.Error(), tk.AccessToken)
				return
			}
			require.Nil(t, err)
			assert.Equal(t, tc.exp, tk.ExpiresAt, "expires_at")
			assert.Equal(t, tc.iat, tk.IssuedAt, "issued_at")
			if tc.extra != nil {
				assert.Equal(t, tc.extra, tk.Extra)
			}
		})
	}
	t.Run("opaque token: receipt + 2 h, no claims", func(t *testing.T) {
		var p fastjson.Parser
		tk := Token{AccessToken: "3F2504E04F8911D39A0C0305E82C33013F2504E04F8911D3"}
		require.Nil(t, crmcomExpiry(&tk, now, 200, &p))
		assert.Equal(t, int64(now+7200), tk.ExpiresAt)
		assert.Zero(t, tk.IssuedAt)
		assert.Nil(t, tk.Extra)
	})
	t.Run("claims beyond the cap are dropped, exp still read", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < 200; i++ {
			b.WriteString(`"c` + strconv.Itoa(i) + `":1,`)
		}
		b.WriteString(`"exp":1700003600}`)
		var p fastjson.Parser
		tk := Token{AccessToken: crmJWT(b.String(), false)}
		require.Nil(t, crmcomExpiry(&tk, now, 200, &p))
		assert.Len(t, tk.Extra, crmcomMaxClaims)
		assert.Equal(t, int64(1700003600), tk.ExpiresAt)
	})
}

func TestCRMCOMSeedSample(t *testing.T) {
	c := crmConfig(t, `,"key":"`+crmKey+`","authentication_code":"`+crmAuthCode+`","unit":"1"`)
	req := crmcom{}.request(&c, exchange{}, nil)
	assert.Equal(t, "POST", req.Method)
	assert.Equal(t, crmBase+"/authentication/consumer_application_key/token", req.URL)
	assert.Equal(t, crmBasic, req.Header["Authorization"])
	assert.Equal(t, `{"access_token_identifier":{"authentication_code":"p_kestora1!"},"unit":"1"}`, req.Body)

	tk, err := crmParse(&c, 200, nil, crmOK(crmSeedToken), crmSeedIat)
	require.Nil(t, err)
	assert.Equal(t, crmSeedToken, tk.AccessToken)
	assert.Equal(t, int64(crmSeedExp), tk.ExpiresAt)
	assert.Equal(t, int64(crmSeedIat), tk.IssuedAt)
	assert.Equal(t, int64(7200), tk.ExpiresAt-tk.IssuedAt, "the doc's two hours")
	assert.Equal(t, "maytemplate", tk.Extra["usr"])
	assert.Equal(t, "ps_dev", tk.Extra["org"])
	assert.Equal(t, Attach{In: "query", Name: "token", Value: crmSeedToken}, crmcom{}.attach(&c, &tk))
}

func TestCRMCOMRequestBodies(t *testing.T) {
	cases := []struct{ name, cfg, body, auth string }{
		{"identifier mode", `,"key":"K1","identifier":"C-1","pass_code":"pc"`,
			`{"access_token_identifier":{"identifier":"C-1","pass_code":"pc"}}`, "Basic " + base64.StdEncoding.EncodeToString([]byte("K1:"))},
		{"jwt mode without key", `,"jwt":"j.w.t","organisation":"org1"`, `{"jwt":"j.w.t","organisation":"org1"}`, ""},
		{"jwt mode with unit", `,"jwt":"j.w.t","organisation":"org1","unit":"u"`, `{"jwt":"j.w.t","organisation":"org1","unit":"u"}`, ""},
		{"escaping", `,"key":"K","authentication_code":"a\"b\\c\n\u0001é\u2028"`,
			`{"access_token_identifier":{"authentication_code":"a\"b\\c\n\u0001é\u2028"}}`, "Basic " + base64.StdEncoding.EncodeToString([]byte("K:"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := crmConfig(t, tc.cfg)
			req := crmcom{}.request(&c, exchange{}, nil)
			assert.Equal(t, tc.body, req.Body)
			assert.True(t, gjson.Valid(req.Body))
			assert.Equal(t, "application/json", req.Header["Content-Type"])
			assert.Equal(t, "application/json", req.Header["Accept"])
			auth, has := req.Header["Authorization"]
			assert.Equal(t, tc.auth != "", has)
			assert.Equal(t, tc.auth, auth)
		})
	}
}

func TestCRMCOMConfig(t *testing.T) {
	cases := []struct{ name, cfg, field string }{
		{"no mode", `,"key":"K"`, "authentication_code"},
		{"code + identifier", `,"key":"K","authentication_code":"a","identifier":"i","pass_code":"p"`, "identifier"},
		{"identifier + jwt", `,"key":"K","identifier":"i","pass_code":"p","jwt":"j","organisation":"o"`, "jwt"},
		{"identifier alone", `,"key":"K","identifier":"i"`, "pass_code"},
		{"pass_code alone", `,"key":"K","pass_code":"p"`, "identifier"},
		{"jwt alone", `,"jwt":"j"`, "organisation"},
		{"organisation alone", `,"key":"K","organisation":"o"`, "organisation"},
		{"organisation with code", `,"key":"K","authentication_code":"a","organisation":"o"`, "organisation"},
		{"code without key", `,"authentication_code":"secret-code"`, "key"},
		{"identifier without key", `,"identifier":"i","pass_code":"secret-pass"`, "key"},
		{"key with colon", `,"key":"K:x","authentication_code":"a"`, "key"},
		{"other provider's field", `,"key":"K","authentication_code":"a","client_secret":"s"`, "client_secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(`{"provider":"crmcom","base_url":"` + crmBase + `"` + tc.cfg + `}`))
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, CodeConfig, e.Code)
			assert.Equal(t, tc.field, e.Field)
			for _, s := range []string{"secret-code", "secret-pass", "K:x"} {
				assert.NotContains(t, e.Error(), s)
			}
		})
	}
	for _, ok := range []string{
		`,"key":"K","authentication_code":"a"`,
		`,"key":"K","identifier":"i","pass_code":"p","unit":"u"`,
		`,"jwt":"j","organisation":"o"`,
		`,"key":"K","jwt":"j","organisation":"o"`,
	} {
		_, err := ParseConfig([]byte(`{"provider":"crmcom","base_url":"` + crmBase + `"` + ok + `}`))
		assert.NoError(t, err, ok)
	}
	p := crmcom{}
	for _, f := range []string{"key", "authentication_code", "identifier", "pass_code", "jwt", "organisation", "unit"} {
		assert.True(t, accepts(CRMCOM, f), f)
	}
	for _, f := range []string{"base_url", "username", "password", "client_id", "client_secret", "licence", "method", "access_token_identifier"} {
		assert.False(t, accepts(CRMCOM, f), f)
	}
	assert.False(t, p.refreshes())
}

func TestCRMCOMErrors(t *testing.T) {
	c := crmConfig(t, `,"key":"`+crmKey+`","authentication_code":"SECRET_CODE"`)
	env := func(code, desc, msg string) []byte {
		return []byte(`{"data":null,"status":{"code":` + strconv.Quote(code) + `,"description":` + strconv.Quote(desc) + `,"message":` + strconv.Quote(msg) + `}}`)
	}
	cases := []struct {
		name      string
		status    int
		hdr       map[string]string
		body      []byte
		code, msg string
		retry     bool
		after     int64
	}{
		{"auth word", 200, nil, env("AUTHENTICATION_FAILED", "", "m"), CodeInvalidGrant, "status AUTHENTICATION_FAILED: m", false, 0},
		{"credential word", 400, nil, env("WRONG_CREDENTIALS", "", ""), CodeInvalidGrant, "status WRONG_CREDENTIALS", false, 0},
		{"pass word", 400, nil, env("PASS_CODE_MISMATCH", "d", ""), CodeInvalidGrant, "status PASS_CODE_MISMATCH: d", false, 0},
		{"lower-case code", 400, nil, env("invalid_grant", "", ""), CodeInvalidGrant, "status invalid_grant", false, 0},
		{"key beats invalid", 400, nil, env("INVALID_KEY", "", ""), CodeInvalidClient, "status INVALID_KEY", false, 0},
		{"client word", 200, nil, env("CLIENT_DISABLED", "", ""), CodeInvalidClient, "status CLIENT_DISABLED", false, 0},
		{"unknown on 401", 401, nil, env("ERROR", "", ""), CodeInvalidClient, "status ERROR", false, 0},
		{"unknown on 403", 403, nil, env("FORBIDDEN", "", ""), CodeUnauthorizedClient, "status FORBIDDEN", false, 0},
		{"unknown on 200", 200, nil, env("ERROR", "", ""), CodeInvalidRequest, "status ERROR", false, 0},
		{"5xx with envelope", 500, map[string]string{"retry-after": "7"}, env("INVALID_STATE", "", "x"), CodeServerError, "status INVALID_STATE: x", true, 7},
		{"429 with envelope", 429, nil, env("LIMIT", "", ""), CodeQuotaExceeded, "status LIMIT", true, 0},
		{"message before description", 400, nil, env("E", "desc", "msg"), CodeInvalidRequest, "status E: msg", false, 0},
		{"known secret in a code-like code", 400, nil, env("WRONG_SECRET_CODE", "", ""), CodeInvalidRequest, "status WRONG_[redacted]", false, 0},
		{"key echoed in the message", 400, nil, env("E", "", "key "+crmKey), CodeInvalidRequest, "status E: key [redacted]", false, 0},
		{"hex code is not code-like", 400, nil, env(crmKey, "", ""), CodeInvalidRequest, "status [redacted]", false, 0},
		{"OK on 500", 500, nil, crmOK("abcdefgh1234"), CodeServerError, "", true, 0},
		{"OK on 404", 404, nil, crmOK("abcdefgh1234"), CodeInvalidRequest, "", false, 0},
		{"no status on 400", 400, nil, []byte(`{"data":{"token":"abcdefgh1234"},"message":"bad"}`), CodeInvalidRequest, "", false, 0},
		{"no status on 200", 200, nil, []byte(`{"data":{"token":"abcdefgh1234"}}`), CodeMalformedResponse, "status object missing", false, 0},
		{"status not an object", 200, nil, []byte(`{"status":"OK","data":{"token":"t"}}`), CodeMalformedResponse, "status object missing", false, 0},
		{"status.code missing", 200, nil, []byte(`{"status":{},"data":{"token":"t"}}`), CodeMalformedResponse, "status.code missing", false, 0},
		{"status.code a number", 200, nil, []byte(`{"status":{"code":0},"data":{"token":"t"}}`), CodeMalformedResponse, "field code is not a string", false, 0},
		{"duplicate status", 200, nil, []byte(`{"status":{"code":"E"},"status":{"code":"OK"},"data":{"token":"t"}}`), CodeMalformedResponse, "field status appears 2 times", false, 0},
		{"duplicate data", 200, nil, []byte(`{"status":{"code":"OK"},"data":{"token":"t"},"data":{"token":"u"}}`), CodeMalformedResponse, "field data appears 2 times", false, 0},
		{"token a number", 200, nil, []byte(`{"status":{"code":"OK"},"data":{"token":5}}`), CodeMalformedResponse, "field token is not a string", false, 0},
		{"token empty", 200, nil, []byte(`{"status":{"code":"OK"},"data":{"token":""}}`), CodeMalformedResponse, "data.token missing", false, 0},
		{"data an array", 200, nil, []byte(`{"status":{"code":"OK"},"data":[]}`), CodeMalformedResponse, "data.token missing (data is not an object)", false, 0},
		{"JSON array", 200, nil, []byte(`[]`), CodeMalformedResponse, "body is JSON but not an object: []", false, 0},
		{"empty 502", 502, nil, nil, CodeServerError, "HTTP 502", true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := crmParse(&c, tc.status, tc.hdr, tc.body, 1700000000)
			require.NotNil(t, err)
			assert.Equal(t, tc.code, err.Code)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, err.Message)
			}
			assert.Equal(t, tc.retry, err.Retryable)
			assert.Equal(t, tc.after, err.RetryAfter)
			assert.Equal(t, tc.status, err.Status)
			for _, s := range []string{crmKey, "SECRET_CODE", "abcdefgh1234"} {
				assert.NotContains(t, err.Error(), s)
			}
		})
	}
}

func TestCRMCOMMasksEchoedToken(t *testing.T) {
	// The session's redactor does not know a token it never accepted: a
	// failure that echoes one (short enough to escape the opaque-run rule)
	// must mask it itself, whichever copy of a repeated key it is.
	c := crmConfig(t, `,"key":"K","authentication_code":"a"`)
	body := []byte(`{"data":{"token":"tok-12345","token":"tok-67890"},"status":{"code":"E","message":"tok-12345 and tok-67890 refused"}}`)
	_, err := crmParse(&c, 400, nil, body, 1700000000)
	require.NotNil(t, err)
	assert.Equal(t, "status E: [redacted] and [redacted] refused", err.Message)

	body = []byte(`{"data":{"token":"tok-12345"},"status":{"code":"OK"}}`)
	_, err = crmParse(&c, 503, nil, body, 1700000000)
	require.NotNil(t, err)
	assert.NotContains(t, err.Message, "tok-12345")
}

func TestCRMCOMCodeLike(t *testing.T) {
	for s, want := range map[string]bool{
		"INVALID_AUTHENTICATION_CODE": true, "A_B": true, "OK": false, "ERROR": false,
		crmKey: false, "INVALID_CODE_1": false, "invalid_code": false, strings.Repeat("A_", 33): false,
	} {
		assert.Equal(t, want, crmcomCodeLike(s), s)
	}
}

var crmCodes = map[string]bool{
	CodeConfig: true, CodeInvalidRequest: true, CodeInvalidClient: true, CodeUnauthorizedClient: true,
	CodeInvalidGrant: true, CodeUnsupportedGrantType: true, CodeInvalidToken: true, CodeQuotaExceeded: true,
	CodeServerError: true, CodeMalformedResponse: true, CodeNetwork: true, CodeUsage: true,
}

// crmIssuedTokens finds every data.token string in body, repeated keys
// included, independently of the code under test (gjson, not fastjson).
func crmIssuedTokens(body []byte) []string {
	var out []string
	if !gjson.ValidBytes(body) {
		return nil
	}
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if k.String() == "data" && v.IsObject() {
			v.ForEach(func(k2, tv gjson.Result) bool {
				if k2.String() == "token" && tv.Type == gjson.String {
					out = append(out, tv.String())
				}
				return true
			})
		}
		return true
	})
	return out
}

// crmCheckable reports whether a leak of tok can be told from chance: long
// enough not to be a word of our own messages ("status", "missing"), made of
// token characters so that "[redacted]" cannot form it again around a
// replacement, and not part of "[redacted]" itself.
func crmCheckable(tok string) bool {
	if len(tok) < 12 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func FuzzCRMCOMParse(f *testing.F) {
	seeds := [][]byte{
		crmOK(crmSeedToken),
		crmOK(crmJWT(`{"exp":1700003600,"iat":1700000000}`, true)),
		crmOK(crmJWT(`{"iat":"1700000000"}`, false)),
		crmOK(crmJWT(`{"exp":"soon"}`, false)),
		crmOK(crmJWT(`{"a":1,"a":2}`, false)),
		crmOK("3F2504E04F8911D39A0C0305E82C33013F2504E04F8911D3"),
		[]byte(`{"data":null,"status":{"code":"INVALID_AUTHENTICATION_CODE","description":"","message":"bad code SECRET_CODE"}}`),
		[]byte(`{"data":{"token":"tok-12345678","token":"x"},"status":{"code":"OK"}}`),
		[]byte(`{"data":{"token":"tok-12345678"},"status":{"code":"E","message":"tok-12345678"}}`),
		[]byte(`{"data":{"token":"abc"}}`),
		[]byte("\xef\xbb\xbf{\"data\":{\"token\":\"t\"},\"status\":{\"code\":\"OK\"}}"),
		[]byte(`<html><body>502 Bad Gateway</body></html>`),
		[]byte(`{"data":{"tok`),
		[]byte(`[]`),
		nil,
	}
	for i, s := range seeds {
		f.Add(200+(i%3)*100, s)
		f.Add(401, s)
	}
	cfg := crmConfig(f, `,"key":"`+crmKey+`","authentication_code":"SECRET_CODE","unit":"1"`)
	const now = 1700000000
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 0 {
			status = -status
		}
		status = 100 + status%500
		s, err := newTestSession(cfg)
		require.NoError(t, err)
		require.Equal(t, StepRequest, nextS(s, now).Kind)
		st := feedS(s, now, Response{Status: status, Header: map[string]string{"Retry-After": "5"}, Body: body})
		switch st.Kind {
		case StepToken:
			tk := st.Token
			require.NotEmpty(t, tk.AccessToken)
			require.Greater(t, tk.ExpiresAt, int64(now))
			require.LessOrEqual(t, tk.ExpiresAt, int64(now+maxLifetime))
			require.Equal(t, "query", tk.Attach.In)
		case StepError:
			e := st.Err
			require.True(t, crmCodes[e.Code], "code %q outside the closed set", e.Code)
			text := e.Error() + string(e.MarshalWire())
			for _, sec := range []string{crmKey, "SECRET_CODE"} {
				require.NotContains(t, text, sec)
			}
			for _, tok := range crmIssuedTokens(trimBOM(body)) {
				if crmCheckable(tok) {
					require.NotContains(t, text, tok)
				}
			}
			require.LessOrEqual(t, e.RetryAfter, int64(86400))
		default:
			t.Fatalf("unexpected step %v", st.Kind)
		}
	})
}

func BenchmarkCRMCOMBuild(b *testing.B) {
	c := crmConfig(b, `,"key":"`+crmKey+`","authentication_code":"`+crmAuthCode+`","unit":"1"`)
	b.ReportAllocs()
	for b.Loop() {
		_ = crmcom{}.request(&c, exchange{}, nil)
	}
}

func BenchmarkCRMCOMParse(b *testing.B) {
	c := crmConfig(b, `,"key":"`+crmKey+`","authentication_code":"`+crmAuthCode+`","unit":"1"`)
	run := func(b *testing.B, body []byte, now int64) {
		x := &parseCtx{rd: &redactor{}}
		r := &Response{Status: 200, Body: body}
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := (crmcom{}).parse(&c, exchange{}, r, now, x); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("seed-jwt", func(b *testing.B) { run(b, crmOK(crmSeedToken), crmSeedIat) })
	b.Run("opaque", func(b *testing.B) { run(b, crmOK("3F2504E04F8911D39A0C0305E82C33013F2504E04F8911D3"), crmSeedIat) })
	b.Run("status-error", func(b *testing.B) {
		x := &parseCtx{rd: &redactor{}}
		r := &Response{Status: 400, Body: []byte(`{"data":null,"status":{"code":"INVALID_AUTHENTICATION_CODE","description":"","message":"The authentication code is not valid"}}`)}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (crmcom{}).parse(&c, exchange{}, r, crmSeedIat, x); err == nil {
				b.Fatal("want an error")
			}
		}
	})
}
