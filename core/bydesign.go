package core

import (
	"strings"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// ByDesign WebAPI Token: a password grant for a rep or a customer, POSTed to
// base_url+"/token" without any auth. Quirks:
//   - The username carries the account kind as a prefix: "-->r_" for a rep,
//     "-->c_" for a customer. The server does not guess which, so user_type is
//     required and the config's username is given WITHOUT the prefix (one that
//     already starts with "-->" is refused rather than doubled).
//   - The answer echoes the prefixed username in userName; it must equal what
//     we sent (prefix exact, the id case-insensitively, as ASP.NET Identity
//     compares names). A rep login answered as a customer is a
//     malformed_response naming userName and the expected prefix, never the
//     name itself. A refresh answer is checked only when it carries userName.
//   - The seed documents JSON bodies, but the answer is that of the OWIN/Katana
//     OAuth server, which reads only forms and answers JSON with 400
//     unsupported_grant_type [inferred]. We send what encoding says (default
//     json, as documented); such an answer to a JSON request is resent once as
//     a form (exchange.alt = 1) in the same Feed, and the session's encoding
//     turns to "form" so that its later requests, refreshes included, do not
//     pay the failed round trip again. Session.Config then reports "form".
//     A second unsupported_grant_type, as a form, is final.
//   - Refresh is OWIN's refresh_token grant (grant_type, refresh_token,
//     client_id) [inferred]; a refused refresh (400 invalid_grant) falls back
//     to a new password grant in session.go. A password change expires every
//     earlier token, which is exactly that case.
//   - expires_in is a number (172799) or a numeric string; without it the
//     RFC 1123 ".expires" date is used. ".issued" becomes IssuedAt when it
//     parses; it is the server's clock, so it never feeds expiry.
//   - The profile fields (userName, userType, userTypeID, displayName,
//     hasReciprocalID, canEnrollAsRep, rankTypeID, as:client_id) are all
//     strings, "False"/"True" included; they go to Extra, and a field of
//     another type is skipped, not fatal. .issued and .expires become
//     issued_at and expires_at only, not Extra.
//   - A 200 that carries "error" is a failure, as in golang.org/x/oauth2.
//   - OWIN answers an unknown or missing client_id with the non-standard
//     error "invalid_clientId" [inferred, as the emulator does]: it is
//     invalid_client, not invalid_request.
//   - The token is sent as "Authorization: Bearer …", OWIN's default
//     [inferred]; since it goes into a header, an access_token with bytes
//     outside visible ASCII (a CR/LF injection) is refused.
type byDesign struct{}

func init() {
	register(ByDesign, byDesign{},
		plain("user_type"), plain("username"), secret("password"), plain("client_id"), plain("encoding"))
}

// Username prefixes, by user_type.
const (
	byDesignRepPrefix      = "-->r_"
	byDesignCustomerPrefix = "-->c_"
)

func (byDesign) defaultBaseURL() string { return "" }

func (byDesign) configure(c *Config) error {
	switch {
	case c.UserType == "":
		return configError("user_type", "missing; rep or customer")
	case strings.EqualFold(c.UserType, "rep"):
		c.UserType = "rep"
	case strings.EqualFold(c.UserType, "customer"):
		c.UserType = "customer"
	default:
		return configError("user_type", "must be rep or customer")
	}
	if c.Username == "" {
		return configError("username", "missing")
	}
	if strings.HasPrefix(c.Username, "-->") {
		return configError("username", "give it without the -->r_/-->c_ prefix; user_type selects the prefix")
	}
	if c.Password == "" {
		return configError("password", "missing")
	}
	if c.ClientID == "" {
		return configError("client_id", "missing (e.g. ByDesignAngularJSShoppingCart)")
	}
	switch {
	case c.Encoding == "" || strings.EqualFold(c.Encoding, "json"):
		c.Encoding = "json"
	case strings.EqualFold(c.Encoding, "form"):
		c.Encoding = "form"
	default:
		return configError("encoding", "must be json or form")
	}
	return nil
}

func (byDesign) refreshes() bool { return true }

// byDesignUser is the username as sent, prefix included.
func byDesignUser(c *Config) string {
	if c.UserType == "customer" {
		return byDesignCustomerPrefix + c.Username
	}
	return byDesignRepPrefix + c.Username
}

func (byDesign) request(c *Config, ex exchange, held *Token) Request {
	var ps [4]param
	n := 0
	if ex.refresh {
		ps[0] = param{"grant_type", "refresh_token"}
		ps[1] = param{"refresh_token", held.RefreshToken}
		ps[2] = param{"client_id", c.ClientID}
		n = 3
	} else {
		// The seed's field order.
		ps[0] = param{"grant_type", "password"}
		ps[1] = param{"username", byDesignUser(c)}
		ps[2] = param{"password", c.Password}
		ps[3] = param{"client_id", c.ClientID}
		n = 4
	}
	r := Request{Method: "POST", URL: c.BaseURL + "/token", Header: map[string]string{"Accept": "application/json"}}
	if c.Encoding == "form" || ex.alt == 1 {
		r.Header["Content-Type"] = "application/x-www-form-urlencoded"
		r.Body = encodeForm(ps[:n])
		return r
	}
	r.Header["Content-Type"] = "application/json"
	r.Body = string(appendFlatJSON(make([]byte, 0, 192), ps[:n]))
	return r
}

// appendFlatJSON writes ps as one compact JSON object, in order.
func appendFlatJSON(dst []byte, ps []param) []byte {
	dst = append(dst, '{')
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, p.k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, p.v)
	}
	return append(dst, '}')
}

