package core

import (
	"strings"
)

// maxBaseURLLen bounds base_url: vendor base URLs are a host and a short
// path; anything longer is a mistake (or an attempt to make every request
// line huge).
const maxBaseURLLen = 2048

// checkBaseURL accepts https:// anywhere and http:// only to a literal
// loopback address or "localhost" itself, where the emulator and local
// proxies live: credentials must never cross a network in clear text. A name
// under .localhost is refused for http: it is only loopback if the resolver
// says so (an /etc/hosts line, a DNS search domain), and the core cannot ask.
//
// Everything an HTTP client would refuse later, or read differently from us,
// is a config error now, naming base_url: control characters, white space, a
// port outside 1..65535, user info, a query, a fragment, a malformed host.
// Found later, the same mistake would be a retryable network error, retried
// and reported as the vendor's fault. Messages never quote the URL: it is
// the operator's own text, and may hold bytes a terminal would act on.
func checkBaseURL(u string) error {
	if len(u) > maxBaseURLLen {
		return configError("base_url", "longer than 2048 bytes")
	}
	if err := checkURLChars(u); err != nil {
		return err
	}
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return configError("base_url", "must start with https://")
	}
	scheme = strings.ToLower(scheme)
	if scheme != "https" && scheme != "http" {
		return configError("base_url", "scheme must be https")
	}
	if strings.IndexByte(u, '#') >= 0 {
		return configError("base_url", "must not contain a fragment (#)")
	}
	if strings.IndexByte(u, '?') >= 0 {
		return configError("base_url", "must not contain a query (?)")
	}
	authority := rest
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return configError("base_url", "must not carry credentials (user@host)")
	}
	h, err := parseAuthority(authority)
	if err != nil {
		return err
	}
	if scheme == "https" || h.loopback() {
		return nil
	}
	if strings.HasSuffix(h.name, ".localhost") || strings.HasSuffix(h.name, ".localhost.") {
		return configError("base_url", "http:// to a name under .localhost is refused: it is loopback only if name resolution says so; use https://, or http://127.0.0.1 or http://localhost")
	}
	return configError("base_url", "http:// is allowed only to a loopback address (localhost, 127.0.0.0/8, [::1]); use https://")
}

// checkURLChars refuses what no URL may hold raw: control characters,
// white space, and every byte above 0x7F. A vendor's base URL is ASCII;
// other characters are written percent-encoded (a host name in its xn--
// form), and refusing them all refuses C1 controls, bidi overrides,
// zero-width and no-break spaces and invalid UTF-8 at once.
func checkURLChars(u string) error {
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case c < 0x20 || c == 0x7f:
			return configError("base_url", "must not contain control characters (NUL, DEL, CR, LF…)")
		case c == ' ':
			return configError("base_url", "must not contain white space")
		case c >= 0x80:
			return configError("base_url", "must be ASCII: percent-encode other characters (a host name in its xn-- form)")
		}
	}
	return nil
}

// urlHost is a parsed authority: exactly one of name, ip4 and ip6 is set.
type urlHost struct {
	name  string // lower-cased host name
	ip4   []byte // 4 bytes
	ip6   []byte // 16 bytes
	isIP6 bool
}

// loopback reports whether h is a literal loopback address or "localhost"
// itself (RFC 6761 reserves it, and resolvers answer it without asking the
// network).
func (h *urlHost) loopback() bool {
	switch {
	case h.ip4 != nil:
		return h.ip4[0] == 127
	case h.isIP6:
		for _, b := range h.ip6[:15] {
			if b != 0 {
				return false
			}
		}
		return h.ip6[15] == 1
	}
	return h.name == "localhost"
}

