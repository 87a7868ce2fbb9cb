// Package emulator is an HTTP server that imitates the token endpoints of the
// four vendors tokensmith speaks to (MoversConnect, DQE IDMobile, ByDesign
// WebAPI and CRM.COM), plus one protected resource per vendor that checks the
// tokens it issued.
//
// It exists so that clients can be tested end to end, over a real loopback
// socket, against the vendors' documented quirks: MoversConnect's nulls on
// refresh activation and its "one login voids all others" rule, DQE's
// string expires_in and plain-text errors, ByDesign's username prefixes and
// form-only OWIN parsing, CRM.COM's Basic key and JWT with string exp/iat.
// None of those can be exercised against production without real accounts.
//
// Behaviour that the vendors' pages leave open is marked [inferred] where it
// is implemented; the choice made is the one described in vendors.md or, when
// that is silent too, the most conservative one a client must cope with.
//
// Faults (see [Fault]) are injected per provider and consumed one per token
// request, so a test can script "503, then a reset, then success" and watch
// how a client retries. All state is guarded by one mutex; the server is safe
// for concurrent use and for tests run with -race.
//
// Standard library only: the emulator is linked into the tokensmith CLI
// (`tokensmith demo`, `tokensmith emulate`) and must not drag dependencies in.
package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Provider ids, the same across the project.
const (
	MoversConnect = "moversconnect"
	DQEIDMobile   = "dqe-idmobile"
	ByDesign      = "bydesign"
	CRMCOM        = "crmcom"
)

// Providers lists every provider id the emulator serves.
var Providers = []string{MoversConnect, DQEIDMobile, ByDesign, CRMCOM}

// Demo credentials. They are the only credentials the emulator accepts; the
// values are fake but shaped like the real ones so that client-side length
// and format checks are exercised.
const (
	// MoversConnect. ClientID and ClientSecret are the vendor's fixed public
	// values, not demo values: the real endpoint requires exactly these.
	MoversCompanyID    = "DEMOMOVERS01" // at most 15 characters, like the real ids
	MoversUsername     = "demo.crew"
	MoversPassword     = "Demo-Crew-Passw0rd"
	MoversClientID     = "CrewConnect"
	MoversClientSecret = "7FC113A41D8E4EE6AAD26D79743F9A34"

	// DQE IDMobile.
	DQELicence      = "900042"
	DQEClientSecret = "demo-idmobile-passphrase"

	// ByDesign. Both demo users share ByDesignPassword; the ids are the ones
	// of the vendor's own examples.
	ByDesignClient     = "Acme" // the {Client} path segment
	ByDesignRepID      = "1001"
	ByDesignCustomerID = "1146820"
	ByDesignPassword   = "Demo-Passw0rd!"
	ByDesignClientID   = "ByDesignAngularJSShoppingCart"

	// CRM.COM. CRMKey is the key of the vendor's own example.
	CRMKey          = "EE73C0AE64524371B5DDEFF5F7BB2192"
	CRMAuthCode     = "demo_auth_code1!"
	CRMIdentifier   = "DEMO-ACCESS-0001"
	CRMPassCode     = "424242"
	CRMOrganisation = "demo_org"
	CRMUnit         = "1"
	// CRMJWT stands for a token of CRM.COM's identity management system. Its
	// signature is not verifiable (there is no such system here); the
	// emulator accepts exactly this string.
	CRMJWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ0b2tlbnNtaXRoLWVtdWxhdG9yLWlkbSIsInN1YiI6ImRlbW8uY29uc3VtZXIiLCJvcmciOiJkZW1vX29yZyJ9.ZGVtby1pZGVudGl0eS1zaWduYXR1cmUtbm90LXJlYWw"
)

// Default access-token lifetimes, from the vendors' pages.
const (
	MoversTokenLifetime   = 3 * 24 * time.Hour  // "only valid for a few days" [inferred: 3]
	MoversRefreshLifetime = 90 * 24 * time.Hour // "a refresh token is good for 90 days"
	DQETokenLifetime      = 300 * time.Second
	ByDesignTokenLifetime = 48 * time.Hour // .expires - .issued in the examples
	CRMTokenLifetime      = 2 * time.Hour
)

// OversizeBytes is the body length of a Fault{Oversize: true} answer: twice
// the 1 MiB cap clients are expected to enforce.
const OversizeBytes = 2 << 20

// maxRequestBody bounds what the emulator buffers per request; no vendor
// request comes anywhere near it.
const maxRequestBody = 1 << 20

