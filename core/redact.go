package core

import (
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"
)

// excerptLen bounds the body excerpt carried by an error: enough to recognise
// "502 Bad Gateway" or an error description, too little to carry a payload.
const excerptLen = 160

// minOpaqueRun is the length from which a run of token-like characters is
// masked even when we do not know it as a secret: vendor tokens, JWTs and
// refresh tokens are all longer, human error messages rarely have such words.
const minOpaqueRun = 24

// minFreeLen is the length from which a known secret is masked wherever it
// appears, even inside a word. A shorter one ("987", a pass code) would mask
// parts of ordinary words, so it is masked only where it stands as a whole
// value: a JSON string, a form or query value, a word of its own.
const minFreeLen = 4

// redactor masks every secret the session knows (configured credentials,
// the base64 forms the core sends them in, and tokens it holds) plus
// anything that looks like an opaque token.
type redactor struct {
	secrets []secretText
	pinned  int // secrets[:pinned] are the configured credentials, never dropped
}

// secretText is one text to mask. whole: only where it stands as a whole
// value (see minFreeLen).
type secretText struct {
	v       string
	whole   bool
	derived bool // an encoded copy of another secret
}

// maxRememberedTokens bounds the token values kept besides the pinned
// credentials: a session renewing every five minutes for months must not grow
// without end, nor make every mask slower. Old tokens are dead anyway, and
// long ones are caught by the opaque-run rule.
const maxRememberedTokens = 16

func (r *redactor) add(s ...string) {
	for _, v := range s {
		if v == "" || r.has(v) {
			continue
		}
		r.remember(secretText{v: v, whole: len(v) < minFreeLen})
		// mask reads each character raw or encoded (twice over too), but not
		// a form body encoded twice as a whole (space → + → %2B): matching
		// the form-encoded copy with the same rules covers that.
		if needsFormEscape(v) {
			var b strings.Builder
			b.Grow(len(v) + 16)
			escapeForm(&b, v)
			if e := b.String(); !r.has(e) {
				r.remember(secretText{v: e, whole: len(v) < minFreeLen, derived: true})
			}
		}
	}
}

func (r *redactor) has(v string) bool {
	for _, have := range r.secrets {
		if have.v == v {
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

func (r *redactor) remember(v secretText) {
	if len(r.secrets) >= r.pinned+maxRememberedTokens {
		copy(r.secrets[r.pinned:], r.secrets[r.pinned+1:])
		r.secrets = r.secrets[:len(r.secrets)-1]
	}
	r.secrets = append(r.secrets, v)
}

// pin marks everything added so far (the configuration's credentials) as
// permanent, together with the base64 forms of each: the core itself sends
// CRM.COM's key as HTTP Basic base64("key:"), and a vendor or proxy that
// echoes an Authorization header echoes that form, however short the key.
func (r *redactor) pin() {
	n := len(r.secrets)
	for i := 0; i < n; i++ {
		if sec := r.secrets[i]; !sec.derived {
			for _, f := range base64Forms(sec.v) {
				if !r.has(f.v) {
					r.secrets = append(r.secrets, f)
				}
			}
		}
	}
	r.pinned = len(r.secrets)
}

// minBase64Run is the shortest run of base64 characters taken from inside a
// longer credential that is masked: shorter runs would match ordinary words.
const minBase64Run = 8

// base64Forms is what a credential v looks like inside a base64 text, in the
// standard and the URL alphabet, padding left off (so that padded and
// unpadded echoes both match): v itself, v as a Basic user name without a
// password ("v:", CRM.COM), and, for v placed anywhere inside a longer
// credential ("user:v", "v:pass"), the characters that depend on v alone at
// each of the three alignments.
func base64Forms(v string) []secretText {
	var out []secretText
	seen := map[string]bool{}
	push := func(s string, whole bool) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, secretText{v: s, whole: whole, derived: true})
		}
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for _, w := range []string{v + ":", v} {
			e := enc.EncodeToString([]byte(w))
			push(e, len(e) < minBase64Run)
		}
		for p := 0; p < 3; p++ {
			// p bytes of something else, then v: character k of a group of
			// four reads bytes 3g+(0), (0,1), (1,2), (2) of its group.
			buf := make([]byte, p+len(v))
			copy(buf[p:], v)
			e := enc.EncodeToString(buf)
			start := [3]int{0, 2, 3}[p]
			last := len(buf) - 1
			g, pos := last/3, last%3
			followed := 4*g + [3]int{1, 2, 4}[pos] // more bytes follow v
			if followed-start >= minBase64Run {
				push(e[start:followed], false)
			}
			if len(e)-start >= minBase64Run { // v ends the credential
				push(e[start:], false)
			}
		}
	}
	return out
}

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
// them in, then any long opaque run and any Basic credential, with
// [redacted]. Only the first 4 KiB is kept (callers clip far shorter).
func (r *redactor) mask(s string) string {
	s, cut := r.maskHead(s)
	s = maskOpaque(s)
	if cut {
		s += "…"
	}
	return s
}

