package core

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

const (
	bdNow      = 1700000000
	bdPassword = "examplepassword"
	bdAT       = "Vi3ng2sc5gw7X7PL4PZ1Ln9AeMrwnPATu_PwKHWhcZpsCXDq1f6SdEMHu_Q4YxzJHLvsUcqzgQVhno5ywGxUBzvFqEcpRVaAXCncaZvPRQ8C7WVM-7hztdwO9bNGkSP8ByH4UGd4KVl6tIZ8HmnM2D5example8s5i5X68R_ICcKrHiwKmXJqW6xncRdRNBh16UYQotKKXezQG9dA7NNnr7gIsg2G3J2ISfn8h_2jZ_6xj9oARc6TmlLqRCMVHpYQqE586YMUXR6UEvS9J6UA0Fxxjb8lsXvuLzLDubMkrOXPFvzw440nOwnubjeN6_bc6qT8z6AuvdmFdQHf1pfTAhJOsNg-SdxssgH-hALevgStAQydLlHFVHXKBh24di_thHm9OwIMUTnvaF-KPyaXBkwS8k0"
	bdRT       = "c9c290dd7ec24example427396686bd8"
	// The seed's rep answer, compact.
	bdRepBody = `{"access_token":"` + bdAT + `","token_type":"bearer","expires_in":172799,"refresh_token":"` + bdRT + `",` +
		`"as:client_id":"ByDesignAngularJSShoppingCart","userName":"-->r_1001","userType":"rep","userTypeID":"1",` +
		`"displayName":"Exampl Rep Name","hasReciprocalID":"False","canEnrollAsRep":"True","rankTypeID":"10",` +
		`".issued":"Fri, 15 Apr 2022 13:37:44 GMT",".expires":"Sun, 17 Apr 2022 13:37:44 GMT"}`
)

func bdConfig() Config {
	return Config{Provider: ByDesign, BaseURL: "https://webapi.bydesign.com/ExampleClient", UserType: "rep",
		Username: "1001", Password: bdPassword, ClientID: "ByDesignAngularJSShoppingCart"}
}

func bdSession(t testing.TB, mod func(*Config)) *Session {
	t.Helper()
	c := bdConfig()
	if mod != nil {
		mod(&c)
	}
	s, err := newTestSession(c)
	require.NoError(t, err)
	return s
}

func bdResp(status int, body string) Response {
	return Response{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body)}
}

func TestByDesignFieldIndexes(t *testing.T) {
	want := map[int]string{bdAccessToken: "access_token", bdTokenType: "token_type", bdExpiresIn: "expires_in",
		bdRefreshToken: "refresh_token", bdError: "error", bdErrorDescription: "error_description",
		bdUserName: "userName", bdIssued: ".issued", bdExpires: ".expires"}
	for i, k := range want {
		assert.Equal(t, k, byDesignFields[i].key)
	}
	for i, f := range byDesignFields {
		assert.Equal(t, i, byDesignField([]byte(f.key)), f.key)
	}
	assert.Equal(t, -1, byDesignField([]byte("username")), "keys are case-sensitive")
	assert.True(t, byDesignFields[bdUserName].extra)
	assert.False(t, byDesignFields[bdIssued].extra || byDesignFields[bdExpires].extra, "dates live in issued_at/expires_at only")
}

