package core_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
)

// The DQE IDMobile quirks (see the comment atop core/dqeidmobile.go), tested
// through the public API. The conformance vectors pin the wire transcript;
// these tests look at what a vector cannot express well: decoded request
// fields, message wording and the absence of secrets in every message.

const (
	dqeNow     = int64(1700000000)
	dqeLicence = "LIC-4711"
	dqeSecret  = "s3cret-pass"
	dqeToken   = "TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA"
	dqeRefresh = "*TK9bdd05f8e9d3c905834bdeqaUlGFll2iRaplll29mZmtkZQ"
)

func dqeConfig(method string) core.Config {
	return core.Config{Provider: core.DQEIDMobile, BaseURL: "https://dqe.example/", Licence: dqeLicence, ClientSecret: dqeSecret, Method: method}
}

func dqeSession(t testing.TB, method string) *core.Session {
	t.Helper()
	s, err := newTestSession(dqeConfig(method))
	require.NoError(t, err)
	return s
}

func dqeOK(expiresIn string) []byte {
	return []byte(`{"access_token":"` + dqeToken + `","token_type":"Bearer","expires_in":` + expiresIn + `,"refresh_token":"` + dqeRefresh + `"}`)
}

// dqeGrant drives one request/response round and returns the resulting step.
func dqeGrant(t *testing.T, s *core.Session, status int, hdr map[string]string, body []byte) core.Step {
	t.Helper()
	st := nextS(s, dqeNow)
	require.Equal(t, core.StepRequest, st.Kind, "Next should ask for a grant")
	return feedS(s, dqeNow, core.Response{Status: status, Header: hdr, Body: body})
}

func TestDQEPostRequestIsAFormWithExactlyThreeFields(t *testing.T) {
	s := dqeSession(t, "")
	assert.Equal(t, "POST", s.Config().Method, "POST is the default")
	st := nextS(s, dqeNow)
	require.Equal(t, core.StepRequest, st.Kind)
	r := st.Request
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "https://dqe.example/ACCESS_TOKEN/", r.URL, "trailing slash of base_url trimmed, endpoint's kept")
	assert.Equal(t, "application/x-www-form-urlencoded", r.Header["Content-Type"])
	q, err := url.ParseQuery(r.Body)
	require.NoError(t, err)
	assert.Equal(t, url.Values{"licence": {dqeLicence}, "client_secret": {dqeSecret}, "grant_type": {"client_idmobile"}}, q)
	assert.NotContains(t, r.URL, dqeSecret, "POST keeps the secret out of the URL")
}

func TestDQEGetRequestKeepsTheSeedsOrderAndEscapes(t *testing.T) {
	c := dqeConfig("get")
	c.ClientSecret = "a b&c=d/é"
	s, err := newTestSession(c)
	require.NoError(t, err)
	st := nextS(s, dqeNow)
	require.Equal(t, core.StepRequest, st.Kind)
	assert.Equal(t, "GET", st.Request.Method)
	assert.Empty(t, st.Request.Body)
	assert.Empty(t, st.Request.Header["Content-Type"])
	u, err := url.Parse(st.Request.URL)
	require.NoError(t, err)
	assert.Equal(t, "/ACCESS_TOKEN/", u.Path)
	assert.Equal(t, url.Values{"licence": {dqeLicence}, "client_secret": {"a b&c=d/é"}, "grant_type": {"client_idmobile"}}, u.Query())
	keys := []string{}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		keys = append(keys, strings.SplitN(kv, "=", 2)[0])
	}
	assert.Equal(t, []string{"client_secret", "grant_type", "licence"}, keys, "the seed's example order")
}

func TestDQESuccessShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		life int64
	}{
		{"documented string", string(dqeOK(`"300"`)), 300},
		{"number", string(dqeOK(`300`)), 300},
		{"padded string", string(dqeOK(`" 300 "`)), 300},
		{"older page", `{"status":"success","access_token":"` + dqeToken + `","token_type":"Bearer","expires_in":"600"}`, 600},
		{"BOM", "\ufeff" + string(dqeOK(`"300"`)), 300},
		{"no token_type, no refresh_token", `{"access_token":"` + dqeToken + `","expires_in":"120"}`, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dqeSession(t, "")
			st := dqeGrant(t, s, 200, nil, []byte(tc.body))
			require.Equal(t, core.StepToken, st.Kind, "%v", st.Err)
			assert.True(t, st.Changed)
			assert.Equal(t, dqeToken, st.Token.AccessToken)
			assert.Equal(t, dqeNow+tc.life, st.Token.ExpiresAt)
			assert.Equal(t, dqeNow, st.Token.IssuedAt)
			assert.Equal(t, core.Fresh, st.Token.StateAt(1000*(dqeNow)))
		})
	}
}

