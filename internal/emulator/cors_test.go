package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// preflight sends what a browser sends before a cross-origin POST with a
// JSON body and a token header.
func preflight(t *testing.T, u, origin, method, headers string) reply {
	t.Helper()
	hdr := []string{"Origin", origin, "Access-Control-Request-Method", method}
	if headers != "" {
		hdr = append(hdr, "Access-Control-Request-Headers", headers)
	}
	return do(t, http.MethodOptions, u, "", "", hdr...)
}

var loopbackOrigins = []string{
	"http://localhost:8080",
	"http://127.0.0.1:5173",
	"http://[::1]:3000",
	"http://localhost",
}

// Origins a browser may send that are not loopback, or are dressed up to
// look like it.
var foreignOrigins = []string{
	"http://example.com",
	"https://localhost:8080", // http only: the demo and the tests serve plain http
	"http://localhost.example.com:8080",
	"http://127.0.0.1.nip.io",
	"http://127.0.0.2:8080",
	"http://user@localhost:8080",
	"http://localhost:8080/path",
	"http://localhost:80a",
	"null",
	"file://",
}

func TestCORSPreflightLoopback(t *testing.T) {
	s := start(t, Options{})
	for _, origin := range loopbackOrigins {
		t.Run(origin, func(t *testing.T) {
			for _, p := range Providers {
				r := preflight(t, s.BaseURL(p)+"/anything", origin, "POST", "Content-Type, Token,authorization")
				assert.Equal(t, http.StatusNoContent, r.status, p)
				assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"), p)
				assert.Equal(t, "GET, POST", r.header.Get("Access-Control-Allow-Methods"), p)
				assert.Equal(t, "content-type,token,authorization", r.header.Get("Access-Control-Allow-Headers"), p)
				assert.Equal(t, "600", r.header.Get("Access-Control-Max-Age"), p)
				assert.Contains(t, r.header.Values("Vary"), "Origin", p)
				assert.Empty(t, r.body, p)
			}
		})
	}
	// A preflight is not a token request: a client's retry counting and the
	// fault queue see only the real ones.
	for _, p := range Providers {
		assert.Zero(t, s.TokenRequests(p), p)
	}
}

func TestCORSPreflightDoesNotConsumeFaults(t *testing.T) {
	s := start(t, Options{})
	s.Inject(ByDesign, Fault{Status: 503, RetryAfter: "3"})
	r := preflight(t, s.BaseURL(ByDesign)+"/token", "http://localhost:8080", "POST", "content-type")
	require.Equal(t, http.StatusNoContent, r.status)
	r = do(t, "POST", s.BaseURL(ByDesign)+"/token", "application/x-www-form-urlencoded",
		"grant_type=password&username=1001&password=x&client_id="+ByDesignClientID, "Origin", "http://localhost:8080")
	assert.Equal(t, 503, r.status, "the fault applies to the request after the preflight")
	assert.Equal(t, 1, s.TokenRequests(ByDesign))
}

// A browser only lets a page read an answer that names its origin, and only
// the headers Access-Control-Expose-Headers lists beyond the safelisted ones:
// both must be on error answers too, or a client sees a 503 as a CORS
// failure and cannot honour its Retry-After.
func TestCORSActualRequestExposesRetryAfter(t *testing.T) {
	s := start(t, Options{})
	const origin = "http://127.0.0.1:8123"
	s.Inject(DQEIDMobile, Fault{Status: 503, RetryAfter: "7"})
	r := do(t, "POST", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/", "application/x-www-form-urlencoded",
		"licence="+DQELicence+"&client_secret="+DQEClientSecret+"&grant_type=client_idmobile", "Origin", origin)
	require.Equal(t, 503, r.status)
	assert.Equal(t, "7", r.header.Get("Retry-After"))
	assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Retry-After", r.header.Get("Access-Control-Expose-Headers"))
	assert.Contains(t, r.header.Values("Vary"), "Origin")

	r = do(t, "POST", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/", "application/x-www-form-urlencoded",
		"licence="+DQELicence+"&client_secret="+DQEClientSecret+"&grant_type=client_idmobile", "Origin", origin)
	require.Equal(t, 200, r.status, r.body)
	assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
	tok, _ := r.json(t)["access_token"].(string)
	require.NotEmpty(t, tok)

	// The protected resource answers CORS as well: the page makes the
	// vendor's next call itself.
	r = do(t, "GET", s.BaseURL(DQEIDMobile)+"/IDMOBILE/?number=%2B33600000000&token="+tok+"&licence="+DQELicence, "", "", "Origin", origin)
	assert.Equal(t, 200, r.status, r.body)
	assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
}

