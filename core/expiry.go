package core

import (
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// maxLifetime rejects absurd expiries: more than ten years ahead is a unit
// mistake (milliseconds for seconds) or garbage, never a real token.
const maxLifetime = 10 * 366 * 86400

// intValue reads a whole number given as a JSON number or a numeric string
// (DQE's "300", CRM.COM's "1518104864"). Fractions, exponents, blanks and
// anything beyond int64 are refused.
func intValue(v *fastjson.Value) (int64, bool) {
	var s string
	switch v.Type() {
	case fastjson.TypeNumber:
		s = string(v.MarshalTo(nil))
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		s = strings.TrimSpace(string(b))
	default:
		return 0, false
	}
	if s == "" || strings.ContainsAny(s, ".eE") {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// relativeExpiry normalises an expires_in style field (seconds from now).
func relativeExpiry(field string, v *fastjson.Value, now int64, status int) (int64, *Error) {
	n, ok := intValue(v)
	switch {
	case !ok:
		return 0, malformed(status, field+" is not a whole number of seconds")
	case n <= 0:
		return 0, malformed(status, field+" is not positive ("+strconv.FormatInt(n, 10)+")")
	case n > maxLifetime:
		return 0, malformed(status, field+" is more than ten years ("+strconv.FormatInt(n, 10)+" s)")
	}
	return now + n, nil
}

// absoluteExpiry normalises a unix-seconds expiry (MoversConnect's
// TokenExpires, a JWT exp). One already past at receipt is refused: storing it
// would make every later call ask again at once.
func absoluteExpiry(field string, v *fastjson.Value, now int64, status int) (int64, *Error) {
	n, ok := intValue(v)
	if !ok {
		return 0, malformed(status, field+" is not a whole number of unix seconds")
	}
	return checkAbsolute(field, n, now, status)
}

func checkAbsolute(field string, n, now int64, status int) (int64, *Error) {
	switch {
	case n <= now:
		return 0, malformed(status, field+" is already past ("+strconv.FormatInt(n, 10)+" <= now "+strconv.FormatInt(now, 10)+")")
	case n-now > maxLifetime:
		return 0, malformed(status, field+" is more than ten years ahead ("+strconv.FormatInt(n, 10)+")")
	}
	return n, nil
}

// parseHTTPDate reads an RFC 1123 date ("Sun, 17 Apr 2022 13:37:44 GMT"), as
// ByDesign's .expires and Retry-After use.
func parseHTTPDate(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Monday, 02-Jan-06 15:04:05 MST", time.ANSIC} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

// refreshAt is when a token turns stale: leeway seconds before expiry, but
// never earlier than half its life, so a 30-second token is not stale from
// birth when the leeway is 60.
func refreshAt(expiresAt, issuedAt, leeway int64) int64 {
	if expiresAt == 0 {
		return 0
	}
	if issuedAt != 0 && issuedAt < expiresAt {
		if half := (expiresAt - issuedAt) / 2; leeway > half {
			leeway = half
		}
	}
	return expiresAt - leeway
}