// Options configures a Server. TokenLifetime overrides the access-token
// lifetimes (defaults: MoversTokenLifetime, DQETokenLifetime,
// ByDesignTokenLifetime, CRMTokenLifetime); for moversconnect it is the life
// of the token a Password grant issues, not the 90-day extension an
// activation grants.
type Options struct {
	Now              func() time.Time         // clock used for issued/expiry values; nil = time.Now
	ByDesignFormOnly bool                     // true: like real OWIN, a JSON body gets 400 {"error":"unsupported_grant_type"}; false: accept JSON and form
	TokenLifetime    map[string]time.Duration // per provider id override of access-token lifetime
}

// Fault is one misbehaviour applied to one token request. Fields combine in
// this order: Reset wins outright; Delay is waited out first and the rest then
// applies; then Stall, Truncate, Oversize, HTML, Status. A Fault with only
// RetryAfter adds that header to the normal answer. The zero Fault is a
// normal answer, handy as a placeholder in a queue.
type Fault struct {
	Status     int           // e.g. 503, 429 (0 = none)
	RetryAfter string        // Retry-After header value, e.g. "2"
	HTML       bool          // answer an HTML error page (with Status or 502)
	Delay      time.Duration // sleep before answering (respect request ctx: return when client goes away)
	Stall      bool          // send headers + part of body, then hang until client goes away
	Truncate   bool          // declare Content-Length larger than the body, write half of a valid JSON, close
	Oversize   bool          // 200 with a 2 MiB body
	Reset      bool          // hijack the connection and close it with SO_LINGER 0 (TCP RST) without answering
}

// Server is the emulator. Create it with New.
type Server struct {
	// DQELegacyErrors switches DQE errors to the older page's style: HTTP 200
	// with {"status":"error","error_id":…,"error_type":…} [inferred: the older
	// page shows the bodies, not the status]. Set it before requests are in
	// flight, or use SetDQELegacyErrors, which takes the lock.
	DQELegacyErrors bool

	opts    Options
	handler http.Handler

	mu       sync.Mutex
	srv      *http.Server
	url      string
	closed   bool
	closing  chan struct{} // closed by Close: ends stalls and delays
	inflight sync.WaitGroup
	faults   map[string][]Fault
	counts   map[string]int
	fleet    map[string]*fleetStats // fleet.go

	movers moversState
	dqe    dqeState
	byd    bydState
	crm    crmState
}

// New returns a Server that is not yet listening.
func New(opts Options) *Server {
	// The lifetime map is copied so that a caller changing it later cannot
	// race the handlers that read it.
	lt := make(map[string]time.Duration, len(opts.TokenLifetime))
	for k, v := range opts.TokenLifetime {
		lt[k] = v
	}
	opts.TokenLifetime = lt
	s := &Server{
		opts:    opts,
		closing: make(chan struct{}),
	}
	s.resetLocked()
	mux := http.NewServeMux()
	s.routeMovers(mux)
	s.routeDQE(mux)
	s.routeByDesign(mux)
	s.routeCRM(mux)
	routes := s.fleetObserve(mux) // counts per fleet instance (fleet.go)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counting requests in flight lets Close wait for them; refusing
		// new ones once closed keeps WaitGroup.Add from racing Wait.
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "emulator closed", http.StatusServiceUnavailable)
			return
		}
		s.inflight.Add(1)
		s.mu.Unlock()
		defer s.inflight.Done()
		if cors(w, r) { // cors.go: loopback origins only
			return
		}
		routes.ServeHTTP(w, r)
	})
	return s
}