// byDesignFields are the top-level keys the parser reads; each may appear
// once. The profile fields among them are copied to Token.Extra.
var byDesignFields = [...]struct {
	key   string
	extra bool
}{
	{"access_token", false}, {"token_type", false}, {"expires_in", false}, {"refresh_token", false},
	{"error", false}, {"error_description", false},
	{"userName", true}, {"userType", true}, {"userTypeID", true}, {"displayName", true},
	{"hasReciprocalID", true}, {"canEnrollAsRep", true}, {"rankTypeID", true},
	// .issued and .expires describe the token, as issued_at and expires_at
	// do: kept in Extra, a refresh that omits them would leave the previous
	// login's dates behind (a refresh keeps the profile fields it omits).
	{"as:client_id", true}, {".issued", false}, {".expires", false},
}

const (
	bdAccessToken = iota
	bdTokenType
	bdExpiresIn
	bdRefreshToken
	bdError
	bdErrorDescription
	bdUserName
	bdIssued   = len(byDesignFields) - 2
	bdExpires  = len(byDesignFields) - 1
	bdNumField = len(byDesignFields)
)

// byDesignField is the index of key k in byDesignFields, or -1; a switch is
// several times faster than scanning the table for every key of the answer.
func byDesignField(k []byte) int {
	switch string(k) {
	case "access_token":
		return bdAccessToken
	case "token_type":
		return bdTokenType
	case "expires_in":
		return bdExpiresIn
	case "refresh_token":
		return bdRefreshToken
	case "error":
		return bdError
	case "error_description":
		return bdErrorDescription
	case "userName":
		return bdUserName
	case "userType":
		return bdUserName + 1
	case "userTypeID":
		return bdUserName + 2
	case "displayName":
		return bdUserName + 3
	case "hasReciprocalID":
		return bdUserName + 4
	case "canEnrollAsRep":
		return bdUserName + 5
	case "rankTypeID":
		return bdUserName + 6
	case "as:client_id":
		return bdUserName + 7
	case ".issued":
		return bdIssued
	case ".expires":
		return bdExpires
	}
	return -1
}

func (byDesign) parse(c *Config, ex exchange, r *Response, now int64, x *parseCtx) (Token, *Error) {
	v, err := x.jsonObject(r, now)
	if err != nil {
		return Token{}, err
	}
	// One pass over the object: a key given twice is refused (runtimes
	// disagree on which copy wins), every other key is ignored.
	var vals [bdNumField]*fastjson.Value
	var dup string
	nExtra := 0
	o, _ := v.Object()
	o.Visit(func(k []byte, fv *fastjson.Value) {
		i := byDesignField(k)
		if i < 0 {
			return
		}
		if vals[i] != nil && dup == "" {
			dup = byDesignFields[i].key
		}
		vals[i] = fv
		if byDesignFields[i].extra && fv.Type() == fastjson.TypeString {
			nExtra++
		}
	})
	word := func() (Token, *Error) {
		switch {
		case dup != "" && r.Status >= 400:
			return Token{}, httpError(r.Status, r, now, x.rd.excerpt(r.Body)) // keep a 5xx retryable
		case dup != "":
			return Token{}, malformed(r.Status, "field "+dup+" appears more than once")
		}
		return byDesignToken(c, ex, r, now, x, v, &vals, nExtra)
	}
	t, e := word()
	// A failing answer may hand out tokens the redactor does not know yet
	// (it learns them once accepted) and echo one in error_description:
	// learn them, then word the error again, so the excerpt masks them in
	// any encoding before it is cut.
	if e != nil {
		if toks := byDesignIssued(v); len(toks) > 0 {
			x.rd.add(toks...)
			if _, again := word(); again != nil {
				e = again
			}
			e.Message = maskAll(e.Message, toks)
		}
	}
	return t, e
}