func TestByDesignConfigure(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"missing user_type", func(c *Config) { c.UserType = "" }, "user_type"},
		{"bad user_type", func(c *Config) { c.UserType = "admin" }, "user_type"},
		{"missing username", func(c *Config) { c.Username = "" }, "username"},
		{"prefixed username", func(c *Config) { c.Username = "-->c_1146820" }, "username"},
		{"bare arrow", func(c *Config) { c.Username = "-->1001" }, "username"},
		{"missing password", func(c *Config) { c.Password = "" }, "password"},
		{"missing client_id", func(c *Config) { c.ClientID = "" }, "client_id"},
		{"xml encoding", func(c *Config) { c.Encoding = "xml" }, "encoding"},
		{"missing base_url", func(c *Config) { c.BaseURL = "" }, "base_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := bdConfig()
			tc.mod(&c)
			err := c.validate()
			require.Error(t, err)
			e := err.(*Error)
			assert.Equal(t, CodeConfig, e.Code)
			assert.Equal(t, tc.field, e.Field)
			assert.NotContains(t, e.Error(), bdPassword)
		})
	}

	c := bdConfig()
	c.UserType, c.Encoding = "Customer", "FORM"
	require.NoError(t, c.validate())
	assert.Equal(t, "customer", c.UserType)
	assert.Equal(t, "form", c.Encoding)
	c = bdConfig()
	require.NoError(t, c.validate())
	assert.Equal(t, "json", c.Encoding, "documented default")

	for _, f := range []string{"user_type", "username", "password", "client_id", "encoding"} {
		assert.True(t, accepts(ByDesign, f), f)
	}
	for _, f := range []string{"base_url", "client_secret", "licence", "method", "company_id", "token_header", "key"} {
		assert.False(t, accepts(ByDesign, f), f)
	}
}

func TestByDesignRequestBodies(t *testing.T) {
	// A password with every character JSON and forms must escape.
	pw := "p\"w\\d@&=+ é\n\u2028"
	c := bdConfig()
	c.Password = pw
	require.NoError(t, c.validate())
	p := byDesign{}

	r := p.request(&c, exchange{}, &Token{})
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "https://webapi.bydesign.com/ExampleClient/token", r.URL)
	assert.Equal(t, map[string]string{"Accept": "application/json", "Content-Type": "application/json"}, r.Header)
	require.True(t, gjson.Valid(r.Body), r.Body)
	g := gjson.Parse(r.Body)
	var keys []string
	g.ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
	assert.Equal(t, []string{"grant_type", "username", "password", "client_id"}, keys, "the seed's order")
	assert.Equal(t, pw, g.Get("password").String())
	assert.Equal(t, "-->r_1001", g.Get("username").String())
	assert.Equal(t, r.Body, p.request(&c, exchange{}, &Token{}).Body, "deterministic")

	c.UserType = "customer"
	r = p.request(&c, exchange{alt: 1}, &Token{})
	assert.Equal(t, "application/x-www-form-urlencoded", r.Header["Content-Type"])
	assert.Equal(t, []param{{"grant_type", "password"}, {"username", "-->c_1001"}, {"password", pw},
		{"client_id", "ByDesignAngularJSShoppingCart"}}, decodeForm(r.Body))

	r = p.request(&c, exchange{refresh: true}, &Token{RefreshToken: "rt/+=1"})
	assert.Equal(t, `{"grant_type":"refresh_token","refresh_token":"rt/+=1","client_id":"ByDesignAngularJSShoppingCart"}`, r.Body)
	assert.NotContains(t, r.Body, "password", "a refresh never resends the password")
}

func TestByDesignUserNameCheck(t *testing.T) {
	c := bdConfig()
	require.NoError(t, c.validate())
	check := func(user string, refresh bool) *Error {
		var v *fastjson.Value
		if user != "<absent>" {
			v = fastjson.MustParse(user)
		}
		return byDesignCheckUser(&c, exchange{refresh: refresh}, v, 200)
	}
	assert.Nil(t, check(`"-->r_1001"`, false))
	c.Username = "ab12"
	assert.Nil(t, check(`"-->r_AB12"`, false), "ids compare case-insensitively")
	e := check(`"-->R_ab12"`, false)
	require.NotNil(t, e, "the prefix is exact")
	c.Username = "1001"

	e = check(`"-->c_1001"`, false)
	require.NotNil(t, e)
	assert.Equal(t, CodeMalformedResponse, e.Code)
	assert.Equal(t, "userName is not the username sent: want prefix -->r_ (rep), got -->c_ (customer)", e.Message)
	e = check(`"1001"`, false)
	require.NotNil(t, e)
	assert.Contains(t, e.Message, "got no prefix")
	e = check(`"-->r_1002"`, false)
	require.NotNil(t, e)
	assert.NotContains(t, e.Message, "1002", "the received name is not echoed")
	assert.Contains(t, e.Message, "-->r_")
	e = check(`"-->r_10011"`, false)
	require.NotNil(t, e, "a longer id is not ours")

	require.NotNil(t, check("<absent>", false), "a grant answer must name the user")
	assert.Nil(t, check("<absent>", true), "a refresh answer may omit it")
	assert.Nil(t, check("null", true))
	require.NotNil(t, check(`"-->c_1001"`, true), "but is checked when present")
	require.NotNil(t, check(`1001`, false))
}