// maskKnown replaces only the known secrets (and Basic credentials), for a
// text such as an upper-case error constant that the opaque-run rule would
// take for a token.
func (r *redactor) maskKnown(s string) string {
	s, cut := r.maskHead(s)
	s = maskBasic(s)
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
	for _, sec := range r.secrets {
		c := sec.v[0]
		first[c] = true
		if c|0x20 >= 'a' && c|0x20 <= 'z' {
			first[c^0x20] = true // the other case
		}
		if c >= utf8.RuneSelf {
			// Another case of a non-ASCII letter may start with another byte.
			for b := 0xC0; b < 0x100; b++ {
				first[b] = true
			}
		}
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
		for _, sec := range r.secrets {
			v := sec.v
			if len(s)-i < len(v) {
				continue // no encoding is shorter than the secret
			}
			e := matchSecret(s, i, v, &steps)
			if e > end && (!sec.whole || wholeValue(s, i, e)) {
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

// wholeValue reports whether s[i:end] stands alone: no letter or digit
// touches it on either side, also not through an escape ("%22987%22" is the
// JSON string "987" in a URL, "\u0022" the same in JSON).
func wholeValue(s string, i, end int) bool {
	if i > 0 && isWordByte(s[i-1]) {
		before := rune(-1)
		if i >= 3 && s[i-3] == '%' {
			if v, ok := hexByte(s, i-2); ok {
				before = rune(v)
			}
		}
		if before < 0 && i >= 6 && s[i-6] == '\\' && s[i-5] == 'u' {
			if v, _ := jsonU(s, i-6); v >= 0 {
				before = v
			}
		}
		if before < 0 || before >= utf8.RuneSelf || isWordByte(byte(before)) {
			return false
		}
	}
	return end >= len(s) || !isWordByte(s[end])
}

// isWordByte: ASCII letters, digits, '_' and every byte of a non-ASCII
// character.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= utf8.RuneSelf
}

// maxEncodedLen is the longest text any known secret can be echoed as (see
// matchSecret): at most 16 bytes of text per byte of secret (&#x00041; for
// "A"), plus the letter spacing between characters.
func (r *redactor) maxEncodedLen() int {
	n := 0
	for _, v := range r.secrets {
		n = max(n, len(v.v))
	}
	return (16 + maxGapUnits*6) * n
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
// Encodings may mix, as they do when one is nested in another. Letters match
// in any case (a vendor that upper-cases what it echoes), and characters may
// be spaced out ("p a s s"), with up to maxGapUnits spaces between two.
//
// steps is what is left of the caller's budget; one match may use at most
// 8*len(secret)+64 of it, which bounds backtracking.
func matchSecret(s string, i int, secret string, steps *int) int {
	budget := min(8*len(secret)+64, *steps)
	start := budget
	e := matchFrom(s, i, secret, &budget, 0, false)
	*steps -= start - max(budget, 0)
	return e
}

// maskSteps bounds the matching work of one mask: far above what any real
// text needs (a 4 KiB form body against twenty secrets uses about a tenth),
// far below what would let a hostile vendor (a megabyte token, then error
// bodies that almost repeat it) hold a client's CPU.
const maskSteps = 1 << 20

// maxGapUnits bounds the spaces read between two characters of a secret.
const maxGapUnits = 3

func matchFrom(s string, i int, secret string, budget *int, depth int, started bool) int {
	for {
		if secret == "" {
			return i
		}
		c := secret[0]
		if started {
			// Letter spacing (see skipSpace for why it is greedy).
			for n := 0; n < maxGapUnits; n++ {
				j := skipSpace(s, i, c)
				if j < 0 {
					break
				}
				*budget--
				i = j
			}
		}
		started = true
		if *budget--; *budget < 0 || i >= len(s) {
			return -1
		}
		// Most characters have one reading at s[i]: the loop goes on.
		// Only a '%', '&' or '\\' in the secret can also start another
		// encoding ("%" against "%25…"); then the literal reading is tried
		// in a recursion (bounded in depth) and the others after it.
		ambiguous := (c == '%' || c == '&' || c == '\\') && depth < maxMatchDepth
		switch {
		case c >= utf8.RuneSelf:
			// A non-ASCII character, raw, in any case.
			r, size := utf8.DecodeRuneInString(secret)
			if r == utf8.RuneError && size == 1 {
				if s[i] == c {
					i, secret = i+1, secret[1:]
					continue
				}
				break
			}
			r2, size2 := utf8.DecodeRuneInString(s[i:])
			if foldEq(r, r2) && (r2 != utf8.RuneError || size2 > 1) {
				i, secret = i+size2, secret[size:]
				continue
			}
			// Percent-encoded, in another case ("%C3%89" for "é").
			if r2, j := pctRune(s, i); j > 0 && r2 != r && foldEq(r, r2) {
				i, secret = j, secret[size:]
				continue
			}
		case eqFold(s[i], c) && !ambiguous:
			i, secret = i+1, secret[1:]
			continue
		case s[i] == c:
			if e := matchFrom(s, i+1, secret[1:], budget, depth+1, true); e >= 0 {
				return e
			}
		case c == ' ' && s[i] == '+':
			i, secret = i+1, secret[1:]
			continue
		}
		if s[i] == '%' {
			if v, ok := hexByte(s, i+1); ok {
				if eqFold(v, c) && c != '%' {
					i, secret = i+3, secret[1:]
					continue
				}
				if v == c && depth < maxMatchDepth {
					if e := matchFrom(s, i+3, secret[1:], budget, depth+1, true); e >= 0 {
						return e
					}
				}
				if v == '%' {
					if v2, ok := hexByte(s, i+3); ok && eqFold(v2, c) {
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

// pctRune reads one character percent-encoded byte by byte at s[i]: the
// rune and where it ends, or 0 and -1.
func pctRune(s string, i int) (rune, int) {
	var buf [utf8.UTFMax]byte
	n := 0
	for j := i; n < len(buf); j += 3 {
		if j >= len(s) || s[j] != '%' {
			break
		}
		v, ok := hexByte(s, j+1)
		if !ok {
			break
		}
		buf[n] = v
		n++
		if utf8.FullRune(buf[:n]) {
			r, size := utf8.DecodeRune(buf[:n])
			if r == utf8.RuneError && size <= 1 {
				return 0, -1
			}
			return r, j + 3
		}
	}
	return 0, -1
}

// skipSpace reads one space at s[i] (white space, a form's +, %20, \u0020,
// &nbsp; &#32; &#x20;, a raw no-break space) and says where it ends, or -1.
// next is the secret's byte that must follow (0: none): a space that could
// also be a reading of next ('+' for a '+', "%20" for a '%') is not skipped,
// so skipping never loses a reading and matching needs no backtracking.
func skipSpace(s string, i int, next byte) int {
	white := next == ' ' || next == '\t' || next == '\n' || next == '\r'
	if i >= len(s) || white {
		return -1
	}
	switch s[i] {
	case ' ', '\t', '\n', '\r':
		return i + 1
	case '+':
		if next != '+' {
			return i + 1
		}
	case 0xC2:
		if i+1 < len(s) && s[i+1] == 0xA0 && next != 0xC2 {
			return i + 2
		}
	case '%':
		if strings.HasPrefix(s[i:], "%20") && next != '%' {
			return i + 3
		}
	case '\\', '&':
		if next == s[i] {
			return -1
		}
		if j := matchRune(s, i, ' '); j >= 0 {
			return j
		}
		if j := matchRune(s, i, 0xA0); j >= 0 && next != 0xC2 {
			return j
		}
	}
	return -1
}

// eqFold compares two bytes, ASCII letters in either case.
func eqFold(a, b byte) bool {
	if a == b {
		return true
	}
	l := a | 0x20
	return l == b|0x20 && l >= 'a' && l <= 'z'
}

// foldEq compares two runes in any case (simple Unicode case folding).
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return eqFold(byte(a), byte(b))
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
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

// matchRune reads rune r at s[i] as a JSON escape or an HTML/XML reference,
// in any case.
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
			if v >= 0 && foldEq(v, r) {
				return n
			}
			if v >= 0xD800 && v < 0xDC00 && r >= 0x10000 {
				lo, n2 := jsonU(s, n)
				if lo >= 0xDC00 && lo < 0xE000 && foldEq(0x10000+(v-0xD800)<<10+(lo-0xDC00), r) {
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
		if v := entityRune(s[i+1 : i+semi]); v >= 0 && foldEq(v, r) {
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
// token, JWT or key, and every Basic credential, with [redacted].
func maskOpaque(s string) string {
	s = maskBasic(s)
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

// maskBasic replaces the credential of every "Basic <base64>" (any case,
// spaces, + or %20 between) with [redacted]: an echoed Authorization header
// carries user:password, whoever's they are, and however short. The run
// must decode to a text with a ':', as every Basic credential does, so the
// words after "basic" in prose stay.
func maskBasic(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+6 < len(s); i++ {
		if !eqFold(s[i], 'b') || !strings.EqualFold(s[i:i+5], "basic") || (i > 0 && isWordByte(s[i-1])) {
			continue
		}
		j := i + 5
		for n := 0; n < maxGapUnits; n++ {
			k := skipSpace(s, j, 0)
			if k < 0 {
				break
			}
			j = k
		}
		if j == i+5 {
			continue
		}
		k := j
		for k < len(s) && isBase64Char(s[k]) {
			k++
		}
		run := strings.TrimRight(s[j:k], "=")
		if run == "" || !basicCredential(run) {
			continue
		}
		b.WriteString(s[last:j])
		b.WriteString("[redacted]")
		last, i = k, k-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isBase64Char(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

// basicCredential reports whether run (base64, padding dropped, bounded to
// what an excerpt can hold) decodes to text with a ':'.
func basicCredential(run string) bool {
	if len(run) > excerptRead {
		return true // too long to be prose: mask it
	}
	var buf [excerptRead]byte
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if n, err := enc.Decode(buf[:], []byte(run)); err == nil && strings.IndexByte(string(buf[:n]), ':') >= 0 {
			return true
		}
	}
	return false
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
