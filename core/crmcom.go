package core

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// CRM.COM POST authentication/consumer_application_key/token: a consumer's
// token obtained with the consumer application key (HTTP Basic user name,
// empty password) and one way of identifying the consumer. Quirks:
//   - Three identification modes, exactly one per config: an access token
//     identifier by authentication_code, or by identifier + pass_code, or
//     (R16.2.0+) a jwt from CRM.COM identity management + organisation.
//     unit is optional in every mode.
//   - The key is mandatory before R16.2.0 and, from R16.2.0, only with
//     identifier + pass_code. We require it for both access-token-identifier
//     modes (we cannot know the server's release) and leave it optional with
//     jwt. A key with ':' cannot be a Basic user name and is refused.
//   - Every answer is JSON, errors included: {"data":…,"status":{"code",
//     "description","message"}}. Failure is status.code != "OK", whatever
//     the HTTP status; a 200 can be a failure. A missing status object on a
//     200 is malformed.
//   - Neither the failing status.code values nor the HTTP statuses are
//     documented. [inferred] 429/5xx are retryable (quota_exceeded /
//     server_error, Retry-After honoured); otherwise the code's words decide:
//     KEY/CLIENT → invalid_client (checked first, so INVALID_KEY is the key's
//     fault), AUTH/CREDENTIAL/INVALID/PASS → invalid_grant, anything else →
//     by HTTP status (401 invalid_client, 403 unauthorized_client) or
//     invalid_request. The vendor's code string is kept in the message: an
//     upper-case constant like INVALID_AUTHENTICATION_CODE escapes the
//     redactor's opaque-run rule (known secrets are still masked), and any
//     data.token the failed answer carries is masked too.
//   - The response carries no expiry: the token is a JWT that "expires after
//     two hours, used or not". exp and iat are strings of unix seconds in the
//     public sample ("exp":"1518104864"); numbers are accepted too. Expiry is
//     exp, else iat + 7200, else receipt + 7200. A present but invalid exp
//     (garbage, past, > 10 years) is malformed; a token that does not decode
//     as a JWT is opaque to us (the doc only promises "more than 32
//     characters") and gets receipt + 7200. A JWT whose payload repeats a
//     claim is malformed: which copy counts would be a guess.
//   - No refresh call: after two hours a new token is requested.
//   - The token is a parameter named "token": query string on GET, a JSON
//     body field on POST (Token.Apply does both from In "query").
type crmcom struct{}

func init() {
	register(CRMCOM, crmcom{},
		secret("key"), secret("authentication_code"), plain("identifier"), secret("pass_code"), secret("jwt"),
		plain("organisation"), plain("unit"))
}

// crmcomLifetime is the documented two hours.
const crmcomLifetime = 2 * 3600

// crmcomMaxClaims bounds Extra: a JWT is small; thousands of claims are an
// attack on memory, not data.
const crmcomMaxClaims = 64

func (crmcom) defaultBaseURL() string { return "" }

const crmcomModes = "one of access_token_identifier authentication_code, identifier + pass_code, or jwt + organisation"

func (crmcom) configure(c *Config) error {
	// Incomplete pairs first: they name the missing half, the most useful hint.
	switch {
	case c.Organisation != "" && c.JWT == "":
		return configError("organisation", "applies only with jwt")
	case c.JWT != "" && c.Organisation == "":
		return configError("organisation", "missing: required with jwt")
	case c.Identifier != "" && c.PassCode == "":
		return configError("pass_code", "missing: required with identifier")
	case c.PassCode != "" && c.Identifier == "":
		return configError("identifier", "missing: required with pass_code")
	}
	var modes []string
	if c.AuthenticationCode != "" {
		modes = append(modes, "authentication_code")
	}
	if c.Identifier != "" {
		modes = append(modes, "identifier")
	}
	if c.JWT != "" {
		modes = append(modes, "jwt")
	}
	switch len(modes) {
	case 0:
		return configError("authentication_code", "missing: set "+crmcomModes)
	case 1:
	default:
		return configError(modes[1], "conflicts with "+modes[0]+": set only "+crmcomModes)
	}
	if c.JWT == "" && c.Key == "" {
		return configError("key", "missing: the consumer application key is required with "+modes[0])
	}
	if strings.IndexByte(c.Key, ':') >= 0 {
		return configError("key", "must not contain ':' (it is sent as the HTTP Basic user name)")
	}
	return nil
}

