package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
)

// FleetInstanceHeader is the request header a test client sets to say which
// instance of a fleet it is, so that the counts below can be kept per
// instance. The emulator ignores it otherwise.
const FleetInstanceHeader = "X-Fleet-Instance"

// FleetCounts is what a fleet of clients asked of one provider since the
// last Reset. Token requests are classified by what they ask for, whether or
// not they succeeded (a stalled or faulted grant counts too).
type FleetCounts struct {
	Grants   int // logins: MoversConnect Password, DQE ACCESS_TOKEN, ByDesign password, CRM.COM token
	Renewals int // MoversConnect activation (grant_type Token), DQE oauth/ACCESS_TOKEN, ByDesign refresh_token

	// GrantsBy and RenewalsBy count the same per FleetInstanceHeader value
	// ("" for requests without one).
	GrantsBy, RenewalsBy map[string]int

	// Refused counts, per instance, protected-resource requests the emulator
	// refused with 401: made with a token a later grant voided, an expired
	// one, or none. In a fleet test every token comes from this emulator, so
	// this is the number of requests made with a voided token.
	Refused map[string]int
}

// fleetStats is the per provider tally behind FleetCounts.
type fleetStats struct {
	grants, renewals map[string]int
	refused          map[string]int
}

// Fleet returns provider's counts.
func (s *Server) Fleet(provider string) FleetCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.fleetLocked(provider)
	c := FleetCounts{GrantsBy: maps.Clone(st.grants), RenewalsBy: maps.Clone(st.renewals), Refused: maps.Clone(st.refused)}
	for _, n := range st.grants {
		c.Grants += n
	}
	for _, n := range st.renewals {
		c.Renewals += n
	}
	return c
}

func (s *Server) fleetLocked(provider string) *fleetStats {
	if s.fleet == nil {
		s.fleet = map[string]*fleetStats{}
	}
	st := s.fleet[provider]
	if st == nil {
		st = &fleetStats{grants: map[string]int{}, renewals: map[string]int{}, refused: map[string]int{}}
		s.fleet[provider] = st
	}
	return st
}

// VoidTokens makes provider forget every token it issued, as a login
// elsewhere does at MoversConnect: the next API call with any of them gets
// 401, and so does a refresh or activation with their refresh tokens.
func (s *Server) VoidTokens(provider string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch provider {
	case MoversConnect:
		s.movers = moversState{}
	case DQEIDMobile:
		s.dqe.tokens = map[string]dqeToken{}
	case ByDesign:
		s.byd.access, s.byd.refresh = map[string]bydGrant{}, map[string]bydGrant{}
	case CRMCOM:
		s.crm = newCRMState()
	}
}

// VoidAccessTokens makes ByDesign forget the access tokens it issued but
// keep their refresh tokens: the API refuses the token, a refresh still
// works. Other providers cannot void one without the other (MoversConnect
// keeps one generation of both); for them it is VoidTokens.
func (s *Server) VoidAccessTokens(provider string) {
	if provider != ByDesign {
		s.VoidTokens(provider)
		return
	}
	s.mu.Lock()
	s.byd.access = map[string]bydGrant{}
	s.mu.Unlock()
}

// fleetObserve wraps the emulator's routes: it classifies token requests
// and records refused resource requests, then passes every request on
// unchanged.
func (s *Server) fleetObserve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		provider, kind := s.fleetClassify(r)
		if provider == "" {
			next.ServeHTTP(w, r)
			return
		}
		inst := r.Header.Get(FleetInstanceHeader)
		if kind != "resource" {
			s.mu.Lock()
			st := s.fleetLocked(provider)
			if kind == "grant" {
				st.grants[inst]++
			} else {
				st.renewals[inst]++
			}
			s.mu.Unlock()
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == http.StatusUnauthorized {
			s.mu.Lock()
			s.fleetLocked(provider).refused[inst]++
			s.mu.Unlock()
		}
	})
}

// fleetClassify names the provider of r and whether it is a "grant", a
// "renewal" or a "resource" request ("" for anything else). Token bodies are
// read (bounded) and put back for the real handler.
func (s *Server) fleetClassify(r *http.Request) (provider, kind string) {
	p := r.URL.Path
	switch {
	case p == "/moversconnect/mobiletoken":
		if grantType(r, "grant_type", "Password") == "Token" {
			return MoversConnect, "renewal"
		}
		return MoversConnect, "grant"
	case p == "/moversconnect/mobileapi/localservicesinquiry":
		return MoversConnect, "resource"
	case p == "/dqe/ACCESS_TOKEN/":
		return DQEIDMobile, "grant"
	case p == "/dqe/oauth/ACCESS_TOKEN/":
		return DQEIDMobile, "renewal"
	case p == "/dqe/IDMOBILE/":
		return DQEIDMobile, "resource"
	case strings.HasPrefix(p, "/bydesign/") && strings.HasSuffix(p, "/token"):
		if grantType(r, "grant_type", "password") == "refresh_token" {
			return ByDesign, "renewal"
		}
		return ByDesign, "grant"
	case strings.HasPrefix(p, "/bydesign/") && strings.HasSuffix(p, "/api/user/profile"):
		return ByDesign, "resource"
	case strings.HasPrefix(p, crmPrefix+"/authentication/"):
		return CRMCOM, "grant"
	case strings.HasPrefix(p, crmPrefix+"/contacts/"):
		return CRMCOM, "resource"
	}
	return "", ""
}

// grantType reads field from a JSON, XML or form body (def when absent) and
// restores the body.
func grantType(r *http.Request, field, def string) string {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if err != nil {
		return def
	}
	ct := mediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/x-www-form-urlencoded":
		if v, err := url.ParseQuery(string(body)); err == nil && v.Get(field) != "" {
			return v.Get(field)
		}
	case strings.Contains(ct, "xml"):
		open, end := "<"+field+">", "</"+field+">"
		if i := bytes.Index(body, []byte(open)); i >= 0 {
			rest := body[i+len(open):]
			if j := bytes.Index(rest, []byte(end)); j >= 0 {
				return string(rest[:j])
			}
		}
	default:
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			if v, ok := m[field].(string); ok && v != "" {
				return v
			}
		}
	}
	return def
}

// statusWriter remembers the status a resource handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
