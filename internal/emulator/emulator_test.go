package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock lets tests move the emulator's time without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2022, 4, 15, 13, 37, 44, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s := New(opts)
	require.NoError(t, s.Start(""))
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &m), "body: %s", r.body)
	return m
}

var client = &http.Client{Timeout: 5 * time.Second}

func do(t *testing.T, method, u, ctype, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

const (
	ctJSON = "application/json"
	ctForm = "application/x-www-form-urlencoded"
	ctXML  = "application/xml"
)

func jsonBody(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// ---- general ----

func TestURLsAndConfig(t *testing.T) {
	s := start(t, Options{})
	assert.True(t, strings.HasPrefix(s.URL(), "http://127.0.0.1:"))
	assert.Equal(t, s.URL()+"/moversconnect", s.BaseURL(MoversConnect))
	assert.Equal(t, s.URL()+"/dqe", s.BaseURL(DQEIDMobile))
	assert.Equal(t, s.URL()+"/bydesign/Acme", s.BaseURL(ByDesign))
	assert.Equal(t, s.URL()+"/crmcom/crmapi/rest/v2", s.BaseURL(CRMCOM))
	assert.Empty(t, s.BaseURL("nope"))
	assert.Empty(t, s.Config("nope"))
	for _, p := range Providers {
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(s.Config(p)), &m), p)
		assert.Equal(t, p, m["provider"])
		assert.Equal(t, s.BaseURL(p), m["base_url"])
	}
	assert.LessOrEqual(t, len(MoversCompanyID), 15)
	assert.Equal(t, "1001", ByDesignRepID)
	assert.Equal(t, "1146820", ByDesignCustomerID)
	assert.Equal(t, "ByDesignAngularJSShoppingCart", ByDesignClientID)
	assert.Equal(t, "EE73C0AE64524371B5DDEFF5F7BB2192", CRMKey)
}

func TestStartTwiceAndCloseTwice(t *testing.T) {
	s := New(Options{})
	require.NoError(t, s.Start(""))
	assert.Error(t, s.Start(""))
	assert.NoError(t, s.Close())
	assert.NoError(t, s.Close())
	assert.Error(t, s.Start(""))
}

func TestResetClearsState(t *testing.T) {
	s := start(t, Options{})
	s.Inject(DQEIDMobile, Fault{Status: 503})
	tok := dqeGetToken(t, s)
	assert.Equal(t, 2, s.TokenRequests(DQEIDMobile))
	s.Reset()
	assert.Equal(t, 0, s.TokenRequests(DQEIDMobile))
	r := do(t, "GET", s.BaseURL(DQEIDMobile)+"/IDMOBILE/?"+url.Values{"token": {tok}, "licence": {DQELicence}}.Encode(), "", "")
	assert.Equal(t, 401, r.status, "tokens are forgotten")
}

// ---- moversconnect ----

func moversPassword() map[string]string {
	return map[string]string{
		"grant_type": "Password", "company_id": MoversCompanyID, "username": MoversUsername,
		"password": MoversPassword, "client_id": MoversClientID, "client_secret": MoversClientSecret,
	}
}

func moversActivate(tok string) map[string]string {
	return map[string]string{"grant_type": "Token", "token": tok, "client_id": MoversClientID, "client_secret": MoversClientSecret}
}

func moversInquiry(t *testing.T, s *Server, tok string) int {
	return do(t, "POST", s.BaseURL(MoversConnect)+"/mobileapi/localservicesinquiry", ctJSON, `{}`, "Token", tok).status
}

func TestMoversPasswordGrantJSON(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	r := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversPassword()))
	require.Equal(t, 200, r.status, r.body)
	assert.Regexp(t, `^\{"RefreshExpires":\d+,"RefreshToken":"[0-9A-F]{32}","Token":"[0-9A-F]{32}","TokenExpires":\d+\}$`, r.body)
	m := r.json(t)
	assert.EqualValues(t, clk.Now().Add(90*24*time.Hour).Unix(), m["RefreshExpires"])
	assert.EqualValues(t, clk.Now().Add(3*24*time.Hour).Unix(), m["TokenExpires"])
	assert.Equal(t, 200, moversInquiry(t, s, m["Token"].(string)))
	assert.Equal(t, 401, moversInquiry(t, s, "nope"))
	assert.Equal(t, 401, do(t, "POST", s.BaseURL(MoversConnect)+"/mobileapi/localservicesinquiry", ctJSON, `{}`).status)
	clk.Add(3 * 24 * time.Hour)
	assert.Equal(t, 401, moversInquiry(t, s, m["Token"].(string)), "expired")
	assert.Equal(t, 1, s.TokenRequests(MoversConnect))
}