func TestByDesignFormRetryOnce(t *testing.T) {
	s := bdSession(t, nil)
	st := nextS(s, bdNow)
	require.Equal(t, StepRequest, st.Kind)
	assert.Equal(t, "application/json", st.Request.Header["Content-Type"])

	st = feedS(s, bdNow, bdResp(400, `{"error":"unsupported_grant_type"}`))
	require.Equal(t, StepRequest, st.Kind, "resent in the same Feed")
	assert.Equal(t, "application/x-www-form-urlencoded", st.Request.Header["Content-Type"])
	assert.True(t, strings.HasPrefix(st.Request.Body, "grant_type=password&username=--%3Er_1001&"))
	assert.Equal(t, "form", s.Config().Encoding, "the session stays on forms")

	st = feedS(s, bdNow, bdResp(400, `{"error":"unsupported_grant_type"}`))
	require.Equal(t, StepError, st.Kind, "only once")
	assert.Equal(t, CodeUnsupportedGrantType, st.Err.Code)
	assert.False(t, st.Err.Retryable)

	st = nextS(s, bdNow+1)
	require.Equal(t, StepRequest, st.Kind)
	assert.Equal(t, "application/x-www-form-urlencoded", st.Request.Header["Content-Type"], "no JSON try first")
}

func TestByDesignNoRetryWhenNotJSONOr400(t *testing.T) {
	// Already a form: the server really does not know the grant.
	s := bdSession(t, func(c *Config) { c.Encoding = "form" })
	nextS(s, bdNow)
	st := feedS(s, bdNow, bdResp(400, `{"error":"unsupported_grant_type"}`))
	require.Equal(t, StepError, st.Kind)
	assert.Equal(t, CodeUnsupportedGrantType, st.Err.Code)

	// Not OWIN's 400: no guessing.
	s = bdSession(t, nil)
	nextS(s, bdNow)
	st = feedS(s, bdNow, bdResp(200, `{"error":"unsupported_grant_type"}`))
	require.Equal(t, StepError, st.Kind)
	assert.Equal(t, "json", s.Config().Encoding)

	// Other errors to a JSON request are final as they are.
	s = bdSession(t, nil)
	nextS(s, bdNow)
	st = feedS(s, bdNow, bdResp(400, `{"error":"invalid_client"}`))
	require.Equal(t, StepError, st.Kind)
	assert.Equal(t, CodeInvalidClient, st.Err.Code)
	assert.Equal(t, "json", s.Config().Encoding)
}

func TestByDesignRefreshRetriedAsForm(t *testing.T) {
	s := bdSession(t, nil)
	nextS(s, bdNow)
	st := feedS(s, bdNow, bdResp(200, bdRepBody))
	require.Equal(t, StepToken, st.Kind)

	stale := st.Token.RefreshAt
	st = nextS(s, stale)
	require.Equal(t, StepRequest, st.Kind)
	assert.Contains(t, st.Request.Body, `"grant_type":"refresh_token"`)
	st = feedS(s, stale, bdResp(400, `{"error":"unsupported_grant_type"}`))
	require.Equal(t, StepRequest, st.Kind)
	assert.Equal(t, "grant_type=refresh_token&refresh_token="+bdRT+"&client_id=ByDesignAngularJSShoppingCart", st.Request.Body,
		"the refresh keeps being a refresh when resent")

	// The form refresh refused as well: a refresh failure falls back to a
	// password grant, as a form.
	st = feedS(s, stale, bdResp(400, `{"error":"unsupported_grant_type"}`))
	require.Equal(t, StepRequest, st.Kind)
	assert.True(t, strings.HasPrefix(st.Request.Body, "grant_type=password&"))
}

