package core

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

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
		// mask reads each character raw or encoded (twice over too), but not
		// a form body encoded twice as a whole (space → + → %2B): matching
		// the form-encoded copy with the same rules covers that.
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
	s, _ := r.maskHead(string(trimBOM(body)))
	if looksHTML(s) {
		s = stripTags(s)
	}
	s = maskOpaque(s)
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

// excerptRead is how much of a text mask and excerpt read: a megabyte body
// costs the same as a short one.
const excerptRead = 4096

// mask replaces known secrets, in any of the encodings a vendor may echo
// them in, then any long opaque run, with [redacted]. Only the first 4 KiB
// is kept (callers clip far shorter).
func (r *redactor) mask(s string) string {
	s, cut := r.maskHead(s)
	s = maskOpaque(s)
	if cut {
		s += "…"
	}
	return s
}

// maskHead masks the known secrets in about the first excerptRead bytes of s
// and drops the rest. It masks before it cuts: a secret that straddled the
// cut would show its first bytes, and the white space or tags before it
// could fold away and bring them into view.
func (r *redactor) maskHead(s string) (string, bool) {
	if len(s) <= excerptRead {
		return r.maskUpTo(s, len(s)), false
	}
	out := r.maskUpTo(s[:min(len(s), excerptRead+r.maxEncodedLen())], excerptRead)
	return trimTokenTail(out), true
}

// trimTokenTail drops the run of token characters s ends with: text cut (or
// left unchecked) after s may be the rest of an opaque token whose head is
// too short for the opaque-run rule.
func trimTokenTail(s string) string {
	i := len(s)
	for i > 0 && isTokenChar(s[i-1]) {
		i--
	}
	return s[:i]
}