func (crmcom) refreshes() bool { return false }

func (crmcom) request(c *Config, _ exchange, _ *Token) Request {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
	if c.Key != "" {
		h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Key+":"))
	}
	b := make([]byte, 0, 64+len(c.AuthenticationCode)+len(c.Identifier)+len(c.PassCode)+len(c.JWT)+len(c.Organisation)+len(c.Unit))
	b = append(b, '{')
	switch {
	case c.JWT != "":
		b = append(b, `"jwt":`...)
		b = appendJSONString(b, c.JWT)
		b = append(b, `,"organisation":`...)
		b = appendJSONString(b, c.Organisation)
	case c.Identifier != "":
		b = append(b, `"access_token_identifier":{"identifier":`...)
		b = appendJSONString(b, c.Identifier)
		b = append(b, `,"pass_code":`...)
		b = appendJSONString(b, c.PassCode)
		b = append(b, '}')
	default:
		b = append(b, `"access_token_identifier":{"authentication_code":`...)
		b = appendJSONString(b, c.AuthenticationCode)
		b = append(b, '}')
	}
	if c.Unit != "" {
		b = append(b, `,"unit":`...)
		b = appendJSONString(b, c.Unit)
	}
	b = append(b, '}')
	return Request{Method: "POST", URL: c.BaseURL + "/authentication/consumer_application_key/token", Header: h, Body: string(b)}
}

func (crmcom) parse(_ *Config, _ exchange, r *Response, now int64, x *parseCtx) (Token, *Error) {
	v, err := x.jsonObject(r, now)
	if err != nil {
		return Token{}, err
	}
	if r.Status != 200 || v.Get("status", "code") == nil || string(v.GetStringBytes("status", "code")) != "OK" {
		// A failing answer may carry tokens the redactor does not know yet
		// (it learns them once accepted): learn them before any excerpt is
		// made, so they are masked, in any encoding, before the cut.
		x.rd.add(crmcomTokens(v)...)
	}
	// A failing HTTP status whose body is not the documented envelope is
	// reported by its status, not as malformed.
	bad := func(e *Error) *Error {
		if r.Status >= 400 {
			return httpError(r.Status, r, now, x.rd.excerpt(r.Body))
		}
		return e
	}
	sv, err := field(v, "status", r.Status)
	if err != nil {
		return Token{}, bad(err)
	}
	if sv == nil || sv.Type() != fastjson.TypeObject {
		return Token{}, bad(malformed(r.Status, "status object missing"))
	}
	code, err := optStringField(sv, "code", r.Status)
	if err != nil {
		return Token{}, bad(err)
	}
	if code == "" {
		return Token{}, bad(malformed(r.Status, "status.code missing"))
	}
	if code != "OK" {
		msg, _ := optStringField(sv, "message", r.Status)
		if msg == "" {
			msg, _ = optStringField(sv, "description", r.Status)
		}
		return Token{}, crmcomStatusError(code, msg, r, now, x)
	}
	if r.Status < 200 || r.Status > 299 {
		return Token{}, httpError(r.Status, r, now, x.rd.excerpt(r.Body))
	}
	dv, err := field(v, "data", r.Status)
	if err != nil {
		return Token{}, err
	}
	if dv == nil || dv.Type() != fastjson.TypeObject {
		return Token{}, malformed(r.Status, "data.token missing (data is not an object)")
	}
	tok, err := optStringField(dv, "token", r.Status)
	if err != nil {
		return Token{}, err
	}
	if tok == "" {
		return Token{}, malformed(r.Status, "data.token missing")
	}
	// v is dead from here: the JWT payload reuses the parser.
	t := Token{AccessToken: tok}
	if err := crmcomExpiry(&t, now, r.Status, &x.p); err != nil {
		err.Message = x.rd.mask(err.Message) // it may quote a claim name
		return Token{}, err
	}
	return t, nil
}