func TestDQETokenGoesAsParametersNotAHeader(t *testing.T) {
	s := dqeSession(t, "")
	st := dqeGrant(t, s, 200, nil, dqeOK(`"300"`))
	require.Equal(t, core.StepToken, st.Kind)
	assert.Equal(t, "Bearer", st.Token.TokenType, "kept as sent, though misleading")
	assert.Equal(t, core.Attach{In: "query", Name: "token", Value: dqeToken, Params: map[string]string{"licence": dqeLicence}}, st.Token.Attach)

	get := core.Request{Method: "GET", URL: "https://dqe.example/IDMOBILE/?number=0612345678"}
	require.NoError(t, st.Token.Apply(&get))
	assert.Empty(t, get.Header["Authorization"])
	u, err := url.Parse(get.URL)
	require.NoError(t, err)
	assert.Equal(t, url.Values{"number": {"0612345678"}, "token": {dqeToken}, "licence": {dqeLicence}}, u.Query())

	post := core.Request{Method: "POST", URL: "https://dqe.example/IDMOBILE/", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: "number=0612345678"}
	require.NoError(t, st.Token.Apply(&post))
	assert.Equal(t, "https://dqe.example/IDMOBILE/", post.URL, "POST: parameters go in the form, not the URL")
	q, err := url.ParseQuery(post.Body)
	require.NoError(t, err)
	assert.Equal(t, url.Values{"number": {"0612345678"}, "token": {dqeToken}, "licence": {dqeLicence}}, q)
}

func TestDQENoRefreshANewGrantInstead(t *testing.T) {
	s := dqeSession(t, "")
	first := dqeGrant(t, s, 200, nil, dqeOK(`"300"`))
	require.Equal(t, core.StepToken, first.Kind)
	require.Equal(t, dqeRefresh, first.Token.RefreshToken, "kept, though never used")

	st := nextS(s, first.Token.RefreshAt)
	require.Equal(t, core.StepRequest, st.Kind)
	q, err := url.ParseQuery(st.Request.Body)
	require.NoError(t, err)
	assert.Equal(t, "client_idmobile", q.Get("grant_type"), "renewal is a new grant")
	assert.NotContains(t, st.Request.Body, "refresh_token")
	assert.NotContains(t, st.Request.URL, "oauth")
}

// dqeErrorCase is one failing answer and what it must become.
type dqeErrorCase struct {
	name       string
	status     int
	hdr        map[string]string
	body       string
	code       string
	retryable  bool
	retryAfter int64
	msgHas     string
}