func TestByDesignRefreshRotation(t *testing.T) {
	s := bdSession(t, nil)
	nextS(s, bdNow)
	st := feedS(s, bdNow, bdResp(200, bdRepBody))
	require.Equal(t, StepToken, st.Kind)
	assert.Equal(t, int64(bdNow+172799), st.Token.ExpiresAt)
	assert.Equal(t, int64(1650029864), st.Token.IssuedAt)

	at := st.Token.RefreshAt
	nextS(s, at)
	st = feedS(s, at, bdResp(200, `{"access_token":"newAT0123456789","token_type":"bearer","expires_in":"3600","refresh_token":"newRT0123456789"}`))
	require.Equal(t, StepToken, st.Kind)
	assert.True(t, st.Changed)
	assert.Equal(t, "newRT0123456789", st.Token.RefreshToken)
	assert.Equal(t, at+3600, st.Token.ExpiresAt)
	assert.Equal(t, "Bearer newAT0123456789", st.Token.Attach.Value)
	assert.Equal(t, "-->r_1001", st.Token.Extra["userName"], "profile kept from the grant")

	// A refresh answer without refresh_token keeps the one we hold.
	at = st.Token.RefreshAt
	nextS(s, at)
	st = feedS(s, at, bdResp(200, `{"access_token":"newerAT0123456789","expires_in":3600}`))
	require.Equal(t, StepToken, st.Kind)
	assert.Equal(t, "newRT0123456789", st.Token.RefreshToken)
}

