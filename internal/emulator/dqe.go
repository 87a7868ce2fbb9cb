package emulator

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DQERenewWindow is how long after issue a DQE token pair may be renewed
// through /oauth/ACCESS_TOKEN/ ("valid at most 10 minutes").
const DQERenewWindow = 10 * time.Minute

type dqeToken struct {
	refresh string
	issued  time.Time
	exp     time.Time
}

// dqeState keeps every issued token: the grant is client-credentials, and
// nothing on DQE's pages says a new token voids the older ones.
type dqeState struct {
	tokens  map[string]dqeToken // by access token
	credits int                 // <0: unlimited
}

func newDQEState() dqeState { return dqeState{tokens: map[string]dqeToken{}, credits: -1} }

// DQE error kinds, each with its current-page answer (plain text) and its
// older-page error_id/error_type.
type dqeErr struct {
	status int
	text   string
	id     string
	typ    string
}

var (
	dqeInvalidRequest   = dqeErr{http.StatusBadRequest, "Invalid Request", "01", "invalid request"}
	dqeInvalidClient    = dqeErr{http.StatusBadRequest, "Invalid Client", "22", "unauthorized client"}
	dqeInvalidSecret    = dqeErr{http.StatusBadRequest, "Invalid Client", "03", "invalid client secret"}
	dqeBadGrantType     = dqeErr{http.StatusBadRequest, "Invalid Request", "31", "unsupported grant type"}
	dqeInvalidToken     = dqeErr{http.StatusUnauthorized, "Invalid Token", "30", "invalid or expired token"}
	dqeCreditsExhausted = dqeErr{http.StatusPaymentRequired, "Credits Exhausted", "98", "credits exhausted"}
	// The current page documents a bare 500 for a misspelt parameter name;
	// the older style has no such case, so it reports an invalid request.
	dqeUnknownParam = dqeErr{http.StatusInternalServerError, "Internal Server Error", "01", "invalid request"}
)

func (s *Server) routeDQE(mux *http.ServeMux) {
	tok := s.tokenEndpoint(DQEIDMobile, s.dqeToken)
	mux.HandleFunc("GET /dqe/ACCESS_TOKEN/{$}", tok)
	mux.HandleFunc("POST /dqe/ACCESS_TOKEN/{$}", tok)
	renew := s.tokenEndpoint(DQEIDMobile, s.dqeRenew)
	mux.HandleFunc("GET /dqe/oauth/ACCESS_TOKEN/{$}", renew)
	mux.HandleFunc("POST /dqe/oauth/ACCESS_TOKEN/{$}", renew)
	mux.HandleFunc("GET /dqe/IDMOBILE/{$}", s.dqeIDMobile)
	mux.HandleFunc("POST /dqe/IDMOBILE/{$}", s.dqeIDMobile)
}

// SetDQECredits limits how many IDMOBILE calls succeed before DQE answers
// "credits exhausted" (error_id 98); n < 0 means unlimited, the default.
func (s *Server) SetDQECredits(n int) {
	s.mu.Lock()
	s.dqe.credits = n
	s.mu.Unlock()
}

// dqeParams reads the query (GET) or the form body (POST); the query of a
// POST is read too, as PHP's $_REQUEST would.
func dqeParams(r *http.Request) (url.Values, bool) {
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	return r.Form, true
}

func (s *Server) dqeFail(w http.ResponseWriter, e dqeErr) {
	s.mu.Lock()
	legacy := s.DQELegacyErrors
	s.mu.Unlock()
	if legacy {
		// [inferred] the older API answered errors in the body of a 200.
		var o jobj
		o.str("status", "error").str("error_id", e.id).str("error_type", e.typ)
		writeJSON(w, http.StatusOK, o.String())
		return
	}
	writeText(w, e.status, e.text)
}

