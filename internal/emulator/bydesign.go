package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ByDesignRefreshLifetime is how long a ByDesign refresh token lives
// [inferred: undocumented; OWIN samples use days to weeks].
const ByDesignRefreshLifetime = 14 * 24 * time.Hour

const (
	bydRepPrefix      = "-->r_"
	bydCustomerPrefix = "-->c_"
)

type bydUser struct {
	userType, userTypeID, displayName, rankTypeID string
	password                                      string
}

type bydGrant struct {
	user     string // key in bydState.users, e.g. "-->r_1001"
	clientID string
	exp      time.Time
}

type bydState struct {
	users   map[string]*bydUser // by prefixed user name
	access  map[string]bydGrant
	refresh map[string]bydGrant
}

func newBydState() bydState {
	return bydState{
		users: map[string]*bydUser{
			bydRepPrefix + ByDesignRepID:           {"rep", "1", "Demo Rep", "10", ByDesignPassword},
			bydCustomerPrefix + ByDesignCustomerID: {"customer", "2", "Demo Customer", "", ByDesignPassword},
		},
		access:  map[string]bydGrant{},
		refresh: map[string]bydGrant{},
	}
}

func (s *Server) routeByDesign(mux *http.ServeMux) {
	mux.HandleFunc("POST /bydesign/{client}/token", s.tokenEndpoint(ByDesign, s.bydToken))
	mux.HandleFunc("GET /bydesign/{client}/api/user/profile", s.bydProfile)
}

// ByDesignChangePassword sets a demo user's password and, as ByDesign does,
// expires every token and refresh token issued to that user before. user is
// the prefixed name ("-->r_1001") or a bare id, which matches both types.
func (s *Server) ByDesignChangePassword(user, newPassword string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	if _, ok := s.byd.users[user]; ok {
		keys = append(keys, user)
	} else {
		for _, p := range []string{bydRepPrefix, bydCustomerPrefix} {
			if _, ok := s.byd.users[p+user]; ok {
				keys = append(keys, p+user)
			}
		}
	}
	if len(keys) == 0 {
		return errors.New("emulator: no ByDesign user " + strconv.Quote(user))
	}
	for _, k := range keys {
		s.byd.users[k].password = newPassword
		for t, g := range s.byd.access {
			if g.user == k {
				delete(s.byd.access, t)
			}
		}
		for t, g := range s.byd.refresh {
			if g.user == k {
				delete(s.byd.refresh, t)
			}
		}
	}
	return nil
}

// bydParams reads the token request the way the server is configured to:
// real OWIN reads only form bodies, so with ByDesignFormOnly anything else
// looks like a request without grant_type.
func (s *Server) bydParams(r *http.Request) (url.Values, bool) {
	ct := mediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			return nil, false
		}
		return r.PostForm, true
	}
	if s.opts.ByDesignFormOnly || ct != "application/json" {
		return url.Values{}, true
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		return nil, false
	}
	v := url.Values{}
	for k, x := range m {
		if str, ok := x.(string); ok {
			v.Set(k, str)
		}
	}
	return v, true
}

func bydError(w http.ResponseWriter, code, desc string) {
	var o jobj
	o.str("error", code)
	if desc != "" {
		o.str("error_description", desc)
	}
	writeJSON(w, http.StatusBadRequest, o.String())
}

func (s *Server) bydToken(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("client") != ByDesignClient {
		http.NotFound(w, r)
		return
	}
	p, ok := s.bydParams(r)
	if !ok {
		bydError(w, "invalid_request", "")
		return
	}
	grant := p.Get("grant_type")
	if grant != "password" && grant != "refresh_token" {
		bydError(w, "unsupported_grant_type", "")
		return
	}
	// [inferred] "as:client_id" in the answer is the mark of the widely
	// copied OWIN sample, whose client check answers invalid_clientId.
	clientID := p.Get("client_id")
	if clientID == "" {
		bydError(w, "invalid_clientId", "ClientId should be sent.")
		return
	}
	if clientID != ByDesignClientID {
		bydError(w, "invalid_clientId", "Client '"+clientID+"' is not registered in the system.")
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var userKey string
	if grant == "password" {
		userKey = p.Get("username")
		u, ok := s.byd.users[userKey]
		if !ok || p.Get("password") != u.password {
			bydError(w, "invalid_grant", "The user name or password is incorrect.")
			return
		}
	} else {
		rt := p.Get("refresh_token")
		g, ok := s.byd.refresh[rt]
		if !ok || !now.Before(g.exp) {
			bydError(w, "invalid_grant", "")
			return
		}
		if g.clientID != clientID {
			bydError(w, "invalid_clientId", "Refresh token is issued to a different clientId.")
			return
		}
		delete(s.byd.refresh, rt) // rotation: each refresh token works once
		userKey = g.user
	}
	s.bydIssueLocked(w, userKey, clientID, now)
}

// bydIssueLocked answers the full OWIN token body. expires_in is one second
// short of the lifetime because OWIN truncates the remaining seconds after
// computing .expires, which is why the vendor's examples say 172799.
func (s *Server) bydIssueLocked(w http.ResponseWriter, userKey, clientID string, now time.Time) {
	u := s.byd.users[userKey]
	life := s.lifetime(ByDesign, ByDesignTokenLifetime)
	issued := now.UTC().Truncate(time.Second)
	exp := issued.Add(life)
	access := bydAccessToken()
	refresh := strings.ToLower(randHex(16))
	s.byd.access[access] = bydGrant{user: userKey, clientID: clientID, exp: exp}
	s.byd.refresh[refresh] = bydGrant{user: userKey, clientID: clientID, exp: now.Add(ByDesignRefreshLifetime)}
	var o jobj
	o.str("access_token", access).
		str("token_type", "bearer").
		int("expires_in", max(int64(life/time.Second)-1, 0)).
		str("refresh_token", refresh).
		str("as:client_id", clientID).
		str("userName", userKey).
		str("userType", u.userType).
		str("userTypeID", u.userTypeID).
		str("displayName", u.displayName).
		str("hasReciprocalID", "False").
		str("canEnrollAsRep", "True").
		str("rankTypeID", u.rankTypeID).
		str(".issued", issued.Format(http.TimeFormat)).
		str(".expires", exp.Format(http.TimeFormat))
	writeJSON(w, http.StatusOK, o.String())
}

// bydAccessToken is an opaque base64url string of the length OWIN's
// encrypted tickets have.
func bydAccessToken() string {
	b := make([]byte, 300)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// bydProfile is a protected resource behind OWIN's bearer check.
func (s *Server) bydProfile(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("client") != ByDesignClient {
		http.NotFound(w, r)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	now := s.now()
	s.mu.Lock()
	g, found := s.byd.access[strings.TrimSpace(tok)]
	var u bydUser
	if found {
		u = *s.byd.users[g.user]
	}
	s.mu.Unlock()
	if !ok || !found || !now.Before(g.exp) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, `{"Message":"Authorization has been denied for this request."}`)
		return
	}
	var o jobj
	o.str("userName", g.user).str("userType", u.userType).str("displayName", u.displayName)
	writeJSON(w, http.StatusOK, o.String())
}