var dqeErrorCases = []dqeErrorCase{
	{name: "plain invalid request", status: 400, body: "Invalid Request", code: core.CodeInvalidRequest},
	{name: "plain invalid client", status: 400, body: "400 Error (Invalid Client)", code: core.CodeInvalidClient},
	{name: "plain invalid client 401", status: 401, body: "invalid client", code: core.CodeInvalidClient},
	{name: "misspelt parameter 500", status: 500, body: "", code: core.CodeServerError, retryable: true},
	{name: "legacy 01 on 200", status: 200, body: `{"status":"error","error_id":"01","error_type":"invalid request"}`, code: core.CodeInvalidRequest, msgHas: "error_id 01: invalid request"},
	{name: "legacy 03 on 400", status: 400, body: `{"status":"error","error_id":"03","error_type":"invalid client secret"}`, code: core.CodeInvalidClient},
	{name: "legacy 22 as number", status: 200, body: `{"status":"error","error_id":22}`, code: core.CodeUnauthorizedClient, msgHas: "error_id 22"},
	{name: "legacy 1 as number", status: 200, body: `{"status":"error","error_id":1}`, code: core.CodeInvalidRequest, msgHas: "error_id 01"},
	{name: "legacy 30", status: 200, body: `{"status":"error","error_id":"30"}`, code: core.CodeInvalidToken},
	{name: "legacy 31", status: 400, body: `{"status":"error","error_id":"31"}`, code: core.CodeUnsupportedGrantType},
	{name: "legacy 98 credits", status: 200, body: `{"status":"error","error_id":"98","error_type":"credits exhausted"}`, code: core.CodeQuotaExceeded},
	{name: "legacy unknown on 503", status: 503, hdr: map[string]string{"Retry-After": "7"}, body: `{"status":"error","error_id":"77"}`, code: core.CodeServerError, retryable: true, retryAfter: 7},
	{name: "legacy echoing the secret as id", status: 200, body: `{"status":"error","error_id":"` + dqeSecret + `-and-more-text","error_type":"bad ` + dqeLicence + `"}`, code: core.CodeInvalidRequest},
	{name: "html 502", status: 502, body: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>", code: core.CodeServerError, retryable: true, msgHas: "HTTP 502: 502 Bad Gateway 502 Bad Gateway"},
	{name: "html 200", status: 200, body: "<html><body>portal</body></html>", code: core.CodeMalformedResponse, msgHas: "not JSON"},
	{name: "404 hints at base_url", status: 404, body: "Not Found", code: core.CodeInvalidRequest, msgHas: "base_url"},
	{name: "429 seconds", status: 429, hdr: map[string]string{"Retry-After": "3"}, body: "slow", code: core.CodeQuotaExceeded, retryable: true, retryAfter: 3},
	{name: "429 date", status: 429, hdr: map[string]string{"retry-after": "Tue, 14 Nov 2023 22:15:20 GMT"}, code: core.CodeQuotaExceeded, retryable: true, retryAfter: 120},
	{name: "truncated", status: 200, body: `{"access_token":"` + dqeToken + `","expires_in":"3`, code: core.CodeMalformedResponse},
	{name: "empty 200", status: 200, body: "", code: core.CodeMalformedResponse, msgHas: "empty"},
	{name: "array", status: 200, body: `[1]`, code: core.CodeMalformedResponse, msgHas: "not an object"},
	{name: "token number", status: 200, body: `{"access_token":1,"expires_in":"300"}`, code: core.CodeMalformedResponse, msgHas: "access_token"},
	{name: "token missing", status: 200, body: `{"expires_in":"300"}`, code: core.CodeMalformedResponse, msgHas: "access_token missing"},
	{name: "duplicate token", status: 200, body: `{"access_token":"a` + dqeToken + `","access_token":"b` + dqeToken + `","expires_in":"300"}`, code: core.CodeMalformedResponse, msgHas: "2 times"},
	{name: "expires_in -5", status: 200, body: string(dqeOK(`"-5"`)), code: core.CodeMalformedResponse, msgHas: "not positive"},
	{name: "expires_in abc", status: 200, body: string(dqeOK(`"abc"`)), code: core.CodeMalformedResponse, msgHas: "whole number"},
	{name: "expires_in 1e3", status: 200, body: string(dqeOK(`"1e3"`)), code: core.CodeMalformedResponse},
	{name: "expires_in 0", status: 200, body: string(dqeOK(`0`)), code: core.CodeMalformedResponse},
	{name: "expires_in > 10 years", status: 200, body: string(dqeOK(`"99999999999"`)), code: core.CodeMalformedResponse, msgHas: "ten years"},
	{name: "expires_in null", status: 200, body: string(dqeOK(`null`)), code: core.CodeMalformedResponse, msgHas: "expires_in missing"},
	{name: "expires_in missing", status: 200, body: `{"access_token":"` + dqeToken + `"}`, code: core.CodeMalformedResponse, msgHas: "expires_in missing"},
	{name: "oversized 200", status: 200, body: string(dqeOK(`"300"`)) + strings.Repeat(" ", core.MaxBodyBytes), code: core.CodeMalformedResponse, msgHas: "1 MiB"},
	{name: "echoed secret in plain 400", status: 400, body: "Invalid Client: licence=" + dqeLicence + "&client_secret=" + dqeSecret, code: core.CodeInvalidClient},
	{name: "bad status", status: 1000, body: "", code: core.CodeMalformedResponse},
}

func TestDQEErrors(t *testing.T) {
	for _, tc := range dqeErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			s := dqeSession(t, "")
			st := dqeGrant(t, s, tc.status, tc.hdr, []byte(tc.body))
			require.Equal(t, core.StepError, st.Kind)
			e := st.Err
			assert.Equal(t, tc.code, e.Code, e.Message)
			assert.Equal(t, tc.retryable, e.Retryable)
			assert.Equal(t, tc.retryAfter, e.RetryAfter)
			if tc.msgHas != "" {
				assert.Contains(t, e.Message, tc.msgHas)
			}
			assert.NotContains(t, e.Message, "<", "HTML stripped")
			assert.LessOrEqual(t, len(e.Message), 260, "messages stay short")
			for _, out := range []string{e.Error(), e.Message, string(st.MarshalWire()), fmt.Sprintf("%v %+v %#v", e, e, *e)} {
				for _, secret := range []string{dqeSecret, dqeLicence, dqeToken} {
					assert.NotContains(t, out, secret)
				}
				assert.NotContains(t, out, dqeSecret[:8], "not even a clipped prefix of the secret")
			}
			_, held := s.Token()
			assert.False(t, held, "an error stores nothing")
			// Hold-off: until retry_at_ms the same error comes back with no
			// request; from then on the next call asks again.
			require.Greater(t, e.RetryAtMs, dqeNow*1000, "retry_at_ms is set")
			if again := nextS(s, dqeNow); assert.Equal(t, core.StepError, again.Kind, "within the hold-off") {
				assert.Equal(t, e.Code, again.Err.Code)
			}
			assert.Equal(t, core.StepRequest, nextS(s, e.RetryAtMs/1000+1).Kind, "after the hold-off the next call asks again")
		})
	}
}