func byDesignToken(c *Config, ex exchange, r *Response, now int64, x *parseCtx, v *fastjson.Value, vals *[bdNumField]*fastjson.Value, nExtra int) (Token, *Error) {
	st := r.Status
	if ev := vals[bdError]; ev != nil && ev.Type() != fastjson.TypeNull {
		if e, ok := x.oauthError(v, r, now); ok {
			// OWIN servers built on the common AngularJS sample (whose
			// client_id ByDesign's example reuses) reject the client as
			// "invalid_clientId", which oauthCode cannot know.
			if code, _ := optStringField(v, "error", st); e.Code == CodeInvalidRequest && strings.EqualFold(code, "invalid_clientId") {
				e.Code = CodeInvalidClient
			}
			return Token{}, e
		}
		if ev.Type() != fastjson.TypeString && st/100 == 2 {
			return Token{}, malformed(st, "field error is not a string")
		}
	}
	if st/100 != 2 {
		return Token{}, httpError(st, r, now, x.rd.excerpt(r.Body))
	}
	// Every string the token keeps is copied into one allocation: the answer
	// carries up to thirteen of them, and allocations were half the cost.
	var ar bdArena
	for i := range vals {
		if fv := vals[i]; fv != nil && fv.Type() == fastjson.TypeString {
			b, _ := fv.StringBytes()
			ar.n += len(b)
		}
	}
	ar.b.Grow(ar.n)
	var t Token
	var e *Error
	if t.AccessToken, e = ar.str(vals[bdAccessToken], "access_token", st); e != nil {
		return Token{}, e
	}
	if t.AccessToken == "" {
		return Token{}, malformed(st, "access_token missing")
	}
	for i := 0; i < len(t.AccessToken); i++ {
		if c := t.AccessToken[i]; c < 0x21 || c > 0x7e {
			return Token{}, malformed(st, "access_token has characters not allowed in an HTTP header")
		}
	}
	if t.TokenType, e = ar.str(vals[bdTokenType], "token_type", st); e != nil {
		return Token{}, e
	}
	if t.RefreshToken, e = ar.str(vals[bdRefreshToken], "refresh_token", st); e != nil {
		return Token{}, e
	}
	if e = byDesignCheckUser(c, ex, vals[bdUserName], st); e != nil {
		return Token{}, e
	}
	if ev := vals[bdExpiresIn]; ev != nil && ev.Type() != fastjson.TypeNull {
		// The common case without relativeExpiry's formatting of the number;
		// anything unusual takes that path for its checks and messages.
		if n, err := ev.Int64(); err == nil && ev.Type() == fastjson.TypeNumber && n > 0 && n <= maxLifetime {
			t.ExpiresAt = now + n
		} else if t.ExpiresAt, e = relativeExpiry("expires_in", ev, now, st); e != nil {
			return Token{}, e
		}
	} else if xv := vals[bdExpires]; xv != nil && xv.Type() != fastjson.TypeNull {
		b, err := xv.StringBytes()
		if err != nil {
			return Token{}, malformed(st, "field .expires is not a string")
		}
		at, ok := parseHTTPDate(string(b))
		if !ok {
			return Token{}, malformed(st, "field .expires is not an RFC 1123 date")
		}
		if t.ExpiresAt, e = checkAbsolute(".expires", at, now, st); e != nil {
			return Token{}, e
		}
	} else {
		return Token{}, malformed(st, "expires_in and .expires both missing")
	}
	if iv := vals[bdIssued]; iv != nil && iv.Type() == fastjson.TypeString {
		b, _ := iv.StringBytes()
		if at, ok := parseHTTPDate(string(b)); ok && at > 0 {
			t.IssuedAt = at
		}
	}
	if nExtra > 0 {
		t.Extra = make(map[string]string, nExtra)
		for i := range byDesignFields {
			if fv := vals[i]; byDesignFields[i].extra && fv != nil && fv.Type() == fastjson.TypeString {
				t.Extra[byDesignFields[i].key], _ = ar.str(fv, "", st)
			}
		}
	}
	return t, nil
}