func TestByDesignParseDetails(t *testing.T) {
	c := bdConfig()
	require.NoError(t, c.validate())
	x := &parseCtx{rd: &redactor{}}
	x.rd.add(bdPassword)
	parse := func(status int, body string) (Token, *Error) {
		r := bdResp(status, body)
		return byDesign{}.parse(&c, exchange{}, &r, bdNow, x)
	}

	tok, e := parse(200, bdRepBody)
	require.Nil(t, e)
	assert.Equal(t, bdAT, tok.AccessToken)
	assert.Equal(t, "bearer", tok.TokenType)
	assert.Len(t, tok.Extra, 8)
	assert.Equal(t, "False", tok.Extra["hasReciprocalID"])
	assert.Equal(t, "ByDesignAngularJSShoppingCart", tok.Extra["as:client_id"])
	_, inExtra := tok.Extra["access_token"]
	assert.False(t, inExtra)

	// Non-string profile fields are skipped, not fatal.
	tok, e = parse(200, strings.Replace(bdRepBody, `"userTypeID":"1"`, `"userTypeID":1`, 1))
	require.Nil(t, e)
	_, ok := tok.Extra["userTypeID"]
	assert.False(t, ok)
	assert.Len(t, tok.Extra, 7)

	// An unparseable .issued is ignored (the session stamps now).
	tok, e = parse(200, strings.Replace(bdRepBody, `"Fri, 15 Apr 2022 13:37:44 GMT"`, `"yesterday"`, 1))
	require.Nil(t, e)
	assert.Zero(t, tok.IssuedAt)
	assert.NotContains(t, tok.Extra, ".issued")

	// expires_in wins over .expires; null expires_in falls back to .expires.
	noEI := strings.Replace(bdRepBody, `"expires_in":172799`, `"expires_in":null`, 1)
	r := bdResp(200, noEI)
	tok, e = byDesign{}.parse(&c, exchange{}, &r, 1650029864, x)
	require.Nil(t, e)
	assert.Equal(t, int64(1650202664), tok.ExpiresAt)
	_, e = parse(200, strings.Replace(noEI, `".expires":"Sun, 17 Apr 2022 13:37:44 GMT"`, `".expires":1650202664`, 1))
	require.NotNil(t, e)
	assert.Equal(t, "field .expires is not a string", e.Message)
	_, e = parse(200, strings.Replace(noEI, `".expires":"Sun, 17 Apr 2022 13:37:44 GMT"`, `".expires":"soon"`, 1))
	require.NotNil(t, e)
	assert.Equal(t, "field .expires is not an RFC 1123 date", e.Message)

	// An empty "error" on a 200 is no error (x/oauth2 checks for non-empty).
	_, e = parse(200, strings.Replace(bdRepBody, `{`, `{"error":"",`, 1))
	assert.Nil(t, e)
	_, e = parse(200, strings.Replace(bdRepBody, `{`, `{"error":7,`, 1))
	require.NotNil(t, e)
	assert.Equal(t, CodeMalformedResponse, e.Code)

	// Other OAuth error values map through oauthCode.
	for in, want := range map[string]string{"invalid_client": CodeInvalidClient, "unauthorized_client": CodeUnauthorizedClient,
		"access_denied": CodeUnauthorizedClient, "temporarily_unavailable": CodeServerError, "bogus": CodeInvalidRequest} {
		_, e = parse(400, `{"error":"`+in+`"}`)
		require.NotNil(t, e)
		assert.Equal(t, want, e.Code, in)
	}
	_, e = parse(503, `{"error":"server_error"}`)
	require.NotNil(t, e)
	assert.True(t, e.Retryable)
	_, e = parse(400, `{"message":"bad"}`)
	require.NotNil(t, e)
	assert.Equal(t, CodeInvalidRequest, e.Code, "a 4xx JSON body without error is a plain HTTP error")

	// Duplicates of any field we read are refused, not only access_token.
	_, e = parse(200, strings.Replace(bdRepBody, `{`, `{"userName":"-->r_1001",`, 1))
	require.NotNil(t, e)
	assert.Equal(t, "field userName appears more than once", e.Message)

	// A duplicate in a 5xx answer stays a retryable server error.
	_, e = parse(503, `{"error":"server_error","error":"x"}`)
	require.NotNil(t, e)
	assert.Equal(t, CodeServerError, e.Code)
	assert.True(t, e.Retryable)

	// Header injection through the token.
	_, e = parse(200, strings.Replace(bdRepBody, bdAT, `abc\u000d\u000aSet-Cookie: x=1`, 1))
	require.NotNil(t, e)
	assert.Contains(t, e.Message, "not allowed in an HTTP header")
}

func TestByDesignErrorsLeakNothing(t *testing.T) {
	c := bdConfig()
	require.NoError(t, c.validate())
	x := &parseCtx{rd: &redactor{}}
	x.rd.add(bdPassword)
	bodies := []string{
		// A server echoing the short token it issued into the description.
		`{"error":"invalid_grant","error_description":"token tok123 revoked","access_token":"tok123","refresh_token":"rtk987"}`,
		`{"error":"invalid_grant","error_description":"user -->r_1001 password examplepassword wrong"}`,
		`{"error":"rtk987","refresh_token":"rtk987"}`,
		`<html><body>examplepassword</body></html>`,
		`{"access_token":"tok123","userName":"-->c_1001","expires_in":1}`,
	}
	for _, b := range bodies {
		for _, st := range []int{200, 400, 500} {
			r := bdResp(st, b)
			_, e := byDesign{}.parse(&c, exchange{}, &r, bdNow, x)
			if e == nil {
				continue
			}
			for _, bad := range []string{bdPassword, "tok123", "rtk987"} {
				assert.NotContains(t, e.Error(), bad, "status %d body %s", st, b)
			}
		}
	}
}

