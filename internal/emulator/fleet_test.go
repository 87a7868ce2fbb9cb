package emulator

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFleetCountsMovers(t *testing.T) {
	s := start(t, Options{})
	tokenURL := s.BaseURL(MoversConnect) + "/mobiletoken"
	a := do(t, "POST", tokenURL, ctJSON, jsonBody(t, moversPassword()), FleetInstanceHeader, "a").json(t)
	// An XML and a form activation: the grant type is read from every encoding.
	do(t, "POST", tokenURL, ctXML, `<MobileTokenRequest><grant_type>Token</grant_type><token>x</token><client_id>`+MoversClientID+`</client_id><client_secret>`+MoversClientSecret+`</client_secret></MobileTokenRequest>`, FleetInstanceHeader, "b")
	r := do(t, "POST", tokenURL, ctForm, url.Values{"grant_type": {"Token"}, "token": {a["RefreshToken"].(string)}, "client_id": {MoversClientID}, "client_secret": {MoversClientSecret}}.Encode(), FleetInstanceHeader, "a")
	require.Equal(t, 200, r.status, "the body the counter read must still reach the handler: %s", r.body)
	// b logs in: a's token is void; a's next call is refused and counted.
	do(t, "POST", tokenURL, ctJSON, jsonBody(t, moversPassword()), FleetInstanceHeader, "b")
	inquiry := s.BaseURL(MoversConnect) + "/mobileapi/localservicesinquiry"
	assert.Equal(t, 401, do(t, "POST", inquiry, ctJSON, `{}`, "Token", a["Token"].(string), FleetInstanceHeader, "a").status)
	assert.Equal(t, 401, do(t, "POST", inquiry, ctJSON, `{}`, "Token", a["Token"].(string), FleetInstanceHeader, "a").status)

	c := s.Fleet(MoversConnect)
	assert.Equal(t, 2, c.Grants)
	assert.Equal(t, 2, c.Renewals)
	assert.Equal(t, map[string]int{"a": 1, "b": 1}, c.GrantsBy)
	assert.Equal(t, map[string]int{"a": 1, "b": 1}, c.RenewalsBy)
	assert.Equal(t, map[string]int{"a": 2}, c.Refused)
	assert.Equal(t, 4, s.TokenRequests(MoversConnect), "the emulator's own count agrees")
	assert.Zero(t, s.Fleet(ByDesign).Grants, "counts are per provider")

	s.Reset()
	assert.Zero(t, s.Fleet(MoversConnect).Grants)
}

func TestFleetCountsOthers(t *testing.T) {
	s := start(t, Options{})
	q := url.Values{"licence": {DQELicence}, "client_secret": {DQEClientSecret}, "grant_type": {"client_idmobile"}}
	m := do(t, "POST", s.BaseURL(DQEIDMobile)+"/ACCESS_TOKEN/", ctForm, q.Encode()).json(t)
	renew := url.Values{"access_token": {m["access_token"].(string)}, "refresh_token": {m["refresh_token"].(string)}, "scope": {"refresh_token"}}
	do(t, "POST", s.BaseURL(DQEIDMobile)+"/oauth/ACCESS_TOKEN/", ctForm, renew.Encode())
	assert.Equal(t, FleetCounts{Grants: 1, Renewals: 1, GrantsBy: map[string]int{"": 1}, RenewalsBy: map[string]int{"": 1}, Refused: map[string]int{}}, s.Fleet(DQEIDMobile))

	b := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctJSON, bydJSON(t, "-->r_"+ByDesignRepID, ByDesignPassword)).json(t)
	r := do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {b["refresh_token"].(string)}, "client_id": {ByDesignClientID}}.Encode())
	require.Equal(t, 200, r.status, r.body)
	n := r.json(t)
	assert.Equal(t, 200, bydProfile(t, s, n["access_token"].(string)))
	s.VoidAccessTokens(ByDesign)
	assert.Equal(t, 401, bydProfile(t, s, n["access_token"].(string)), "voided")
	r = do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {n["refresh_token"].(string)}, "client_id": {ByDesignClientID}}.Encode())
	require.Equal(t, 200, r.status, "VoidAccessTokens keeps refresh tokens: %s", r.body)
	n = r.json(t)
	s.VoidTokens(ByDesign)
	assert.Equal(t, 401, bydProfile(t, s, n["access_token"].(string)), "voided")
	c := s.Fleet(ByDesign)
	assert.Equal(t, 1, c.Grants)
	assert.Equal(t, 2, c.Renewals)
	assert.Equal(t, map[string]int{"": 2}, c.Refused)
	// VoidTokens keeps the users: a new login works.
	assert.Equal(t, 200, do(t, "POST", s.BaseURL(ByDesign)+"/token", ctForm, bydForm("-->r_"+ByDesignRepID, ByDesignPassword)).status)
}

func TestVoidTokensMovers(t *testing.T) {
	s := start(t, Options{})
	a := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversPassword())).json(t)
	require.Equal(t, 200, moversInquiry(t, s, a["Token"].(string)))
	s.VoidTokens(MoversConnect)
	assert.Equal(t, 401, moversInquiry(t, s, a["Token"].(string)))
	r := do(t, "POST", s.BaseURL(MoversConnect)+"/mobiletoken", ctJSON, jsonBody(t, moversActivate(a["RefreshToken"].(string))))
	assert.Equal(t, 401, r.status, "the refresh token is void too")
}