func (s *Server) dqeToken(w http.ResponseWriter, r *http.Request) {
	p, ok := dqeParams(r)
	if !ok {
		s.dqeFail(w, dqeInvalidRequest)
		return
	}
	for k := range p {
		switch k {
		case "licence", "client_secret", "grant_type":
		default:
			s.dqeFail(w, dqeUnknownParam)
			return
		}
	}
	licence, secret, grant := p.Get("licence"), p.Get("client_secret"), p.Get("grant_type")
	switch {
	case licence == "" || secret == "" || grant == "":
		s.dqeFail(w, dqeInvalidRequest)
	case grant != "client_idmobile":
		s.dqeFail(w, dqeBadGrantType)
	case licence != DQELicence:
		s.dqeFail(w, dqeInvalidClient)
	case secret != DQEClientSecret:
		s.dqeFail(w, dqeInvalidSecret)
	default:
		s.dqeIssue(w)
	}
}

// dqeIssue registers and answers a new token pair. expires_in is a string,
// as on DQE's page; the older page's "status":"success" is added in legacy
// mode.
func (s *Server) dqeIssue(w http.ResponseWriter) {
	now := s.now()
	life := s.lifetime(DQEIDMobile, DQETokenLifetime)
	access := "TK" + lowerHex(23)
	refresh := "*TK" + lowerHex(24)
	s.mu.Lock()
	s.dqe.tokens[access] = dqeToken{refresh: refresh, issued: now, exp: now.Add(life)}
	legacy := s.DQELegacyErrors
	s.mu.Unlock()
	var o jobj
	if legacy {
		o.str("status", "success")
	}
	o.str("access_token", access).str("token_type", "Bearer").
		str("expires_in", strconv.FormatInt(int64(life/time.Second), 10)).
		str("refresh_token", refresh)
	writeJSON(w, http.StatusOK, o.String())
}

// dqeRenew is DQE's general OAuth2 renewal: the old pair, within
// DQERenewWindow of issue, buys a new pair and is voided.
func (s *Server) dqeRenew(w http.ResponseWriter, r *http.Request) {
	p, ok := dqeParams(r)
	if !ok || p.Get("access_token") == "" || p.Get("refresh_token") == "" || p.Get("scope") != "refresh_token" {
		s.dqeFail(w, dqeInvalidRequest)
		return
	}
	now := s.now()
	s.mu.Lock()
	t, found := s.dqe.tokens[p.Get("access_token")]
	valid := found && t.refresh == p.Get("refresh_token") && now.Before(t.issued.Add(DQERenewWindow))
	if valid {
		delete(s.dqe.tokens, p.Get("access_token"))
	}
	s.mu.Unlock()
	if !valid {
		s.dqeFail(w, dqeInvalidToken)
		return
	}
	s.dqeIssue(w)
}

// dqeIDMobile stands for every IDMOBILE service: it needs token and licence
// as parameters, never a header, whatever token_type says.
func (s *Server) dqeIDMobile(w http.ResponseWriter, r *http.Request) {
	p, ok := dqeParams(r)
	if !ok || p.Get("token") == "" || p.Get("licence") == "" {
		s.dqeFail(w, dqeInvalidRequest)
		return
	}
	now := s.now()
	s.mu.Lock()
	t, found := s.dqe.tokens[p.Get("token")]
	valid := found && p.Get("licence") == DQELicence && now.Before(t.exp)
	exhausted := valid && s.dqe.credits == 0
	if valid && s.dqe.credits > 0 {
		s.dqe.credits--
	}
	s.mu.Unlock()
	switch {
	case !valid:
		s.dqeFail(w, dqeInvalidToken)
	case exhausted:
		s.dqeFail(w, dqeCreditsExhausted)
	default:
		var o jobj
		o.str("status", "success").str("number", p.Get("number")).str("valid", "1").str("carrier", "DEMO MOBILE")
		writeJSON(w, http.StatusOK, o.String())
	}
}

func lowerHex(n int) string {
	b := []byte(randHex(n))
	for i, c := range b {
		if c >= 'A' && c <= 'F' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