// Start listens on addr ("" = 127.0.0.1:0, a random loopback port) and
// serves in a background goroutine.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("emulator: Start after Close")
	}
	if s.srv != nil {
		return errors.New("emulator: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Faults produce broken connections on purpose; their log lines
		// would only be noise in test output.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.url = "http://" + urlHost(ln.Addr())
	srv := s.srv
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// urlHost turns a listener address into one a client can dial: a wildcard
// listen address becomes 127.0.0.1, because clients only allow plain http
// to loopback.
func urlHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// Handler returns the emulator's handler, for serving it from another
// http.Server. Call SetURL then, so that BaseURL and Config know the address.
func (s *Server) Handler() http.Handler { return s.handler }

// SetURL tells a Server that is served through Handler where it is reachable,
// e.g. "http://127.0.0.1:8080". Start sets it itself.
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	s.url = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// URL is "http://127.0.0.1:PORT", or "" before Start/SetURL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops the server, ends stalled and delayed answers and waits for
// every handler to return. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	srv := s.srv
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	s.inflight.Wait()
	return err
}

// BaseURL is the base_url a client config must use for provider, or "" for
// an unknown provider.
func (s *Server) BaseURL(provider string) string {
	u := s.URL()
	switch provider {
	case MoversConnect:
		return u + "/moversconnect"
	case DQEIDMobile:
		return u + "/dqe"
	case ByDesign:
		return u + "/bydesign/" + ByDesignClient
	case CRMCOM:
		return u + "/crmcom/crmapi/rest/v2"
	}
	return ""
}

// ConfigWith is Config with fields replaced: a nil value deletes the field,
// any other value (also of the wrong type, to test config errors) sets it.
// It answers "" for an unknown provider.
func (s *Server) ConfigWith(provider string, set map[string]any) string {
	base := s.Config(provider)
	if base == "" || len(set) == 0 {
		return base
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		panic("emulator: Config is not JSON: " + err.Error()) // a bug here, not in the caller
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("emulator: ConfigWith: " + err.Error())
	}
	return string(b)
}

// Config returns a complete client config in the wire format (see
// core.ParseConfig) that works against this emulator with the demo
// credentials, or "" for an unknown provider.
func (s *Server) Config(provider string) string {
	var fields [][2]string
	switch provider {
	case MoversConnect:
		fields = [][2]string{
			{"company_id", MoversCompanyID},
			{"username", MoversUsername},
			{"password", MoversPassword},
			{"client_id", MoversClientID},
			{"client_secret", MoversClientSecret},
			{"encoding", "json"},
			{"token_header", "Token"},
		}
	case DQEIDMobile:
		fields = [][2]string{
			{"licence", DQELicence},
			{"client_secret", DQEClientSecret},
			{"method", "POST"},
		}
	case ByDesign:
		enc := "json"
		if s.opts.ByDesignFormOnly {
			enc = "form"
		}
		fields = [][2]string{
			{"username", ByDesignRepID},
			{"password", ByDesignPassword},
			{"client_id", ByDesignClientID},
			{"user_type", "rep"},
			{"encoding", enc},
		}
	case CRMCOM:
		fields = [][2]string{
			{"key", CRMKey},
			{"authentication_code", CRMAuthCode},
		}
	default:
		return ""
	}
	var o jobj
	o.str("provider", provider).str("base_url", s.BaseURL(provider))
	for _, f := range fields {
		o.str(f[0], f[1])
	}
	return o.String()
}

// Inject queues faults for provider's token endpoint; each applies to one
// later token request, in order.
func (s *Server) Inject(provider string, faults ...Fault) {
	s.mu.Lock()
	s.faults[provider] = append(s.faults[provider], faults...)
	s.mu.Unlock()
}

// TokenRequests is how many token-endpoint requests of provider arrived,
// faulted ones included.
func (s *Server) TokenRequests(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[provider]
}

// Reset clears faults, counters and every issued token, restores the
// ByDesign passwords and unlimited DQE credits. Options and DQELegacyErrors
// are configuration and are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
}

func (s *Server) resetLocked() {
	s.faults = map[string][]Fault{}
	s.counts = map[string]int{}
	s.fleet = nil
	s.movers = moversState{}
	s.dqe = newDQEState()
	s.byd = newBydState()
	s.crm = newCRMState()
}

// SetDQELegacyErrors sets DQELegacyErrors under the lock, for use while
// requests may be in flight.
func (s *Server) SetDQELegacyErrors(on bool) {
	s.mu.Lock()
	s.DQELegacyErrors = on
	s.mu.Unlock()
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Server) lifetime(provider string, def time.Duration) time.Duration {
	if d, ok := s.opts.TokenLifetime[provider]; ok && d > 0 {
		return d
	}
	return def
}

// tokenEndpoint wraps a token endpoint: it buffers the body (so a fault can
// be applied and the request still handled afterwards, and so the server
// notices a client hang-up), counts the request and applies the next fault.
func (s *Server) tokenEndpoint(provider string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		s.mu.Lock()
		s.counts[provider]++
		var f Fault
		if q := s.faults[provider]; len(q) > 0 {
			f = q[0]
			s.faults[provider] = q[1:]
		}
		s.mu.Unlock()
		if err != nil {
			return // the client is gone
		}
		if len(body) > maxRequestBody {
			http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if s.applyFault(w, r, provider, f) {
			return
		}
		h(w, r)
	}
}