func TestDQEErrorDoesNotDropAHeldToken(t *testing.T) {
	s := dqeSession(t, "")
	first := dqeGrant(t, s, 200, nil, dqeOK(`"300"`))
	require.Equal(t, core.StepToken, first.Kind)
	st := nextS(s, first.Token.RefreshAt)
	require.Equal(t, core.StepRequest, st.Kind)
	st = feedS(s, first.Token.RefreshAt, core.Response{Status: 503})
	require.Equal(t, core.StepError, st.Kind)
	tok, ok := s.Token()
	require.True(t, ok)
	assert.Equal(t, dqeToken, tok.AccessToken, "the stale token stays usable after a failed renewal")
	assert.Equal(t, core.Stale, tok.StateAt(1000*(first.Token.RefreshAt)))
}

func TestDQEConfig(t *testing.T) {
	for _, tc := range []struct {
		name, json, field string
	}{
		{"missing licence", `{"provider":"dqe-idmobile","base_url":"https://x.example","client_secret":"s"}`, "licence"},
		{"missing secret", `{"provider":"dqe-idmobile","base_url":"https://x.example","licence":"l"}`, "client_secret"},
		{"PUT", `{"provider":"dqe-idmobile","base_url":"https://x.example","licence":"l","client_secret":"s","method":"PUT"}`, "method"},
		{"http elsewhere", `{"provider":"dqe-idmobile","base_url":"http://x.example","licence":"l","client_secret":"s"}`, "base_url"},
		{"license", `{"provider":"dqe-idmobile","base_url":"https://x.example","license":"l","client_secret":"s"}`, "license"},
		{"company_id", `{"provider":"dqe-idmobile","base_url":"https://x.example","licence":"l","client_secret":"s","company_id":"c"}`, "company_id"},
		{"licence as number", `{"provider":"dqe-idmobile","base_url":"https://x.example","licence":4711,"client_secret":"s"}`, "licence"},
		{"licence twice", `{"provider":"dqe-idmobile","base_url":"https://x.example","licence":"a","licence":"b","client_secret":"s"}`, "licence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.ParseConfig([]byte(tc.json))
			require.Error(t, err)
			var ce *core.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, core.CodeConfig, ce.Code)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
	for _, base := range []string{"http://127.0.0.1:8080", "http://localhost:1234/x", "http://[::1]:9000", "https://dqe.example"} {
		c, err := core.ParseConfig([]byte(`{"provider":"dqe-idmobile","base_url":"` + base + `","licence":"l","client_secret":"s"}`))
		require.NoError(t, err, base)
		assert.Equal(t, "POST", c.Method)
	}
}