func TestByDesignDateMatchesTimeParse(t *testing.T) {
	const layout = "Mon, 02 Jan 2006 15:04:05 GMT"
	for n := int64(0); n < 4102444800; n += 86400*17 + 3607 {
		s := time.Unix(n, 0).UTC().Format(layout)
		got, ok := imfFixdate(s)
		require.True(t, ok, s)
		require.Equal(t, n, got, s)
	}
	for _, s := range []string{
		"Sun, 17 Apr 2022 13:37:44 GMT", "Mon, 17 Apr 2022 13:37:44 GMT", // the weekday is only checked for syntax
		"Tue, 29 Feb 2000 00:00:00 GMT", "Tue, 29 Feb 2100 00:00:00 GMT", "Sun, 30 Feb 2022 13:37:44 GMT",
		"Sun, 31 Apr 2022 13:37:44 GMT", "Sun, 17 Apr 2022 24:00:00 GMT", "Sun, 17 Apr 2022 13:60:44 GMT",
		"Sun, 17 Apr 2022 13:37:60 GMT", "Xyz, 17 Apr 2022 13:37:44 GMT", "onT, 17 Apr 2022 13:37:44 GMT",
		"Sun, 17 apr 2022 13:37:44 GMT", "Sun, 17 Apx 2022 13:37:44 GMT", "Sun, 1a Apr 2022 13:37:44 GMT",
		"Sun, 00 Apr 2022 13:37:44 GMT", "Sun, 17 Apr 1969 13:37:44 GMT", "Sun, 17 Apr 2022 13:37:44 UTC",
		"Sun, 17 Apr 2022 13:37:44 +0000", "Sunday, 17-Apr-22 13:37:44 GMT", "Sun Apr 17 13:37:44 2022", "",
	} {
		want, wok := parseHTTPDate(s)
		if tm, err := time.Parse(time.RFC1123, s); err == nil && strings.HasSuffix(s, " GMT") {
			assert.True(t, wok, s)
			assert.Equal(t, tm.Unix(), want, s)
		}
		if fast, ok := imfFixdate(s); ok {
			assert.True(t, wok, "fast path accepted what the general path refuses: %s", s)
			assert.Equal(t, want, fast, s)
		}
	}
}

func TestByDesignAttach(t *testing.T) {
	c := bdConfig()
	a := byDesign{}.attach(&c, &Token{AccessToken: "abc"})
	assert.Equal(t, Attach{In: "header", Name: "Authorization", Value: "Bearer abc"}, a)
}

var bdCodes = map[string]bool{
	CodeConfig: true, CodeInvalidRequest: true, CodeInvalidClient: true, CodeUnauthorizedClient: true,
	CodeInvalidGrant: true, CodeUnsupportedGrantType: true, CodeInvalidToken: true, CodeQuotaExceeded: true,
	CodeServerError: true, CodeMalformedResponse: true, CodeNetwork: true, CodeUsage: true,
}