// maskUpTo replaces every known secret that starts before limit and drops
// the rest of s after limit: a match that starts before limit is still
// replaced whole, so s should extend maxEncodedLen past limit.
func (r *redactor) maskUpTo(s string, limit int) string {
	var first [256]bool
	known := false
	for _, v := range r.secrets {
		first[v[0]] = true
		known = true
	}
	if !known {
		return s[:limit]
	}
	// Every encoding matchSecret reads starts with the byte itself or one of these.
	for _, c := range []byte{'%', '+', '\\', '&'} {
		first[c] = true
	}
	var b strings.Builder
	last := 0
	steps := maskSteps
	for i := 0; i < limit; {
		if !first[s[i]] {
			i++
			continue
		}
		end := -1
		for _, v := range r.secrets {
			if len(s)-i < len(v) {
				continue // no encoding is shorter than the secret
			}
			if e := matchSecret(s, i, v, &steps); e > end {
				end = e
			}
		}
		if steps <= 0 {
			// Text built to make matching slow: what is left is not shown,
			// which is safe, rather than checked, which could take long.
			b.WriteString(trimTokenTail(s[last:i]))
			b.WriteString("[redacted]")
			return b.String()
		}
		if end < 0 {
			i++
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString("[redacted]")
		i, last = end, end
	}
	if last == 0 && limit == len(s) {
		return s
	}
	if last < limit {
		b.WriteString(s[last:limit])
	}
	return b.String()
}

// maxEncodedLen is the longest text any known secret can be echoed as (see
// matchSecret): at most 16 bytes of text per byte of secret (&#x00041; for "A").
func (r *redactor) maxEncodedLen() int {
	n := 0
	for _, v := range r.secrets {
		n = max(n, len(v))
	}
	return 16 * n
}

// matchSecret reports where an echo of secret that starts at s[i] ends, or -1.
// Vendors echo what they were sent in the encoding of wherever they put it,
// so every character of secret may appear as itself or as:
//   - %XX (either case, also %25XX: encoded twice), + for a space: a URL or a
//     form body;
//   - \", \\, \/, \n…, \uXXXX (surrogate pairs too): a JSON string, .NET
//     and Go escape <, >, &, ' and + that way;
//   - &amp; &lt; &gt; &quot; &apos; &#N; &#xH;: HTML or XML text.
//
// Encodings may mix, as they do when one is nested in another.
//
// steps is what is left of the caller's budget; one match may use at most
// 4*len(secret)+64 of it, which bounds backtracking.
func matchSecret(s string, i int, secret string, steps *int) int {
	budget := min(4*len(secret)+64, *steps)
	start := budget
	e := matchFrom(s, i, secret, &budget, 0)
	*steps -= start - max(budget, 0)
	return e
}

// maskSteps bounds the matching work of one mask: far above what any real
// text needs (a 4 KiB form body against twenty secrets uses about a tenth),
// far below what would let a hostile vendor (a megabyte token, then error
// bodies that almost repeat it) hold a client's CPU.
const maskSteps = 1 << 20

func matchFrom(s string, i int, secret string, budget *int, depth int) int {
	for {
		if secret == "" {
			return i
		}
		if *budget--; *budget < 0 || i >= len(s) {
			return -1
		}
		c := secret[0]
		// Most characters have one reading at s[i]: the loop goes on.
		// Only a '%', '&' or '\\' in the secret can also start another
		// encoding ("%" against "%25…"); then the literal reading is tried
		// in a recursion (bounded in depth) and the others after it.
		ambiguous := (c == '%' || c == '&' || c == '\\') && depth < maxMatchDepth
		switch {
		case s[i] == c && !ambiguous:
			i, secret = i+1, secret[1:]
			continue
		case s[i] == c:
			if e := matchFrom(s, i+1, secret[1:], budget, depth+1); e >= 0 {
				return e
			}
		case c == ' ' && s[i] == '+':
			i, secret = i+1, secret[1:]
			continue
		}
		if s[i] == '%' {
			if v, ok := hexByte(s, i+1); ok {
				if v == c && c != '%' {
					i, secret = i+3, secret[1:]
					continue
				}
				if v == c && depth < maxMatchDepth {
					if e := matchFrom(s, i+3, secret[1:], budget, depth+1); e >= 0 {
						return e
					}
				}
				if v == '%' {
					if v2, ok := hexByte(s, i+3); ok && v2 == c {
						i, secret = i+5, secret[1:]
						continue
					}
				}
			}
		}
		// The whole character as a JSON escape or an HTML/XML reference.
		if utf8.RuneStart(c) {
			r, size := utf8.DecodeRuneInString(secret)
			if r != utf8.RuneError || size > 1 {
				if j := matchRune(s, i, r); j >= 0 {
					i, secret = j, secret[size:]
					continue
				}
			}
		}
		return -1
	}
}

// maxMatchDepth bounds the recursion of matchFrom: past it, a '%', '&' or
// '\\' of the secret is read literally when it can be.
const maxMatchDepth = 32

func hexByte(s string, i int) (byte, bool) {
	if i+2 > len(s) {
		return 0, false
	}
	h, ok1 := unhex(s[i])
	l, ok2 := unhex(s[i+1])
	return h<<4 | l, ok1 && ok2
}

// matchRune reads rune r at s[i] as a JSON escape or an HTML/XML reference.
func matchRune(s string, i int, r rune) int {
	if i+1 >= len(s) {
		return -1
	}
	switch s[i] {
	case '\\':
		c := s[i+1]
		switch {
		case c == 'u':
			v, n := jsonU(s, i)
			if v == r {
				return n
			}
			if v >= 0xD800 && v < 0xDC00 && r >= 0x10000 {
				lo, n2 := jsonU(s, n)
				if lo >= 0xDC00 && lo < 0xE000 && 0x10000+(v-0xD800)<<10+(lo-0xDC00) == r {
					return n2
				}
			}
		case rune(c) == r && (c == '"' || c == '\\' || c == '/' || c == '\''):
			return i + 2
		case c == 'n' && r == '\n', c == 't' && r == '\t', c == 'r' && r == '\r', c == 'b' && r == '\b', c == 'f' && r == '\f':
			return i + 2
		}
	case '&':
		semi := strings.IndexByte(s[i:min(len(s), i+16)], ';')
		if semi < 0 {
			return -1
		}
		if ref := s[i+1 : i+semi]; entityRune(ref) == r {
			return i + semi + 1
		}
	}
	return -1
}

// jsonU reads \uXXXX at s[i]: its value and where it ends, or -1.
func jsonU(s string, i int) (rune, int) {
	if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
		return -1, -1
	}
	hi, ok1 := hexByte(s, i+2)
	lo, ok2 := hexByte(s, i+4)
	if !ok1 || !ok2 {
		return -1, -1
	}
	return rune(hi)<<8 | rune(lo), i + 6
}