func TestCORSRefusesForeignOrigins(t *testing.T) {
	s := start(t, Options{})
	for _, origin := range foreignOrigins {
		t.Run(origin, func(t *testing.T) {
			r := preflight(t, s.BaseURL(CRMCOM)+"/authentication/consumer_application_key/token", origin, "POST", "content-type,authorization")
			assert.Equal(t, http.StatusForbidden, r.status)
			assertNoCORS(t, r)
			assert.Contains(t, r.header.Values("Vary"), "Origin")

			// The actual request is still answered (a server cannot stop a
			// simple request from being sent), but without the headers a
			// browser needs to hand the answer to the page.
			r = do(t, "POST", s.BaseURL(CRMCOM)+"/authentication/consumer_application_key/token", "application/json",
				`{"authentication_code":"`+CRMAuthCode+`"}`, "Origin", origin, "Authorization", "Basic "+CRMKey)
			assertNoCORS(t, r)
		})
	}
}

func TestCORSWithoutOrigin(t *testing.T) {
	s := start(t, Options{})
	form := url.Values{"grant_type": {"password"}, "username": {"-->r_" + ByDesignRepID}, "password": {ByDesignPassword}, "client_id": {ByDesignClientID}}
	r := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, form.Encode())
	require.Equal(t, 200, r.status, r.body)
	assertNoCORS(t, r)
	assert.Empty(t, r.header.Values("Vary"))

	// An OPTIONS that is not a preflight is left to the routes (which answer
	// only GET and POST).
	r = do(t, http.MethodOptions, s.BaseURL(ByDesign)+"/token", "", "")
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
}

func TestCORSPreflightMalformedHeaderList(t *testing.T) {
	s := start(t, Options{})
	for _, list := range []string{"content-type, bad header", "x:y", "a(b", strings.Repeat("x-long,", 200)} {
		r := preflight(t, s.BaseURL(MoversConnect)+"/mobiletoken", "http://localhost:8080", "POST", list)
		assert.Equal(t, http.StatusBadRequest, r.status, "%q", list)
		assert.Empty(t, r.header.Get("Access-Control-Allow-Headers"), "%q", list)
	}
	// An empty list is no list.
	r := preflight(t, s.BaseURL(MoversConnect)+"/mobiletoken", "http://localhost:8080", "GET", "")
	assert.Equal(t, http.StatusNoContent, r.status)
	assert.Empty(t, r.header.Get("Access-Control-Allow-Headers"))
}

func TestCORSPrivateNetworkPreflight(t *testing.T) {
	s := start(t, Options{})
	r := do(t, http.MethodOptions, s.BaseURL(ByDesign)+"/token", "", "",
		"Origin", "http://localhost:8080", "Access-Control-Request-Method", "POST", "Access-Control-Request-Private-Network", "true")
	assert.Equal(t, http.StatusNoContent, r.status)
	assert.Equal(t, "true", r.header.Get("Access-Control-Allow-Private-Network"))
	r = do(t, http.MethodOptions, s.BaseURL(ByDesign)+"/token", "", "",
		"Origin", "http://example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Private-Network", "true")
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Empty(t, r.header.Get("Access-Control-Allow-Private-Network"))
}

func TestLoopbackOrigin(t *testing.T) {
	for _, o := range loopbackOrigins {
		assert.True(t, loopbackOrigin(o), o)
	}
	for _, o := range foreignOrigins {
		assert.False(t, loopbackOrigin(o), o)
	}
	assert.False(t, loopbackOrigin("http://localhost:"+strings.Repeat("1", 80)))
}

func assertNoCORS(t *testing.T, r reply) {
	t.Helper()
	for k := range r.header {
		assert.False(t, strings.HasPrefix(strings.ToLower(k), "access-control-"), "unexpected %s: %s", k, r.header.Get(k))
	}
}
