package core

import (
	"strconv"
	"strings"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
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

// parseHTTPDate reads the three HTTP-date forms of RFC 9110 §5.6.7, as
// ByDesign's .expires and Retry-After use: IMF-fixdate ("Sun, 17 Apr 2022
// 13:37:44 GMT"), RFC 850 ("Sunday, 17-Apr-22 13:37:44 GMT") and asctime
// ("Sun Apr 17 13:37:44 2022"); a numeric zone ("+0000") is accepted too.
// Written by hand because time.Parse links the time package, its zone
// database code and syscall into the WASM build. The weekday is not checked.
func parseHTTPDate(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, ok := imfFixdate(s); ok {
		return n, true
	}
	var day, mon, year int
	var clock, zone string
	var ok bool
	if comma := strings.IndexByte(s, ','); comma >= 0 {
		f := strings.Fields(s[comma+1:])
		switch {
		case len(f) == 5: // 17 Apr 2022 13:37:44 GMT
			day, ok = atoiN(f[0], 1, 2)
			mon = monthIndex(f[1])
			year, _ = atoiN(f[2], 4, 4)
			clock, zone = f[3], f[4]
		case len(f) == 3: // 17-Apr-22 13:37:44 GMT
			d := strings.Split(f[0], "-")
			if len(d) != 3 {
				return 0, false
			}
			day, ok = atoiN(d[0], 1, 2)
			mon = monthIndex(d[1])
			if year, _ = atoiN(d[2], 2, 2); year != 0 || d[2] == "00" {
				// RFC 9110: a two-digit year more than 50 years ahead is in the past century.
				year += 2000
				if year > 2069 {
					year -= 100
				}
			}
			clock, zone = f[1], f[2]
		default:
			return 0, false
		}
	} else { // Sun Apr 17 13:37:44 2022
		f := strings.Fields(s)
		if len(f) != 5 {
			return 0, false
		}
		mon = monthIndex(f[1])
		day, ok = atoiN(f[2], 1, 2)
		clock, zone = f[3], "GMT"
		year, _ = atoiN(f[4], 4, 4)
	}
	if !ok || mon == 0 || year == 0 || day < 1 || day > daysIn(mon, year) {
		return 0, false
	}
	hms := strings.Split(clock, ":")
	if len(hms) != 3 {
		return 0, false
	}
	h, ok1 := atoiN(hms[0], 2, 2)
	m, ok2 := atoiN(hms[1], 2, 2)
	sec, ok3 := atoiN(hms[2], 2, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	var offset int64
	switch {
	case zone == "GMT" || zone == "UTC" || zone == "UT" || zone == "Z":
	case len(zone) == 5 && (zone[0] == '+' || zone[0] == '-'):
		oh, ok1 := atoiN(zone[1:3], 2, 2)
		om, ok2 := atoiN(zone[3:], 2, 2)
		if !ok1 || !ok2 || om > 59 {
			return 0, false
		}
		offset = int64(oh*3600 + om*60)
		if zone[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	return daysFromCivil(year, mon, day)*86400 + int64(h*3600+m*60+sec) - offset, true
}

// imfFixdate is the allocation-free path for the form every server sends
// today, "Sun, 17 Apr 2022 13:37:44 GMT": fixed width, GMT only.
func imfFixdate(s string) (int64, bool) {
	if len(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
		s[19] != ':' || s[22] != ':' || s[25:] != " GMT" {
		return 0, false
	}
	mon := monthIndex(s[8:11])
	day, ok1 := atoiN(s[5:7], 2, 2)
	year, ok2 := atoiN(s[12:16], 4, 4)
	h, ok3 := atoiN(s[17:19], 2, 2)
	m, ok4 := atoiN(s[20:22], 2, 2)
	sec, ok5 := atoiN(s[23:25], 2, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mon == 0 || day < 1 || day > daysIn(mon, year) || h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return daysFromCivil(year, mon, day)*86400 + int64(h*3600+m*60+sec), true
}

// atoiN reads a decimal of min to max digits.
//
//go:noinline
func atoiN(s string, min, max int) (int, bool) {
	if len(s) < min || len(s) > max {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

//go:noinline
func monthIndex(s string) int {
	const months = "JanFebMarAprMayJunJulAugSepOctNovDec"
	if len(s) != 3 {
		return 0
	}
	// Case-insensitive, as time.Parse is: a lenient reader loses nothing here.
	var b [3]byte
	for i := 0; i < 3; i++ {
		c := s[i] | 0x20
		if i == 0 {
			c &^= 0x20
		}
		b[i] = c
	}
	for i := 0; i < 12; i++ {
		if months[i*3:i*3+3] == string(b[:]) {
			return i + 1
		}
	}
	return 0
}

func daysIn(mon, year int) int {
	switch mon {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to the proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
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
