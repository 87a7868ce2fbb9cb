package emulator

import (
	"net/http"
	"net/url"
	"strings"
)

// CORS, so that a page served from another loopback port (`make web`, the
// browser tests) can call the emulator the way a single-page app calls a
// vendor. Only loopback origins are answered: the emulator is a test double
// on 127.0.0.1 and must not become readable from an arbitrary web page a
// developer happens to have open. Any other origin gets no CORS headers at
// all, so the browser refuses the answer, which is exactly the "vendor
// without CORS" case a client has to report as a CORS refusal.
//
// Real vendors differ here (most answer no CORS at all); the emulator answers
// the most useful variant and keeps the refusal reachable by origin.

// corsMaxAge lets a browser reuse a preflight for ten minutes, as a browser
// caps it anyway (Chromium: 2 hours, Firefox: 24 hours), so the demo page does
// not double its requests.
const corsMaxAge = "600"

// corsMethods is what a preflight may ask for: every method the emulated
// endpoints answer.
const corsMethods = "GET, POST"

// corsExposed names the answer headers a page may read. Retry-After is the
// one that matters: without it a browser client cannot honour a vendor's
// back-off (Content-Type and Content-Length are readable anyway).
const corsExposed = "Retry-After"

// maxCORSRequestHeaders bounds the header list a preflight may ask for; the
// longest real one (MoversConnect: Content-Type, Token) is far shorter.
const maxCORSRequestHeaders = 1024

// cors answers a preflight itself and adds the CORS headers of an actual
// request before next writes anything. It reports whether it answered.
func cors(w http.ResponseWriter, r *http.Request) (answered bool) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false // not a CORS request: curl, Go, Node
	}
	h := w.Header()
	// Caches must not hand one origin's answer to another.
	h.Add("Vary", "Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !loopbackOrigin(origin) {
		if preflight {
			// No CORS headers: the browser refuses the actual request.
			w.WriteHeader(http.StatusForbidden)
			return true
		}
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if !preflight {
		h.Set("Access-Control-Expose-Headers", corsExposed)
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", corsMethods)
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		allowed, ok := headerList(req)
		if !ok {
			// A malformed list is not echoed; the browser then refuses.
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		// Every header a client may attach a token with (Authorization,
		// MoversConnect's Token) plus Content-Type and Accept: echoing the
		// checked list is the simplest way to allow them all.
		h.Set("Access-Control-Allow-Headers", allowed)
	}
	// Chromium's Private Network Access asks this of a loopback target when
	// the page is not itself on loopback; loopback pages never need it, but
	// answering costs nothing and the origin has been checked.
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// loopbackOrigin reports whether origin is http://localhost, http://127.0.0.1
// or http://[::1], on any port. An origin is scheme://host[:port] and
// nothing else; anything longer (a path, user info) is not an origin.
func loopbackOrigin(origin string) bool {
	if len(origin) > 64 {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// headerList checks an Access-Control-Request-Headers value (comma-separated
// header names) and returns it normalised: names lower-cased, no spaces.
func headerList(v string) (string, bool) {
	if len(v) > maxCORSRequestHeaders {
		return "", false
	}
	parts := strings.Split(v, ",")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		for i := 0; i < len(p); i++ {
			if !tokenChar(p[i]) {
				return "", false
			}
		}
		out = append(out, strings.ToLower(p))
	}
	return strings.Join(out, ","), true
}

// tokenChar reports whether c may appear in an HTTP field name (RFC 9110
// token).
func tokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