func TestMoversFormAndXML(t *testing.T) {
	s := start(t, Options{})
	form := url.Values{}
	for k, v := range moversPassword() {
		form.Set(k, v)
	}
	r := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctForm, form.Encode())
	require.Equal(t, 200, r.status, r.body)
	assert.NotEmpty(t, r.json(t)["Token"])

	x := "<MobileTokenRequest>"
	for _, k := range []string{"grant_type", "company_id", "username", "password", "client_id", "client_secret"} {
		x += "<" + k + ">" + moversPassword()[k] + "</" + k + ">"
	}
	x += "</MobileTokenRequest>"
	r = do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctXML, x)
	require.Equal(t, 200, r.status, r.body)
	assert.Contains(t, r.header.Get("Content-Type"), "application/xml")
	var resp struct {
		RefreshExpires int64
		RefreshToken   string
		Token          string
		TokenExpires   int64
	}
	require.NoError(t, xml.Unmarshal([]byte(r.body), &resp), r.body)
	assert.Len(t, resp.Token, 32)
	assert.Len(t, resp.RefreshToken, 32)
	assert.Positive(t, resp.TokenExpires)

	// Activation in XML: nulls become i:nil elements.
	a := "<MobileTokenRequest><grant_type>Token</grant_type><token>" + resp.RefreshToken +
		"</token><client_id>CrewConnect</client_id><client_secret>" + MoversClientSecret + "</client_secret></MobileTokenRequest>"
	r = do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctXML, a)
	require.Equal(t, 200, r.status, r.body)
	assert.Contains(t, r.body, `<RefreshToken i:nil="true"/>`)
	assert.Contains(t, r.body, `<Token i:nil="true"/>`)

	// Accept wins over Content-Type.
	r = do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversPassword()), "Accept", "application/xml")
	assert.True(t, strings.HasPrefix(r.body, "<MobileTokenResponse"), r.body)
	// XML errors.
	r = do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctXML, "<MobileTokenRequest><grant_type>Password")
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "<Error><ErrorCode>400</ErrorCode><ProcessingMessage>Invalid request</ProcessingMessage></Error>", r.body)
}

func TestMoversPasswordGrantVoidsEarlierTokens(t *testing.T) {
	s := start(t, Options{})
	first := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversPassword())).json(t)
	second := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversPassword())).json(t)
	assert.NotEqual(t, first["Token"], second["Token"])
	assert.Equal(t, 401, moversInquiry(t, s, first["Token"].(string)))
	assert.Equal(t, 200, moversInquiry(t, s, second["Token"].(string)))
	r := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversActivate(first["RefreshToken"].(string))))
	assert.Equal(t, 401, r.status)
	assert.JSONEq(t, `{"ErrorCode":401,"ProcessingMessage":"Invalid token"}`, r.body)
}

func TestMoversActivationNullsAndExtends(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	m := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversPassword())).json(t)
	tok, rt := m["Token"].(string), m["RefreshToken"].(string)
	clk.Add(2 * 24 * time.Hour)
	r := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversActivate(rt)))
	require.Equal(t, 200, r.status, r.body)
	assert.Regexp(t, `^\{"RefreshExpires":\d+,"RefreshToken":null,"Token":null,"TokenExpires":\d+\}$`, r.body)
	a := r.json(t)
	assert.EqualValues(t, clk.Now().Add(90*24*time.Hour).Unix(), a["TokenExpires"], "extended 90 days from the activation")
	assert.Equal(t, m["RefreshExpires"], a["RefreshExpires"], "the spent refresh token's expiry is reported unchanged")
	clk.Add(5 * 24 * time.Hour) // past the original 3 days
	assert.Equal(t, 200, moversInquiry(t, s, tok), "the old token lives on with the new expiry")

	// The activation was a "RefreshToken" grant: the refresh token it used is
	// void, but the token it extended is not.
	r = do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversActivate(rt)))
	assert.Equal(t, 401, r.status)
	assert.JSONEq(t, `{"ErrorCode":401,"ProcessingMessage":"Invalid token"}`, r.body)
	assert.Equal(t, 200, moversInquiry(t, s, tok), "a refused activation does not void the token")
	clk.Add(85*24*time.Hour - time.Second)
	assert.Equal(t, 200, moversInquiry(t, s, tok), "alive until 90 days after the activation")
	clk.Add(time.Second)
	assert.Equal(t, 401, moversInquiry(t, s, tok), "expired 90 days after the activation")
}