// crmcomStatusError maps a status.code other than "OK". See the quirks.
func crmcomStatusError(code, msg string, r *Response, now int64, x *parseCtx) *Error {
	e := &Error{Status: r.Status, Code: CodeInvalidRequest}
	up := strings.ToUpper(code)
	switch {
	case r.Status == 429:
		e.Code, e.Retryable = CodeQuotaExceeded, true
	case r.Status >= 500:
		e.Code, e.Retryable = CodeServerError, true
	case strings.Contains(up, "KEY") || strings.Contains(up, "CLIENT"):
		e.Code = CodeInvalidClient
	case strings.Contains(up, "AUTH") || strings.Contains(up, "CREDENTIAL") ||
		strings.Contains(up, "INVALID") || strings.Contains(up, "PASS"):
		e.Code = CodeInvalidGrant
	case r.Status == 401:
		e.Code = CodeInvalidClient
	case r.Status == 403:
		e.Code = CodeUnauthorizedClient
	}
	if e.Retryable {
		e.RetryAfter = retryAfter(r.header("retry-after"), now)
	}
	var ct string
	if crmcomCodeLike(code) {
		// The redactor would take INVALID_AUTHENTICATION_CODE for an opaque
		// token; known secrets and tokens are still masked.
		ct = x.rd.maskKnown(code)
	} else {
		ct = x.rd.excerpt([]byte(code))
	}
	e.Message = "status " + clip(ct, 64)
	if msg != "" {
		e.Message += ": " + x.rd.excerpt([]byte(msg))
	}
	return e
}

// crmcomCodeLike reports an upper-case constant such as
// INVALID_AUTHENTICATION_CODE. No digits: hex keys and random tokens have them.
func crmcomCodeLike(s string) bool {
	if len(s) > 64 || strings.IndexByte(s, '_') < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return true
}

// crmcomTokens collects every data.token string of a failed answer, copies
// under repeated keys included, so that an error echoing one can mask it:
// the session's redactor only learns tokens it accepted.
func crmcomTokens(v *fastjson.Value) []string {
	var out []string
	o, _ := v.Object()
	o.Visit(func(k []byte, dv *fastjson.Value) {
		if string(k) != "data" || dv.Type() != fastjson.TypeObject {
			return
		}
		d, _ := dv.Object()
		d.Visit(func(k []byte, tv *fastjson.Value) {
			if s, ok := stringValue(tv); ok && string(k) == "token" {
				out = append(out, s)
			}
		})
	})
	return out
}

