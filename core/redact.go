package core

import "strings"

// excerptLen bounds the body excerpt carried by an error: enough to recognise
// "502 Bad Gateway" or an error description, too little to carry a payload.
const excerptLen = 160

// minOpaqueRun is the length from which a run of token-like characters is
// masked even when we do not know it as a secret: vendor tokens, JWTs and
// refresh tokens are all longer, human error messages rarely have such words.
const minOpaqueRun = 24

// redactor masks every secret the session knows (configured credentials and
// tokens it holds) plus anything that looks like an opaque token.
type redactor struct {
	secrets []string
	pinned  int // secrets[:pinned] are the configured credentials, never dropped
}

// maxRememberedTokens bounds the token values kept besides the pinned
// credentials: a session renewing every five minutes for months must not grow
// without end, nor make every mask slower. Old tokens are dead anyway, and
// long ones are caught by the opaque-run rule.
const maxRememberedTokens = 16

func (r *redactor) add(s ...string) {
	for _, v := range s {
		if len(v) < 4 || r.has(v) { // shorter values would mask ordinary words
			continue
		}
		r.remember(v)
		// A vendor that echoes the request (URL or form body) shows the
		// value form-encoded: "p@ss word" as "p%40ss+word".
		if needsFormEscape(v) {
			var b strings.Builder
			b.Grow(len(v) + 16)
			escapeForm(&b, v)
			if e := b.String(); !r.has(e) {
				r.remember(e)
			}
		}
	}
}

func (r *redactor) has(v string) bool {
	for _, have := range r.secrets {
		if have == v {
			return true
		}
	}
	return false
}

func needsFormEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
		default:
			return true
		}
	}
	return false
}

func (r *redactor) remember(v string) {
	if len(r.secrets) >= r.pinned+maxRememberedTokens {
		copy(r.secrets[r.pinned:], r.secrets[r.pinned+1:])
		r.secrets = r.secrets[:len(r.secrets)-1]
	}
	r.secrets = append(r.secrets, v)
}

// pin marks everything added so far (the configuration's credentials) as
// permanent.
func (r *redactor) pin() { r.pinned = len(r.secrets) }

// excerpt turns a response body into a short, single-line, redacted text:
// HTML tags are dropped (an error page shows its title and heading), control
// characters and runs of white space fold to one space.
func (r *redactor) excerpt(body []byte) string {
	if len(body) > 4096 {
		body = body[:4096]
	}
	s := string(body)
	s = strings.TrimPrefix(s, "\ufeff")
	if looksHTML(s) {
		s = stripTags(s)
	}
	s = r.mask(s)
	var b strings.Builder
	space := false
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == ' ' || c == '\u00a0' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(c)
		if b.Len() >= excerptLen {
			b.WriteString("…")
			break
		}
	}
	return b.String()
}

// mask replaces known secrets, then any long opaque run, with [redacted].
func (r *redactor) mask(s string) string {
	for _, v := range r.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	var b strings.Builder
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		if end-start >= minOpaqueRun {
			b.WriteString("[redacted]")
		} else {
			b.WriteString(s[start:end])
		}
		start = -1
	}
	for i := 0; i < len(s); i++ {
		if isTokenChar(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=' || c == '*'
}

func looksHTML(s string) bool {
	t := strings.TrimSpace(s)
	if len(t) > 64 {
		t = t[:64]
	}
	t = strings.ToLower(t)
	return strings.HasPrefix(t, "<!doctype html") || strings.HasPrefix(t, "<html") || strings.HasPrefix(t, "<head") || strings.HasPrefix(t, "<body")
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			in = true
			b.WriteByte(' ')
		case c == '>':
			in = false
		case !in:
			b.WriteByte(c)
		}
	}
	return b.String()
}