// bdArena hands out strings that share one allocation, sized in advance.
type bdArena struct {
	b strings.Builder
	n int
}

// str reads an optional string field: absent and null are "".
func (a *bdArena) str(v *fastjson.Value, key string, status int) (string, *Error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return "", nil
	}
	b, err := v.StringBytes()
	if err != nil {
		return "", malformed(status, "field "+key+" is not a string")
	}
	if len(b) == 0 {
		return "", nil
	}
	start := a.b.Len()
	if start+len(b) > a.b.Cap() {
		return string(b), nil // not counted in advance: never reached, but safe
	}
	a.b.Write(b)
	// Builder.String never copies; earlier slices stay valid as later writes
	// fit the capacity reserved by Grow.
	return a.b.String()[start:], nil
}

// byDesignCheckUser compares userName with the username we sent. The message
// names only the prefixes, never the user name.
func byDesignCheckUser(c *Config, ex exchange, v *fastjson.Value, st int) *Error {
	if v == nil || v.Type() == fastjson.TypeNull {
		if ex.refresh {
			return nil
		}
		return malformed(st, "userName missing; want the "+byDesignPrefix(c)+" ("+c.UserType+") username sent")
	}
	b, err := v.StringBytes()
	if err != nil {
		return malformed(st, "field userName is not a string")
	}
	want := byDesignPrefix(c)
	got := string(b)
	if strings.HasPrefix(got, want) && strings.EqualFold(got[len(want):], c.Username) {
		return nil
	}
	msg := "userName is not the username sent: want prefix " + want + " (" + c.UserType + ")"
	switch {
	case strings.HasPrefix(got, byDesignRepPrefix):
		msg += ", got " + byDesignRepPrefix + " (rep)"
	case strings.HasPrefix(got, byDesignCustomerPrefix):
		msg += ", got " + byDesignCustomerPrefix + " (customer)"
	case !strings.HasPrefix(got, "-->"):
		msg += ", got no prefix"
	}
	if strings.HasPrefix(got, want) {
		msg = "userName is not the username sent (prefix " + want + " matches, the id does not)"
	}
	return malformed(st, msg)
}

func byDesignPrefix(c *Config) string {
	if c.UserType == "customer" {
		return byDesignCustomerPrefix
	}
	return byDesignRepPrefix
}

// byDesignIssued collects every access_token and refresh_token string of
// an answer, copies under repeated keys included.
func byDesignIssued(v *fastjson.Value) []string {
	var out []string
	o, _ := v.Object()
	o.Visit(func(k []byte, fv *fastjson.Value) {
		if string(k) != "access_token" && string(k) != "refresh_token" {
			return
		}
		if b, err := fv.StringBytes(); err == nil {
			out = append(out, string(b))
		}
	})
	return out
}

// alternate resends a JSON request refused with OWIN's 400
// unsupported_grant_type as a form, once, and keeps the session on forms.
func (byDesign) alternate(c *Config, ex exchange, e *Error) (exchange, bool) {
	if e.Code != CodeUnsupportedGrantType || e.Status != 400 || ex.alt != 0 || c.Encoding != "json" {
		return exchange{}, false
	}
	c.Encoding = "form"
	return exchange{refresh: ex.refresh, alt: 1}, true
}

// learned keeps the switch to forms in the token, so that a restart or
// another instance does not pay the failed JSON round trip again.
func (byDesign) learned(c *Config) map[string]string {
	if c.Encoding == "form" {
		return map[string]string{"encoding": "form"}
	}
	return nil
}

func (byDesign) apply(c *Config, m map[string]string) {
	if m["encoding"] == "form" {
		c.Encoding = "form"
	}
}

func (byDesign) attach(_ *Config, t *Token) Attach {
	return Attach{In: "header", Name: "Authorization", Value: "Bearer " + t.AccessToken}
}