// crmcomExpiry dates t from its JWT claims and copies them to Extra.
func crmcomExpiry(t *Token, now int64, status int, p *fastjson.Parser) *Error {
	claims, ok := jwtPayload(t.AccessToken, p)
	if !ok {
		t.ExpiresAt = now + crmcomLifetime
		return nil
	}
	// Keys and values are gathered in one buffer and sliced out of one
	// string: one allocation instead of two per claim.
	var spans [crmcomMaxClaims]claimSpan
	n := 0
	buf := make([]byte, 0, 256) // fastjson's MarshalTo would move a stack array to the heap anyway
	var dup string
	o, _ := claims.Object()
	o.Visit(func(k []byte, v *fastjson.Value) {
		if dup != "" {
			return
		}
		for _, sp := range spans[:n] {
			if string(buf[sp.k0:sp.k1]) == string(k) {
				dup = string(k)
				return
			}
		}
		if n == crmcomMaxClaims {
			return
		}
		sp := claimSpan{k0: len(buf)}
		buf = append(buf, k...)
		sp.k1, sp.v0 = len(buf), len(buf)
		var ok bool
		if buf, ok = appendClaim(buf, v); !ok {
			sp.v0 = -1 // kept for the duplicate check only
		}
		sp.v1 = len(buf)
		spans[n] = sp
		n++
	})
	if dup != "" {
		return malformed(status, "token claim "+strconv.Quote(clip(dup, 32))+" appears more than once")
	}
	all := string(buf)
	extra := make(map[string]string, n)
	for _, sp := range spans[:n] {
		if sp.v0 >= 0 {
			extra[all[sp.k0:sp.k1]] = all[sp.v0:sp.v1]
		}
	}
	// field refuses a repeated exp or iat even beyond the Extra cap.
	exp, err := field(claims, "exp", status)
	if err != nil {
		return err
	}
	iat, err := field(claims, "iat", status)
	if err != nil {
		return err
	}
	var iatN int64
	iatOK := false
	if iat != nil && iat.Type() != fastjson.TypeNull {
		iatN, iatOK = intValue(iat)
		iatOK = iatOK && iatN > 0
	}
	switch {
	case exp != nil && exp.Type() != fastjson.TypeNull:
		e, err := absoluteExpiry("token claim exp", exp, now, status)
		if err != nil {
			return err
		}
		t.ExpiresAt = e
		if iatOK && iatN < e {
			t.IssuedAt = iatN
		}
	case iat != nil && iat.Type() != fastjson.TypeNull:
		if !iatOK || iatN > math.MaxInt64-crmcomLifetime {
			return malformed(status, "token claim iat is not a whole number of unix seconds")
		}
		e, err := checkAbsolute("token claim iat + 7200", iatN+crmcomLifetime, now, status)
		if err != nil {
			return err
		}
		t.ExpiresAt, t.IssuedAt = e, iatN
	default:
		t.ExpiresAt = now + crmcomLifetime
	}
	if len(extra) > 0 {
		t.Extra = extra
	}
	return nil
}

// jwtPayload decodes the claims of a compact JWS (header.payload.signature).
// ok is false for anything else: an opaque token, a JWE, a payload that is
// not base64url or not a JSON object. Trailing '=' padding is tolerated.
func jwtPayload(tok string, p *fastjson.Parser) (*fastjson.Value, bool) {
	i := strings.IndexByte(tok, '.')
	if i <= 0 {
		return nil, false
	}
	rest := tok[i+1:]
	j := strings.IndexByte(rest, '.')
	if j <= 0 || strings.IndexByte(rest[j+1:], '.') >= 0 {
		return nil, false
	}
	seg := strings.TrimRight(rest[:j], "=")
	var stack [768]byte
	buf := stack[:0]
	if n := base64.RawURLEncoding.DecodedLen(len(seg)); n > len(stack) {
		buf = make([]byte, 0, n)
	}
	buf, err := base64.RawURLEncoding.AppendDecode(buf, []byte(seg))
	if err != nil {
		return nil, false
	}
	v, err := p.ParseBytes(buf)
	if err != nil || v.Type() != fastjson.TypeObject {
		return nil, false
	}
	return v, true
}

// claimSpan locates one claim's key and rendered value in a shared buffer.
type claimSpan struct{ k0, k1, v0, v1 int }

// appendClaim renders a claim for Extra: strings as they are, numbers as
// decimal text (whole numbers digit for digit, others without exponent up to
// 1e21), booleans as true/false. ok is false for objects, arrays and null.
func appendClaim(dst []byte, v *fastjson.Value) ([]byte, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return append(dst, b...), true
	case fastjson.TypeNumber:
		start := len(dst)
		dst = v.MarshalTo(dst)
		if isWholeNumber(dst[start:]) {
			return dst, true
		}
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= 1e21 {
			return dst, true
		}
		return strconv.AppendFloat(dst[:start], f, 'f', -1, 64), true
	case fastjson.TypeTrue:
		return append(dst, "true"...), true
	case fastjson.TypeFalse:
		return append(dst, "false"...), true
	}
	return dst, false
}

func isWholeNumber(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (crmcom) alternate(*Config, exchange, *Error) (exchange, bool) { return exchange{}, false }

func (crmcom) attach(_ *Config, t *Token) Attach {
	return Attach{In: "query", Name: "token", Value: t.AccessToken}
}