func TestMoversErrors(t *testing.T) {
	s := start(t, Options{})
	u := s.BaseURL(MoversConnect) + "/mobiletoken"
	bad := moversPassword()
	bad["password"] = "wrong"
	r := do(t, "POST", u, ctJSON, jsonBody(t, bad))
	assert.Equal(t, 401, r.status)
	assert.JSONEq(t, `{"ErrorCode":401,"ProcessingMessage":"Invalid credentials"}`, r.body)

	long := moversPassword()
	long["company_id"] = strings.Repeat("X", 16)
	assert.Equal(t, 400, do(t, "POST", u, ctJSON, jsonBody(t, long)).status)
	// 15 characters in 30 bytes is within the limit: only the credentials are wrong.
	wide := moversPassword()
	wide["company_id"] = strings.Repeat("é", 15)
	assert.Equal(t, 401, do(t, "POST", u, ctJSON, jsonBody(t, wide)).status)

	sec := moversPassword()
	sec["client_secret"] = "00000000000000000000000000000000"
	assert.Equal(t, 401, do(t, "POST", u, ctJSON, jsonBody(t, sec)).status)

	r = do(t, "POST", u, ctJSON, `{"grant_type":`)
	assert.Equal(t, 400, r.status)
	assert.JSONEq(t, `{"ErrorCode":400,"ProcessingMessage":"Invalid request"}`, r.body)

	assert.Equal(t, 400, do(t, "POST", u, "text/plain", "hi").status)
	r = do(t, "POST", u, ctJSON, jsonBody(t, moversActivate("unknown")))
	assert.Equal(t, 401, r.status)
	assert.JSONEq(t, `{"ErrorCode":401,"ProcessingMessage":"Invalid token"}`, r.body)
	g := moversPassword()
	g["grant_type"] = "RefreshToken"
	assert.Equal(t, 400, do(t, "POST", u, ctJSON, jsonBody(t, g)).status)
}

// ---- dqe-idmobile ----