// applyFault performs f and reports whether it answered (or killed) the
// request, in which case the normal handler must not run.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, provider string, f Fault) bool {
	if f.Reset {
		resetConn(w)
		return true
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			panic(http.ErrAbortHandler) // nobody is listening any more
		case <-s.closing:
			// Returning would make net/http send an empty 200, which a
			// client could take for an answer: drop the connection.
			panic(http.ErrAbortHandler)
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	switch {
	case f.Stall:
		body := sampleBody(provider)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		// Returning short of Content-Length makes net/http drop the
		// connection rather than reuse it.
		return true
	case f.Truncate:
		truncate(w, sampleBody(provider), f.RetryAfter)
		return true
	case f.Oversize:
		oversize(w)
		return true
	case f.HTML:
		status := f.Status
		if status == 0 {
			status = http.StatusBadGateway
		}
		text := http.StatusText(status)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%d %s</title></head><body><h1>%s</h1></body></html>", status, text, text)
		return true
	case f.Status != 0:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "%d %s", f.Status, http.StatusText(f.Status))
		return true
	}
	return false
}

// resetConn aborts the connection with a TCP RST: SO_LINGER 0 makes close
// discard unsent data and send RST instead of FIN, which is what a crashing
// load balancer looks like to a client.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2 or a wrapper: abort is the closest
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// truncate writes a raw HTTP/1.1 answer whose Content-Length promises the
// whole body but carries only half, then closes: the client sees an
// unexpected EOF. Hijacking keeps net/http from "fixing" the framing.
func truncate(w http.ResponseWriter, body, retryAfter string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n", len(body))
	if retryAfter != "" {
		fmt.Fprintf(buf, "Retry-After: %s\r\n", retryAfter)
	}
	buf.WriteString("\r\n")
	buf.WriteString(body[:len(body)/2])
	_ = buf.Flush()
}

// oversize answers 200 with a well-formed JSON body of exactly OversizeBytes,
// so only a size cap (not a parse error) can reject it.
func oversize(w http.ResponseWriter) {
	const head, tail = `{"access_token":"`, `","token_type":"bearer","expires_in":3600}`
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(OversizeBytes))
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, head); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte("A"), 32<<10)
	left := OversizeBytes - len(head) - len(tail)
	for left > 0 {
		n := min(left, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return // the client stopped reading at its cap
		}
		left -= n
	}
	_, _ = io.WriteString(w, tail)
}

// sampleBody is a plausible success body of provider, used where a fault
// needs "valid JSON" to cut in half. Its tokens are not registered.
func sampleBody(provider string) string {
	switch provider {
	case MoversConnect:
		return `{"RefreshExpires":1523377033,"RefreshToken":"00000000000000000000000000000000","Token":"00000000000000000000000000000000","TokenExpires":1516292233}`
	case DQEIDMobile:
		return `{"access_token":"TK000000000000000000000000000000","token_type":"Bearer","expires_in":"300","refresh_token":"*TK000000000000000000000000000000"}`
	case ByDesign:
		return `{"access_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","token_type":"bearer","expires_in":172799,"refresh_token":"00000000000000000000000000000000"}`
	case CRMCOM:
		return `{"data":{"token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.AAAA"},"status":{"code":"OK","description":"","message":""}}`
	}
	return `{"error":"none"}`
}

// randHex returns n random bytes as upper-case hex, the shape of the .NET
// GUID-style tokens several vendors use.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return strings.ToUpper(hex.EncodeToString(b))
}

func jsonString(v string) string {
	b, _ := json.Marshal(v) // a string always marshals
	return string(b)
}

// jobj builds a JSON object with keys in the order written: the vendors'
// pages show a fixed order and the emulator keeps to it, so that a recorded
// answer looks like the real thing.
type jobj struct {
	b strings.Builder
	n int
}

func (o *jobj) key(k string) {
	if o.n == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
	o.n++
	o.b.WriteString(jsonString(k))
	o.b.WriteByte(':')
}

func (o *jobj) str(k, v string) *jobj { o.key(k); o.b.WriteString(jsonString(v)); return o }
func (o *jobj) int(k string, v int64) *jobj {
	o.key(k)
	o.b.WriteString(strconv.FormatInt(v, 10))
	return o
}
func (o *jobj) raw(k, v string) *jobj { o.key(k); o.b.WriteString(v); return o }
func (o *jobj) null(k string) *jobj   { return o.raw(k, "null") }

func (o *jobj) String() string {
	if o.n == 0 {
		return "{}"
	}
	return o.b.String() + "}"
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// mediaType is the lower-cased media type of a Content-Type or Accept entry,
// parameters dropped.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}
