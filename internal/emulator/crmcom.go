package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// CRMSigningSecret signs the emulator's CRM.COM tokens (HS256). It is public
// on purpose: tests may verify signatures, and nothing real is protected.
const CRMSigningSecret = "tokensmith-emulator-crmcom-hs256-secret"

// CRM.COM status codes of the emulator [inferred: CRM.COM documents none but
// "OK"; clients must only rely on code != "OK"].
const (
	CRMStatusOK                 = "OK"
	CRMStatusAuthFailed         = "AUTHENTICATION_FAILED"
	CRMStatusInvalidRequest     = "INVALID_REQUEST"
	CRMStatusInvalidCredentials = "INVALID_CREDENTIALS"
	CRMStatusInvalidToken       = "INVALID_TOKEN"
)

type crmState struct {
	tokens map[string]time.Time // token -> expiry
}

func newCRMState() crmState { return crmState{tokens: map[string]time.Time{}} }

type crmRequest struct {
	AccessTokenIdentifier *struct {
		AuthenticationCode string `json:"authentication_code"`
		Identifier         string `json:"identifier"`
		PassCode           string `json:"pass_code"`
	} `json:"access_token_identifier"`
	Unit         string `json:"unit"`
	JWT          string `json:"jwt"`
	Organisation string `json:"organisation"`
}

const crmPrefix = "/crmcom/crmapi/rest/v2"

func (s *Server) routeCRM(mux *http.ServeMux) {
	mux.HandleFunc("POST "+crmPrefix+"/authentication/consumer_application_key/token", s.tokenEndpoint(CRMCOM, s.crmToken))
	mux.HandleFunc("GET "+crmPrefix+"/contacts/contact_information/show", s.crmShow)
	mux.HandleFunc("POST "+crmPrefix+"/contacts/contact_information/show", s.crmShow)
}

// crmAnswer writes CRM.COM's envelope; every answer is JSON, errors too.
func crmAnswer(w http.ResponseWriter, status int, data, code, message string) {
	var st jobj
	st.str("code", code).str("description", message).str("message", message)
	var o jobj
	if data == "" {
		o.null("data")
	} else {
		o.raw("data", data)
	}
	o.raw("status", st.String())
	writeJSON(w, status, o.String())
}

func (s *Server) crmToken(w http.ResponseWriter, r *http.Request) {
	// A key, when sent, must be right even where it is optional (JWT).
	user, pass, hasBasic := r.BasicAuth()
	keyOK := hasBasic && user == CRMKey && pass == ""
	if (hasBasic && !keyOK) || (!hasBasic && r.Header.Get("Authorization") != "") {
		crmAnswer(w, http.StatusUnauthorized, "", CRMStatusAuthFailed, "The consumer application key is invalid")
		return
	}
	var req crmRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		crmAnswer(w, http.StatusBadRequest, "", CRMStatusInvalidRequest, "The request body is not valid JSON")
		return
	}
	unit := req.Unit
	if unit == "" {
		unit = CRMUnit
	}
	var usr, org string
	switch {
	case req.JWT != "":
		if req.AccessTokenIdentifier != nil {
			crmAnswer(w, http.StatusBadRequest, "", CRMStatusInvalidRequest, "jwt and access_token_identifier are mutually exclusive")
			return
		}
		if req.Organisation == "" {
			crmAnswer(w, http.StatusBadRequest, "", CRMStatusInvalidRequest, "organisation is mandatory with jwt")
			return
		}
		if req.JWT != CRMJWT || req.Organisation != CRMOrganisation {
			crmAnswer(w, http.StatusOK, "", CRMStatusInvalidCredentials, "The jwt or organisation is invalid")
			return
		}
		usr, org = "demo.consumer", CRMOrganisation
	case req.AccessTokenIdentifier != nil:
		if !keyOK {
			crmAnswer(w, http.StatusUnauthorized, "", CRMStatusAuthFailed, "The consumer application key is mandatory")
			return
		}
		a := req.AccessTokenIdentifier
		var good bool
		switch {
		case a.Identifier != "":
			if a.PassCode == "" {
				crmAnswer(w, http.StatusBadRequest, "", CRMStatusInvalidRequest, "pass_code is mandatory with identifier")
				return
			}
			good = a.Identifier == CRMIdentifier && a.PassCode == CRMPassCode
		case a.AuthenticationCode != "":
			good = a.AuthenticationCode == CRMAuthCode
		default:
			crmAnswer(w, http.StatusBadRequest, "", CRMStatusInvalidRequest, "authentication_code or identifier is mandatory")
			return
		}
		if !good {
			crmAnswer(w, http.StatusOK, "", CRMStatusInvalidCredentials, "The access token identifier is invalid")
			return
		}
		usr, org = "demo.consumer", CRMOrganisation
	default:
		crmAnswer(w, http.StatusBadRequest, "", CRMStatusInvalidRequest, "access_token_identifier or jwt is mandatory")
		return
	}
	now := s.now()
	exp := now.Add(s.lifetime(CRMCOM, CRMTokenLifetime))
	tok := crmJWT(usr, org, unit, now, exp)
	s.mu.Lock()
	s.crm.tokens[tok] = exp
	s.mu.Unlock()
	var d jobj
	d.str("token", tok)
	crmAnswer(w, http.StatusOK, d.String(), CRMStatusOK, "")
}

// crmJWT mints an HS256 token with the claims of CRM.COM's sample, in its
// order; exp and iat are strings of unix seconds, as in the sample.
func crmJWT(usr, org, unit string, iat, exp time.Time) string {
	var c jobj
	c.str("cii", randHex(16)).
		str("usr", usr).
		str("org", org).
		str("ari", randHex(16)).
		str("oun", unit).
		str("exp", strconv.FormatInt(exp.Unix(), 10)).
		str("iat", strconv.FormatInt(iat.Unix(), 10)).
		str("jti", randHex(16))
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`)) + "." + enc.EncodeToString([]byte(c.String()))
	m := hmac.New(sha256.New, []byte(CRMSigningSecret))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// crmShow stands for any CRM.COM call: the token comes as a query parameter
// on GET and as a JSON body field on POST.
func (s *Server) crmShow(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			crmAnswer(w, http.StatusBadRequest, "", CRMStatusInvalidRequest, "The request body is not valid JSON")
			return
		}
		tok = body.Token
	}
	now := s.now()
	s.mu.Lock()
	exp, ok := s.crm.tokens[tok]
	s.mu.Unlock()
	if tok == "" || !ok || !now.Before(exp) {
		crmAnswer(w, http.StatusUnauthorized, "", CRMStatusInvalidToken, "The token is invalid or expired")
		return
	}
	crmAnswer(w, http.StatusOK, `{"first_name":"Demo","last_name":"Consumer","email":"demo.consumer@example.com","phone":"+357 22 000000"}`, CRMStatusOK, "")
}