func dqeGetToken(t *testing.T, s *Server) string {
	t.Helper()
	q := url.Values{"licence": {DQELicence}, "client_secret": {DQEClientSecret}, "grant_type": {"client_idmobile"}}
	r := do(t, "GET", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/?"+q.Encode(), "", "")
	if r.status != 200 { // an injected fault: try once more
		r = do(t, "GET", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/?"+q.Encode(), "", "")
	}
	require.Equal(t, 200, r.status, r.body)
	return r.json(t)["access_token"].(string)
}

func TestDQEGetAndPost(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	q := url.Values{"licence": {DQELicence}, "client_secret": {DQEClientSecret}, "grant_type": {"client_idmobile"}}
	for _, method := range []string{"GET", "POST"} {
		var r reply
		if method == "GET" {
			r = do(t, "GET", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/?"+q.Encode(), "", "")
		} else {
			r = do(t, "POST", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/", ctForm, q.Encode())
		}
		require.Equal(t, 200, r.status, r.body)
		assert.Regexp(t, `^\{"access_token":"TK[0-9a-f]+","token_type":"Bearer","expires_in":"300","refresh_token":"\*TK[0-9a-f]+"\}$`, r.body)
		tok := r.json(t)["access_token"].(string)
		svc := url.Values{"number": {"+33600000000"}, "token": {tok}, "licence": {DQELicence}}
		assert.Equal(t, 200, do(t, "GET", s.BaseURL(DQEIDMobile)+"/IDMOBILE/?"+svc.Encode(), "", "").status)
		assert.Equal(t, 200, do(t, "POST", s.BaseURL(DQEIDMobile)+"/IDMOBILE/", ctForm, svc.Encode()).status)
		svc.Set("licence", "1")
		assert.Equal(t, 401, do(t, "GET", s.BaseURL(DQEIDMobile)+"/IDMOBILE/?"+svc.Encode(), "", "").status)
		svc.Set("licence", DQELicence)
		// A header is not how DQE takes the token.
		assert.Equal(t, 400, do(t, "GET", s.BaseURL(DQEIDMobile)+"/IDMOBILE/?number=1", "", "", "Authorization", "Bearer "+tok).status)
		clk.Add(300 * time.Second)
		assert.Equal(t, 401, do(t, "GET", s.BaseURL(DQEIDMobile)+"/IDMOBILE/?"+svc.Encode(), "", "").status, "expired")
	}
	assert.Equal(t, 2, s.TokenRequests(DQEIDMobile))
}

func TestDQEErrors(t *testing.T) {
	s := start(t, Options{})
	base := s.BaseURL(DQEIDMobile) + "/ACCESS_TOKEN/?"
	cases := []struct {
		query  string
		status int
		body   string
	}{
		{"client_secret=abcd&grant_type=client_idmobile", 400, "Invalid Request"},
		{"client_secret=abcd&grant_type=client_idmobile&licence=", 400, "Invalid Request"},
		{"client_secret=abcd&grant_type=client_idmobile&licence=123", 400, "Invalid Client"},
		{"client_secret=wrong&grant_type=client_idmobile&licence=" + DQELicence, 400, "Invalid Client"},
		{"grant_type=client_idmobile&licence=" + DQELicence, 400, "Invalid Request"},
		{"client_secret=&grant_type=client_idmobile&licence=" + DQELicence, 400, "Invalid Request"},
		{"client_secret=abcd&licence=" + DQELicence, 400, "Invalid Request"},
		{"client_secret=abcd&grant_type=password&licence=" + DQELicence, 400, "Invalid Request"},
		{"client_scret=abcd&grant_type=client_idmobile&licence=" + DQELicence, 500, ""},
	}
	for _, c := range cases {
		r := do(t, "GET", base+c.query, "", "")
		assert.Equal(t, c.status, r.status, c.query)
		assert.Contains(t, r.header.Get("Content-Type"), "text/plain", c.query)
		if c.body != "" {
			assert.Equal(t, c.body, r.body, c.query)
		}
	}
	r := do(t, "POST", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/", ctForm, "client_scret=abcd&grant_type=client_idmobile&licence="+DQELicence)
	assert.Equal(t, 500, r.status)
}

func TestDQELegacyErrors(t *testing.T) {
	s := start(t, Options{})
	s.SetDQELegacyErrors(true)
	base := s.BaseURL(DQEIDMobile) + "/ACCESS_TOKEN/?"
	for q, id := range map[string]string{
		"client_secret=abcd&grant_type=client_idmobile":                                   "01",
		"client_secret=abcd&grant_type=client_idmobile&licence=123":                       "22",
		"client_secret=wrong&grant_type=client_idmobile&licence=" + DQELicence:            "03",
		"client_secret=" + DQEClientSecret + "&grant_type=password&licence=" + DQELicence: "31",
	} {
		r := do(t, "GET", base+q, "", "")
		assert.Equal(t, 200, r.status, q)
		assert.Equal(t, map[string]any{"status": "error", "error_id": id, "error_type": map[string]string{
			"01": "invalid request", "22": "unauthorized client", "03": "invalid client secret", "31": "unsupported grant type",
		}[id]}, r.json(t), q)
	}
	r := do(t, "GET", s.BaseURL(DQEIDMobile)+"/IDMOBILE/?token=TKnope&licence="+DQELicence, "", "")
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "30", r.json(t)["error_id"])

	tok := dqeGetToken(t, s)
	s.SetDQECredits(1)
	svc := s.BaseURL(DQEIDMobile) + "/IDMOBILE/?" + url.Values{"token": {tok}, "licence": {DQELicence}}.Encode()
	assert.Equal(t, "success", do(t, "GET", svc, "", "").json(t)["status"])
	assert.Equal(t, "98", do(t, "GET", svc, "", "").json(t)["error_id"])

	s.SetDQELegacyErrors(false)
	assert.Equal(t, 400, do(t, "GET", base+"licence=1", "", "").status)
}

func TestDQERenewal(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	q := url.Values{"licence": {DQELicence}, "client_secret": {DQEClientSecret}, "grant_type": {"client_idmobile"}}
	m := do(t, "POST", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/", ctForm, q.Encode()).json(t)
	renew := url.Values{"access_token": {m["access_token"].(string)}, "refresh_token": {m["refresh_token"].(string)}, "scope": {"refresh_token"}}
	r := do(t, "POST", s.BaseURL(DQEIDMobile)+"/oauth/ACCESS_TOKEN/", ctForm, renew.Encode())
	require.Equal(t, 200, r.status, r.body)
	assert.NotEqual(t, m["access_token"], r.json(t)["access_token"])
	assert.Equal(t, 401, do(t, "POST", s.BaseURL(DQEIDMobile)+"/oauth/ACCESS_TOKEN/", ctForm, renew.Encode()).status, "used up")
	n := r.json(t)
	clk.Add(11 * time.Minute)
	renew = url.Values{"access_token": {n["access_token"].(string)}, "refresh_token": {n["refresh_token"].(string)}, "scope": {"refresh_token"}}
	assert.Equal(t, 401, do(t, "POST", s.BaseURL(DQEIDMobile)+"/oauth/ACCESS_TOKEN/", ctForm, renew.Encode()).status, "too late")
}

// ---- bydesign ----

func bydForm(user, pw string) string {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}, "client_id": {ByDesignClientID}}.Encode()
}

func bydJSON(t *testing.T, user, pw string) string {
	return jsonBody(t, map[string]string{"grant_type": "password", "username": user, "password": pw, "client_id": ByDesignClientID})
}

func bydProfile(t *testing.T, s *Server, tok string) int {
	return do(t, "GET", s.BaseURL(ByDesign)+"/api/user/profile", "", "", "Authorization", "Bearer "+tok).status
}

var bydFields = []string{"access_token", "token_type", "expires_in", "refresh_token", "as:client_id", "userName", "userType",
	"userTypeID", "displayName", "hasReciprocalID", "canEnrollAsRep", "rankTypeID", ".issued", ".expires"}

func TestByDesignPasswordGrant(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	r := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctJSON, bydJSON(t, "-->r_"+ByDesignRepID, ByDesignPassword))
	require.Equal(t, 200, r.status, r.body)
	m := r.json(t)
	for _, f := range bydFields {
		assert.Contains(t, m, f)
	}
	assert.Len(t, m, len(bydFields))
	assert.Equal(t, "bearer", m["token_type"])
	assert.EqualValues(t, 172799, m["expires_in"])
	assert.Equal(t, "-->r_1001", m["userName"])
	assert.Equal(t, "rep", m["userType"])
	assert.Equal(t, "1", m["userTypeID"])
	assert.Equal(t, ByDesignClientID, m["as:client_id"])
	assert.Equal(t, "Fri, 15 Apr 2022 13:37:44 GMT", m[".issued"])
	assert.Equal(t, "Sun, 17 Apr 2022 13:37:44 GMT", m[".expires"])
	assert.Equal(t, 200, bydProfile(t, s, m["access_token"].(string)))
	assert.Equal(t, 401, bydProfile(t, s, "nope"))
	clk.Add(48 * time.Hour)
	assert.Equal(t, 401, bydProfile(t, s, m["access_token"].(string)))

	r = do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->c_"+ByDesignCustomerID, ByDesignPassword))
	require.Equal(t, 200, r.status, r.body)
	m = r.json(t)
	assert.Equal(t, "-->c_1146820", m["userName"])
	assert.Equal(t, "customer", m["userType"])
	assert.Equal(t, "2", m["userTypeID"])
	assert.Equal(t, "", m["rankTypeID"])

	// Another client segment does not exist.
	assert.Equal(t, 404, do(t, "POST", s.URL()+"/bydesign/Other/token", ctForm, bydForm("-->r_1001", ByDesignPassword)).status)
}

func TestByDesignInvalidGrant(t *testing.T) {
	s := start(t, Options{})
	want := `{"error":"invalid_grant","error_description":"The user name or password is incorrect."}`
	for _, c := range [][2]string{
		{"-->c_" + ByDesignRepID, ByDesignPassword},   // wrong prefix
		{ByDesignRepID, ByDesignPassword},             // no prefix
		{"-->r_9999", ByDesignPassword},               // unknown user
		{"-->r_" + ByDesignRepID, "not-the-password"}, // wrong password
	} {
		r := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm(c[0], c[1]))
		assert.Equal(t, 400, r.status, c[0])
		assert.JSONEq(t, want, r.body, c[0])
	}
	r := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, "grant_type=client_credentials&client_id="+ByDesignClientID)
	assert.Equal(t, 400, r.status)
	assert.JSONEq(t, `{"error":"unsupported_grant_type"}`, r.body)
	r = do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, "grant_type=password&username=-->r_1001&password=x&client_id=Other")
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "invalid_clientId", r.json(t)["error"])
}