// entityRune is the rune an HTML/XML character reference (without & and ;)
// stands for, or -1.
func entityRune(ref string) rune {
	switch ref {
	case "amp":
		return '&'
	case "lt":
		return '<'
	case "gt":
		return '>'
	case "quot":
		return '"'
	case "apos":
		return '\''
	case "nbsp":
		return 0xa0
	}
	if len(ref) < 2 || ref[0] != '#' {
		return -1
	}
	digits, base := ref[1:], rune(10)
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return -1
	}
	var v rune
	for i := 0; i < len(digits); i++ {
		d, ok := unhex(digits[i])
		if !ok || rune(d) >= base || v > 0x10FFFF {
			return -1
		}
		v = v*base + rune(d)
	}
	return v
}

// maskOpaque replaces every run of token characters long enough to be a
// token, JWT or key with [redacted].
func maskOpaque(s string) string {
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

// String and GoString of the types that carry a credential or a token: a
// host that logs a Step, a Request or a Response with %v, %+v or %#v must
// not print a password form body, a secret in a query, an Authorization
// header or a vendor's answer. Field names, sizes and the URL without its
// query are safe; values are not.

// String describes r: method, URL without its query, header names, body size.
func (r Request) String() string {
	var b strings.Builder
	b.WriteString("core.Request{")
	b.WriteString(r.Method)
	b.WriteByte(' ')
	u := r.URL
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i] + "?[redacted]"
	}
	b.WriteString(u)
	if len(r.Header) > 0 {
		b.WriteString(" headers=")
		b.WriteString(strings.Join(sortedKeys(r.Header), ","))
	}
	b.WriteString(" body=")
	b.WriteString(redactedLen(r.Body))
	b.WriteByte('}')
	return b.String()
}

// GoString keeps %#v as safe as %v.
func (r Request) GoString() string { return r.String() }

// String describes r: status and body size, or the (redacted) error.
func (r Response) String() string {
	if r.Err != nil {
		return "core.Response{error=" + r.Err.Error() + "}"
	}
	return "core.Response{status=" + strconv.Itoa(r.Status) + " body=" + redactedLen(string(r.Body)) + "}"
}

// GoString keeps %#v as safe as %v.
func (r Response) GoString() string { return r.String() }

// String describes a: where the token goes and under which names.
func (a Attach) String() string {
	var b strings.Builder
	b.WriteString("core.Attach{in=")
	b.WriteString(a.In)
	b.WriteString(" name=")
	b.WriteString(a.Name)
	b.WriteString(" value=")
	b.WriteString(redactedLen(a.Value))
	if len(a.Params) > 0 {
		b.WriteString(" params=")
		b.WriteString(strings.Join(sortedKeys(a.Params), ","))
	}
	b.WriteByte('}')
	return b.String()
}

// GoString keeps %#v as safe as %v.
func (a Attach) GoString() string { return a.String() }

// String describes s by its kind and what it carries, redacted.
func (s Step) String() string {
	switch s.Kind {
	case StepToken:
		return "core.Step{token " + s.Token.String() + " changed=" + strconv.FormatBool(s.Changed) + "}"
	case StepRequest:
		return "core.Step{request " + s.Request.String() + "}"
	case StepError:
		if s.Err != nil {
			return "core.Step{error " + s.Err.Error() + "}"
		}
	}
	return "core.Step{" + s.Kind.String() + "}"
}

// GoString keeps %#v as safe as %v.
func (s Step) GoString() string { return s.String() }
