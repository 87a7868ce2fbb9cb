package core

import (
	"sort"
	"strings"
)

// MaxBodyBytes is the largest response body the core parses. Hosts should
// read at most MaxBodyBytes+1 bytes so that a larger body is reported, not
// silently truncated into something that parses.
const MaxBodyBytes = 1 << 20

// Request is an HTTP request the host must send on the core's behalf.
type Request struct {
	Method string            // "GET" or "POST"
	URL    string            // absolute URL, query included
	Header map[string]string // canonical names, one value each
	Body   string            // empty for GET
	// TimeoutMs is how long the host may wait for the answer before it
	// feeds a network error (0: the request is not the core's, e.g. Attach).
	TimeoutMs int64
}

// Response is what the host received for a Request. When no HTTP answer
// arrived at all (DNS, connect, reset, timeout), the host sets Err with code
// "network" instead.
type Response struct {
	Status int
	Header map[string]string // any case; the core looks names up case-insensitively
	Body   []byte
	Err    *Error
}

func (r *Response) header(name string) string {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// MarshalWire encodes r as the wire-format request object.
func (r *Request) MarshalWire() []byte { return appendRequestObj(nil, r) }

func appendRequestObj(dst []byte, r *Request) []byte {
	o := newObj(dst)
	o.str("method", r.Method)
	o.str("url", r.URL)
	h := r.Header
	if h == nil {
		h = map[string]string{}
	}
	o.strMap("headers", h)
	o.str("body", r.Body)
	if r.TimeoutMs != 0 {
		o.int("timeout_ms", r.TimeoutMs)
	}
	return o.done()
}

// param is one ordered form or query field: vendors' examples list fields in
// a fixed order and our vectors compare bodies byte for byte.
type param struct{ k, v string }

// encodeForm is application/x-www-form-urlencoded encoding, in the given
// order. It avoids net/url, which pulls fmt into the WASM build.
func encodeForm(ps []param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		escapeForm(&b, p.k)
		b.WriteByte('=')
		escapeForm(&b, p.v)
	}
	return b.String()
}

func escapeForm(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
}

// decodeForm parses an application/x-www-form-urlencoded string in order.
// Malformed escapes are kept literally: it only reads our own bodies back.
func decodeForm(s string) []param {
	var ps []param
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		ps = append(ps, param{unescapeForm(k), unescapeForm(v)})
	}
	return ps
}

func unescapeForm(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			b.WriteByte(' ')
			continue
		}
		if c == '%' && i+2 < len(s) {
			if h, ok1 := unhex(s[i+1]); ok1 {
				if l, ok2 := unhex(s[i+2]); ok2 {
					b.WriteByte(h<<4 | l)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// withQuery appends ps to rawURL's query string.
func withQuery(rawURL string, ps []param) string {
	if len(ps) == 0 {
		return rawURL
	}
	frag := ""
	if i := strings.IndexByte(rawURL, '#'); i >= 0 {
		rawURL, frag = rawURL[:i], rawURL[i:]
	}
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
		if strings.HasSuffix(rawURL, "?") || strings.HasSuffix(rawURL, "&") {
			sep = ""
		}
	}
	return rawURL + sep + encodeForm(ps) + frag
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