func TestByDesignFormOnly(t *testing.T) {
	s := start(t, Options{ByDesignFormOnly: true})
	r := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctJSON, bydJSON(t, "-->r_"+ByDesignRepID, ByDesignPassword))
	assert.Equal(t, 400, r.status)
	assert.JSONEq(t, `{"error":"unsupported_grant_type"}`, r.body)
	r = do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->r_"+ByDesignRepID, ByDesignPassword))
	assert.Equal(t, 200, r.status)
	var cfg map[string]string
	require.NoError(t, json.Unmarshal([]byte(s.Config(ByDesign)), &cfg))
	assert.Equal(t, "form", cfg["encoding"])
}

func TestByDesignRefreshRotation(t *testing.T) {
	s := start(t, Options{})
	m := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->r_"+ByDesignRepID, ByDesignPassword)).json(t)
	rt := m["refresh_token"].(string)
	refresh := func(rt string) reply {
		return do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {ByDesignClientID}}.Encode())
	}
	r := refresh(rt)
	require.Equal(t, 200, r.status, r.body)
	n := r.json(t)
	assert.NotEqual(t, m["access_token"], n["access_token"])
	assert.NotEqual(t, rt, n["refresh_token"])
	assert.Equal(t, "-->r_1001", n["userName"])
	assert.Equal(t, 200, bydProfile(t, s, n["access_token"].(string)))
	r = refresh(rt)
	assert.Equal(t, 400, r.status, "old refresh token is spent")
	assert.Equal(t, "invalid_grant", r.json(t)["error"])
	assert.Equal(t, 400, refresh("unknown").status)
	assert.Equal(t, 200, refresh(n["refresh_token"].(string)).status)
}