// parseAuthority reads host[:port]: a host name, a dotted-quad IPv4 address
// or a bracketed IPv6 address, and an optional port in 1..65535.
func parseAuthority(a string) (urlHost, error) {
	var h urlHost
	host, port, hasPort := a, "", false
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return h, configError("base_url", "has an IPv6 address without its closing ]")
		}
		host = a[1:end]
		switch after := a[end+1:]; {
		case after == "":
		case after[0] == ':':
			port, hasPort = after[1:], true
		default:
			return h, configError("base_url", "only a :port may follow an IPv6 address")
		}
		ip, ok := parseIPv6(host)
		if !ok {
			return h, configError("base_url", "has a malformed IPv6 address")
		}
		h.ip6, h.isIP6 = ip, true
	} else {
		if i := strings.IndexByte(a, ':'); i >= 0 {
			host, port, hasPort = a[:i], a[i+1:], true
			if strings.IndexByte(port, ':') >= 0 {
				return h, configError("base_url", "an IPv6 address must be written in brackets, e.g. https://[2001:db8::1]")
			}
		}
		if host == "" {
			return h, configError("base_url", "has no host")
		}
		if err := parseHostName(host, &h); err != nil {
			return h, err
		}
	}
	if hasPort {
		if !validPort(port) {
			return h, configError("base_url", "port must be a number from 1 to 65535")
		}
	}
	return h, nil
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// parseHostName checks a registered name (ASCII letters, digits, '-', '_' in
// dot-separated labels, an optional final dot) or, when its last label is
// numeric, a dotted-quad IPv4 address: browsers and resolvers read such a
// host as an address (inet_aton even reads "127.1" and "0x7f.1"), so only
// the one unambiguous form is accepted.
func parseHostName(host string, h *urlHost) error {
	if len(host) > 253 {
		return configError("base_url", "host name longer than 253 bytes")
	}
	name := strings.TrimSuffix(host, ".")
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return configError("base_url", "host has an empty label (..)")
		}
		if len(l) > 63 {
			return configError("base_url", "host has a label longer than 63 bytes")
		}
		for i := 0; i < len(l); i++ {
			switch c := l[i]; {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return configError("base_url", "host may hold only letters, digits, '-', '_' and '.'")
			}
		}
	}
	if last := labels[len(labels)-1]; numericLabel(last) {
		ip, ok := parseIPv4(name)
		if !ok || name != host {
			return configError("base_url", "has a malformed IPv4 address (write four decimal numbers 0-255, e.g. 127.0.0.1)")
		}
		h.ip4 = ip
		return nil
	}
	h.name = strings.ToLower(host)
	return nil
}

// numericLabel reports whether a label reads as a number to a URL parser:
// decimal digits, or 0x followed by hex digits.
func numericLabel(l string) bool {
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		for i := 2; i < len(l); i++ {
			if _, ok := unhex(l[i]); !ok {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}

// parseIPv4 reads exactly four decimal numbers 0..255 without leading zeros
// (which some parsers read as octal).
func parseIPv4(s string) ([]byte, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil, false
	}
	ip := make([]byte, 4)
	for i, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return nil, false
		}
		n := 0
		for j := 0; j < len(p); j++ {
			if p[j] < '0' || p[j] > '9' {
				return nil, false
			}
			n = n*10 + int(p[j]-'0')
		}
		if n > 255 {
			return nil, false
		}
		ip[i] = byte(n)
	}
	return ip, true
}

// parseIPv6 reads an RFC 4291 text address (one "::" at most, a dotted quad
// allowed in the last 32 bits, no zone) into 16 bytes.
func parseIPv6(s string) ([]byte, bool) {
	ip := make([]byte, 16)
	ellipsis := -1 // where "::" stands, in bytes of ip
	if strings.HasPrefix(s, "::") {
		ellipsis, s = 0, s[2:]
	}
	n := 0
	for s != "" && n < 16 {
		// A dotted quad may end the address.
		if strings.IndexByte(s, '.') >= 0 && strings.IndexByte(s, ':') < 0 {
			if n > 12 {
				return nil, false
			}
			v4, ok := parseIPv4(s)
			if !ok {
				return nil, false
			}
			copy(ip[n:], v4)
			n, s = n+4, ""
			break
		}
		v, i := 0, 0
		for i < len(s) && i < 5 {
			d, ok := unhex(s[i])
			if !ok {
				break
			}
			v = v<<4 | int(d)
			i++
		}
		if i == 0 || i > 4 {
			return nil, false
		}
		ip[n], ip[n+1] = byte(v>>8), byte(v)
		n += 2
		s = s[i:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return nil, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return nil, false
			}
			ellipsis, s = n, s[1:]
		}
	}
	if s != "" {
		return nil, false
	}
	if n < 16 {
		if ellipsis < 0 {
			return nil, false
		}
		gap := 16 - n
		copy(ip[ellipsis+gap:], ip[ellipsis:n])
		for i := ellipsis; i < ellipsis+gap; i++ {
			ip[i] = 0
		}
	} else if ellipsis >= 0 {
		return nil, false // "::" must stand for at least one group
	}
	return ip, true
}