func FuzzByDesignParse(f *testing.F) {
	seeds := []string{
		bdRepBody,
		strings.Replace(bdRepBody, `"expires_in":172799,`, ``, 1),
		strings.Replace(bdRepBody, `"-->r_1001"`, `"-->c_1001"`, 1),
		`{"error":"invalid_grant","error_description":"The user name or password is incorrect."}`,
		`{"error":"unsupported_grant_type"}`,
		`{"access_token":"a","access_token":"b"}`,
		`{"access_token":null,"expires_in":"abc"}`,
		`{"access_token":"tok123","expires_in":99999999999,"userName":"-->r_1001"}`,
		`{"access_token":"tok123","expires_in":1e30,"userName":"-->r_1001"}`,
		"\ufeff" + bdRepBody,
		`<!DOCTYPE html><html><title>502 Bad Gateway</title></html>`,
		bdRepBody[:200],
		``, `[]`, `null`, `"x"`, "Sun, 17 Apr 2022 13:37:44 GMT",
	}
	for _, s := range seeds {
		for _, st := range []int{200, 400, 429, 502} {
			f.Add(uint16(st), []byte(s), false)
		}
		f.Add(uint16(200), []byte(s), true)
	}
	c := bdConfig()
	if err := c.validate(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte, refresh bool) {
		x := &parseCtx{rd: &redactor{}}
		x.rd.add(c.secrets()...)
		r := Response{Status: int(status%500) + 100, Body: body, Header: map[string]string{"Retry-After": "5"}}
		if n, ok := imfFixdate(string(body)); ok {
			if tm, err := time.Parse(time.RFC1123, string(body)); err != nil || tm.Unix() != n {
				t.Fatalf("date fast path %d differs from time.Parse (%v, %v)", n, tm, err)
			}
		}
		tok, e := byDesign{}.parse(&c, exchange{refresh: refresh}, &r, bdNow, x)
		if e == nil {
			if tok.AccessToken == "" {
				t.Fatal("success without an access token")
			}
			if tok.ExpiresAt <= bdNow || tok.ExpiresAt-bdNow > maxLifetime {
				t.Fatalf("expiry %d out of range", tok.ExpiresAt)
			}
			return
		}
		if !bdCodes[e.Code] {
			t.Fatalf("code %q outside the closed set", e.Code)
		}
		msg := e.Error()
		if strings.Contains(msg, bdPassword) {
			t.Fatalf("password in error: %q", msg)
		}
		var p fastjson.Parser
		v, err := p.ParseBytes(trimBOM(body))
		if err != nil || v.Type() != fastjson.TypeObject {
			return
		}
		o, _ := v.Object()
		o.Visit(func(k []byte, fv *fastjson.Value) {
			if string(k) != "access_token" && string(k) != "refresh_token" {
				return
			}
			if b, err := fv.StringBytes(); err == nil && len(b) >= 6 && strings.Contains(msg, string(b)) {
				t.Fatalf("issued %s in error: %q", k, msg)
			}
		})
	})
}

func BenchmarkByDesignBuild(b *testing.B) {
	c := bdConfig()
	if err := c.validate(); err != nil {
		b.Fatal(err)
	}
	p := byDesign{}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.request(&c, exchange{}, nil)
	}
}

func BenchmarkByDesignParse(b *testing.B) {
	c := bdConfig()
	if err := c.validate(); err != nil {
		b.Fatal(err)
	}
	x := &parseCtx{rd: &redactor{}}
	bench := func(name string, ex exchange, body string) {
		r := bdResp(200, body)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, e := (byDesign{}).parse(&c, ex, &r, bdNow, x); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
	bench("seed", exchange{}, bdRepBody)
	bench("refresh", exchange{refresh: true}, `{"access_token":"`+bdAT+`","token_type":"bearer","expires_in":172799,"refresh_token":"`+bdRT+`"}`)
}

// OWIN's non-standard invalid_clientId is the client's fault, whatever its
// case; a 429 carrying it stays a retryable quota error.
func TestByDesignInvalidClientID(t *testing.T) {
	c := bdConfig()
	require.NoError(t, c.validate())
	x := &parseCtx{rd: &redactor{}}
	for _, tc := range []struct {
		status    int
		body      string
		code      string
		retryable bool
	}{
		{400, `{"error":"invalid_clientId","error_description":"Client 'Other' is not registered in the system."}`, CodeInvalidClient, false},
		{400, `{"error":"invalid_clientid","error_description":"ClientId should be sent."}`, CodeInvalidClient, false},
		{200, `{"error":"invalid_clientId"}`, CodeInvalidClient, false},
		{400, `{"error":"invalid_client_id"}`, CodeInvalidRequest, false},
		{429, `{"error":"invalid_clientId"}`, CodeQuotaExceeded, true},
	} {
		r := bdResp(tc.status, tc.body)
		_, e := byDesign{}.parse(&c, exchange{}, &r, bdNow, x)
		require.NotNil(t, e, tc.body)
		assert.Equal(t, tc.code, e.Code, tc.body)
		assert.Equal(t, tc.retryable, e.Retryable, tc.body)
	}
}