func TestByDesignPasswordChangeExpiresTokens(t *testing.T) {
	s := start(t, Options{})
	rep := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->r_"+ByDesignRepID, ByDesignPassword)).json(t)
	cust := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->c_"+ByDesignCustomerID, ByDesignPassword)).json(t)
	require.NoError(t, s.ByDesignChangePassword("-->r_"+ByDesignRepID, "N3w-password"))
	assert.Error(t, s.ByDesignChangePassword("nobody", "x"))
	assert.Equal(t, 401, bydProfile(t, s, rep["access_token"].(string)))
	assert.Equal(t, 200, bydProfile(t, s, cust["access_token"].(string)), "other users are untouched")
	r := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rep["refresh_token"].(string)}, "client_id": {ByDesignClientID}}.Encode())
	assert.Equal(t, 400, r.status)
	assert.Equal(t, 400, do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->r_"+ByDesignRepID, ByDesignPassword)).status)
	assert.Equal(t, 200, do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->r_"+ByDesignRepID, "N3w-password")).status)
	s.Reset()
	assert.Equal(t, 200, do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->r_"+ByDesignRepID, ByDesignPassword)).status)
}

// ---- crmcom ----

func crmBasic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

func crmURL(s *Server) string {
	return s.BaseURL(CRMCOM) + "/authentication/consumer_application_key/token"
}

func TestCRMSuccessAndJWT(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	// The vendor's own example header.
	assert.Equal(t, "Basic RUU3M0MwQUU2NDUyNDM3MUI1RERFRkY1RjdCQjIxOTI6", crmBasic(CRMKey))
	r := do(t, "POST", crmURL(s), ctJSON, `{"access_token_identifier":{"authentication_code":"`+CRMAuthCode+`"},"unit":"1"}`,
		"Authorization", crmBasic(CRMKey))
	require.Equal(t, 200, r.status, r.body)
	var env struct {
		Data   struct{ Token string }
		Status struct{ Code, Description, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &env))
	assert.Equal(t, "OK", env.Status.Code)
	assert.Regexp(t, `^\{"data":\{"token":"[^"]+"\},"status":\{"code":"OK","description":"","message":""\}\}$`, r.body)

	parts := strings.Split(env.Data.Token, ".")
	require.Len(t, parts, 3)
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"typ":"JWT","alg":"HS256"}`, string(hdr))
	mac := hmac.New(sha256.New, []byte(CRMSigningSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), parts[2])
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	for _, c := range []string{"cii", "usr", "org", "ari", "oun", "exp", "iat", "jti"} {
		assert.IsType(t, "", claims[c], c)
	}
	iat, _ := strconv.ParseInt(claims["iat"].(string), 10, 64)
	exp, _ := strconv.ParseInt(claims["exp"].(string), 10, 64)
	assert.Equal(t, clk.Now().Unix(), iat)
	assert.EqualValues(t, 7200, exp-iat)
	assert.Equal(t, "1", claims["oun"])

	show := s.BaseURL(CRMCOM) + "/contacts/contact_information/show"
	assert.Equal(t, 200, do(t, "GET", show+"?token="+url.QueryEscape(env.Data.Token), "", "").status)
	assert.Equal(t, 200, do(t, "POST", show, ctJSON, jsonBody(t, map[string]string{"token": env.Data.Token})).status)
	r = do(t, "GET", show+"?token=nope", "", "")
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "INVALID_TOKEN", r.json(t)["status"].(map[string]any)["code"])
	clk.Add(2 * time.Hour)
	assert.Equal(t, 401, do(t, "GET", show+"?token="+url.QueryEscape(env.Data.Token), "", "").status, "expired after two hours")
}

func TestCRMIdentifierAndJWTLogins(t *testing.T) {
	s := start(t, Options{})
	r := do(t, "POST", crmURL(s), ctJSON, jsonBody(t, map[string]any{
		"access_token_identifier": map[string]string{"identifier": CRMIdentifier, "pass_code": CRMPassCode},
	}), "Authorization", crmBasic(CRMKey))
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "OK", r.json(t)["status"].(map[string]any)["code"])
	// JWT + organisation: the key is optional.
	r = do(t, "POST", crmURL(s), ctJSON, jsonBody(t, map[string]string{"jwt": CRMJWT, "organisation": CRMOrganisation}))
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "OK", r.json(t)["status"].(map[string]any)["code"])
}

func TestCRMErrors(t *testing.T) {
	s := start(t, Options{})
	body := `{"access_token_identifier":{"authentication_code":"` + CRMAuthCode + `"}}`
	code := func(r reply) string { return r.json(t)["status"].(map[string]any)["code"].(string) }

	r := do(t, "POST", crmURL(s), ctJSON, body)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "AUTHENTICATION_FAILED", code(r))
	assert.NotEmpty(t, r.json(t)["status"].(map[string]any)["message"])
	r = do(t, "POST", crmURL(s), ctJSON, body, "Authorization", crmBasic("00000000000000000000000000000000"))
	assert.Equal(t, 401, r.status)
	assert.Equal(t, 401, do(t, "POST", crmURL(s), ctJSON, body, "Authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(CRMKey+":secret"))).status, "password must be empty")
	r = do(t, "POST", crmURL(s), ctJSON, `{"jwt":"`+CRMJWT+`","organisation":"`+CRMOrganisation+`"}`, "Authorization", crmBasic("bad"))
	assert.Equal(t, 401, r.status, "a wrong key is wrong even where optional")

	auth := []string{"Authorization", crmBasic(CRMKey)}
	r = do(t, "POST", crmURL(s), ctJSON, `{"access_token_identifier":{"authentication_code":"wrong"}}`, auth...)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "INVALID_CREDENTIALS", code(r))
	assert.Nil(t, r.json(t)["data"])
	r = do(t, "POST", crmURL(s), ctJSON, `{"access_token_identifier":{"identifier":"`+CRMIdentifier+`","pass_code":"0"}}`, auth...)
	assert.Equal(t, "INVALID_CREDENTIALS", code(r))
	r = do(t, "POST", crmURL(s), ctJSON, `{"jwt":"x","organisation":"`+CRMOrganisation+`"}`)
	assert.Equal(t, "INVALID_CREDENTIALS", code(r))

	for _, b := range []string{
		`{`, `{}`, `{"unit":"1"}`,
		`{"access_token_identifier":{}}`,
		`{"access_token_identifier":{"identifier":"` + CRMIdentifier + `"}}`,
		`{"jwt":"` + CRMJWT + `"}`,
		`{"jwt":"` + CRMJWT + `","organisation":"o","access_token_identifier":{"authentication_code":"c"}}`,
	} {
		r = do(t, "POST", crmURL(s), ctJSON, b, auth...)
		assert.Equal(t, 400, r.status, b)
		assert.Equal(t, "INVALID_REQUEST", code(r), b)
	}
}

// ---- faults ----

func TestFaultQueueOrderAndCounting(t *testing.T) {
	s := start(t, Options{})
	s.Inject(ByDesign, Fault{Status: 503, RetryAfter: "2"}, Fault{}, Fault{Status: 429})
	u := s.BaseURL(ByDesign) + "/token"
	f := bydForm("-->r_"+ByDesignRepID, ByDesignPassword)
	r := do(t, "POST", u, ctForm, f)
	assert.Equal(t, 503, r.status)
	assert.Equal(t, "2", r.header.Get("Retry-After"))
	assert.Equal(t, 200, do(t, "POST", u, ctForm, f).status)
	assert.Equal(t, 429, do(t, "POST", u, ctForm, f).status)
	assert.Equal(t, 200, do(t, "POST", u, ctForm, f).status)
	assert.Equal(t, 4, s.TokenRequests(ByDesign))
	assert.Equal(t, 0, s.TokenRequests(MoversConnect), "faults and counters are per provider")
	// Protected resources are not token requests and take no faults.
	s.Inject(ByDesign, Fault{Status: 500})
	assert.Equal(t, 401, bydProfile(t, s, "x"))
	assert.Equal(t, 4, s.TokenRequests(ByDesign))
}

func TestFaultHTML(t *testing.T) {
	s := start(t, Options{})
	s.Inject(CRMCOM, Fault{HTML: true}, Fault{HTML: true, Status: 503})
	r := do(t, "POST", crmURL(s), ctJSON, `{}`)
	assert.Equal(t, 502, r.status)
	assert.Equal(t, "text/html", r.header.Get("Content-Type"))
	assert.Equal(t, `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>`, r.body)
	r = do(t, "POST", crmURL(s), ctJSON, `{}`)
	assert.Equal(t, 503, r.status)
	assert.Contains(t, r.body, "<title>503 Service Unavailable</title>")
}

func TestFaultRetryAfterOnly(t *testing.T) {
	s := start(t, Options{})
	s.Inject(DQEIDMobile, Fault{RetryAfter: "7"})
	q := url.Values{"licence": {DQELicence}, "client_secret": {DQEClientSecret}, "grant_type": {"client_idmobile"}}
	r := do(t, "POST", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/", ctForm, q.Encode())
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "7", r.header.Get("Retry-After"))
}

func TestFaultReset(t *testing.T) {
	s := start(t, Options{})
	s.Inject(MoversConnect, Fault{Reset: true})
	_, err := client.Post(s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, strings.NewReader(jsonBody(t, moversPassword())))
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.ECONNRESET), "want a TCP reset, got %v", err)
	assert.Equal(t, 200, do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversPassword())).status)
	assert.Equal(t, 2, s.TokenRequests(MoversConnect))
}

func TestFaultTruncate(t *testing.T) {
	for _, p := range Providers {
		s := start(t, Options{})
		s.Inject(p, Fault{Truncate: true})
		var resp *http.Response
		var err error
		switch p {
		case DQEIDMobile:
			resp, err = client.Get(s.BaseURL(p) + "/ACCESS_TOKEN/?licence=1")
		case MoversConnect:
			resp, err = client.Post(s.BaseURL(p)+"/mobiletoken", ctJSON, strings.NewReader(`{}`))
		case ByDesign:
			resp, err = client.Post(s.BaseURL(p)+"/token", ctForm, strings.NewReader(`a=b`))
		case CRMCOM:
			resp, err = client.Post(crmURL(s), ctJSON, strings.NewReader(`{}`))
		}
		require.NoError(t, err, p)
		assert.Equal(t, 200, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, p)
		assert.Equal(t, resp.ContentLength/2, int64(len(b)), p)
		assert.True(t, strings.HasPrefix(string(b), "{"), p)
		assert.False(t, json.Valid(b), p)
	}
}

func TestFaultOversize(t *testing.T) {
	s := start(t, Options{})
	s.Inject(ByDesign, Fault{Oversize: true}, Fault{Oversize: true})
	resp, err := client.Post(s.BaseURL(ByDesign)+"/token", ctForm, strings.NewReader(bydForm("-->r_1001", ByDesignPassword)))
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.EqualValues(t, 2<<20, resp.ContentLength)
	// A client with a 1 MiB cap reads cap+1 and gives up.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20+1))
	require.NoError(t, err)
	assert.Len(t, b, 1<<20+1)
	resp.Body.Close()
	// Read in full, the body is valid JSON: only a size cap catches it.
	resp, err = client.Post(s.BaseURL(ByDesign)+"/token", ctForm, strings.NewReader(bydForm("-->r_1001", ByDesignPassword)))
	require.NoError(t, err)
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Len(t, b, OversizeBytes)
	assert.True(t, json.Valid(b))
}

func TestFaultStallClientTimeout(t *testing.T) {
	s := start(t, Options{})
	s.Inject(CRMCOM, Fault{Stall: true})
	c := &http.Client{Timeout: 150 * time.Millisecond}
	t0 := time.Now()
	resp, err := c.Post(crmURL(s), ctJSON, strings.NewReader(`{}`))
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	require.Error(t, err)
	assert.Less(t, time.Since(t0), 2*time.Second)
	// The stalled handler noticed the client leaving: Close does not wait.
	t0 = time.Now()
	require.NoError(t, s.Close())
	assert.Less(t, time.Since(t0), time.Second)
}

func TestFaultStallEndsOnClose(t *testing.T) {
	s := New(Options{})
	require.NoError(t, s.Start(""))
	s.Inject(DQEIDMobile, Fault{Stall: true}, Fault{Delay: time.Hour})
	errs := make(chan error, 2)
	get := func() {
		resp, err := http.Get(s.BaseURL(DQEIDMobile) + "/ACCESS_TOKEN/?licence=1") // no client timeout
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		errs <- err
	}
	go get()
	require.Eventually(t, func() bool { return s.TokenRequests(DQEIDMobile) == 1 }, 2*time.Second, 5*time.Millisecond)
	go get()
	require.Eventually(t, func() bool { return s.TokenRequests(DQEIDMobile) == 2 }, 2*time.Second, 5*time.Millisecond)
	t0 := time.Now()
	require.NoError(t, s.Close())
	assert.Less(t, time.Since(t0), time.Second)
	for range 2 {
		select {
		case err := <-errs:
			assert.Error(t, err)
		case <-time.After(2 * time.Second):
			t.Fatal("client still hanging after Close")
		}
	}
}

func TestFaultDelay(t *testing.T) {
	s := start(t, Options{})
	s.Inject(MoversConnect, Fault{Delay: 80 * time.Millisecond}, Fault{Delay: time.Hour}, Fault{Delay: 50 * time.Millisecond, Status: 503})
	u := s.BaseURL(MoversConnect) + "/mobiletoken"
	t0 := time.Now()
	r := do(t, "POST", u, ctJSON, jsonBody(t, moversPassword()))
	assert.Equal(t, 200, r.status, "the request is handled normally after the delay")
	assert.GreaterOrEqual(t, time.Since(t0), 80*time.Millisecond)

	c := &http.Client{Timeout: 100 * time.Millisecond}
	t0 = time.Now()
	_, err := c.Post(u, ctJSON, strings.NewReader(jsonBody(t, moversPassword())))
	require.Error(t, err)
	assert.Less(t, time.Since(t0), 2*time.Second)

	assert.Equal(t, 503, do(t, "POST", u, ctJSON, jsonBody(t, moversPassword())).status)
	// The hour-long delay ended with its client, so Close is prompt.
	t0 = time.Now()
	require.NoError(t, s.Close())
	assert.Less(t, time.Since(t0), time.Second)
}

func TestConcurrentUse(t *testing.T) {
	s := start(t, Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				s.Inject(DQEIDMobile, Fault{Status: 503})
			}
			q := url.Values{"licence": {DQELicence}, "client_secret": {DQEClientSecret}, "grant_type": {"client_idmobile"}}
			resp, err := client.Get(s.BaseURL(DQEIDMobile) + "/ACCESS_TOKEN/?" + q.Encode())
			if assert.NoError(t, err) {
				resp.Body.Close()
			}
			_ = s.TokenRequests(DQEIDMobile)
			_ = s.Config(DQEIDMobile)
		}()
	}
	wg.Wait()
	assert.Equal(t, 8, s.TokenRequests(DQEIDMobile))
}

func TestHandlerServedElsewhere(t *testing.T) {
	s := New(Options{})
	srv := &http.Server{Handler: s.Handler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = s.Close() })
	s.SetURL("http://" + ln.Addr().String() + "/")
	assert.Equal(t, "http://"+ln.Addr().String()+"/dqe", s.BaseURL(DQEIDMobile))
	assert.NotEmpty(t, dqeGetToken(t, s))
}
