package core

import (
	"strconv"
	"strings"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// Token is an access token with what is needed to use and renew it.
// Times are unix seconds; 0 means unknown (null on the wire).
type Token struct {
	Provider         string
	AccessToken      string
	TokenType        string
	RefreshToken     string
	ExpiresAt        int64
	RefreshAt        int64 // from here on the token is stale: still usable, refresh it now
	RefreshExpiresAt int64
	IssuedAt         int64
	Attach           Attach            // how the vendor wants the token sent
	Extra            map[string]string // vendor fields (ByDesign userName…, CRM.COM JWT claims)

	// Rev increases with every new or renewed token the core commits
	// (docs/protocol.md); 0 = never committed (a v1 store file).
	Rev int64
	// ReceivedAt is when the answer carrying the token was fed (unix
	// seconds); it bounds freshness from below when a clock jumps back.
	ReceivedAt int64
	// Learned is what the session learned about the vendor and must not
	// probe again after a restart or on another instance (ByDesign:
	// {"encoding":"form"}).
	Learned map[string]string
}

// Attach says where a token goes on the vendor's API calls.
type Attach struct {
	In     string            // "header", "query", "form" or "json"; see Token.Apply for "query" on POST
	Name   string            // header, parameter or field name
	Value  string            // the full value, e.g. "Bearer abc"
	Params map[string]string // more parameters sent the same way (DQE's licence)
}

// State is where a token stands at a given moment.
type State int

const (
	Missing State = iota // no access token
	Fresh                // use it
	Stale                // use it, and refresh it now
	Expired              // do not use it
)

func (s State) String() string {
	switch s {
	case Fresh:
		return "fresh"
	case Stale:
		return "stale"
	case Expired:
		return "expired"
	}
	return "missing"
}

// StateAt says whether t is fresh, stale or expired at nowMs (unix
// milliseconds). A token with unknown expiry is stale: usable, but renewed at
// the first chance, because a token we cannot date must not be trusted for
// long. A token received in the future (more than receivedSkew seconds ahead
// of now: the clock jumped back) is stale too, so that it is renewed rather
// than trusted for the jump plus its lifetime.
func (t *Token) StateAt(nowMs int64) State {
	now := floorDiv(nowMs, 1000)
	switch {
	case t.AccessToken == "":
		return Missing
	case t.ExpiresAt == 0:
		return Stale
	case now >= t.ExpiresAt:
		return Expired
	case t.RefreshAt != 0 && now >= t.RefreshAt:
		return Stale
	case t.ReceivedAt != 0 && t.ReceivedAt-receivedSkew > now:
		return Stale
	}
	return Fresh
}

// receivedSkew is how far (seconds) a token's received_at may lie ahead of
// the host's clock before the token stops counting as fresh: instances
// sharing a store disagree by a little.
const receivedSkew = 60

// FreshAt is the host's hot-path check (docs/protocol.md, "The host's
// freshness check"): true when t can be served from a cache at nowMs without
// asking the core. JS hosts copy the same formula.
func (t *Token) FreshAt(nowMs int64) bool {
	now := floorDiv(nowMs, 1000)
	return t.AccessToken != "" && t.RefreshAt != 0 &&
		(t.ReceivedAt == 0 || t.ReceivedAt-receivedSkew <= now) && now < t.RefreshAt
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// canRefresh reports whether t holds a refresh token that is alive at now.
func (t *Token) canRefresh(now int64) bool {
	return t.RefreshToken != "" && (t.RefreshExpiresAt == 0 || now < t.RefreshExpiresAt)
}

// String describes t without any token value.
func (t Token) String() string {
	var b strings.Builder
	b.WriteString("core.Token{provider=")
	b.WriteString(t.Provider)
	b.WriteString(" access_token=")
	b.WriteString(redactedLen(t.AccessToken))
	if t.RefreshToken != "" {
		b.WriteString(" refresh_token=")
		b.WriteString(redactedLen(t.RefreshToken))
	}
	b.WriteString(" expires_at=")
	b.WriteString(strconv.FormatInt(t.ExpiresAt, 10))
	b.WriteByte('}')
	return b.String()
}

// GoString keeps %#v as safe as %v.
func (t Token) GoString() string { return t.String() }

func redactedLen(s string) string {
	if s == "" {
		return "none"
	}
	return "[redacted " + strconv.Itoa(len(s)) + " bytes]"
}

// MarshalWire encodes t as the wire-format token object. It carries the
// token itself: for stores and the WASM boundary, never for logs.
func (t *Token) MarshalWire() []byte { return appendTokenObj(nil, t) }

func appendTokenObj(dst []byte, t *Token) []byte {
	o := newObj(dst)
	o.str("provider", t.Provider)
	o.strOrNull("access_token", t.AccessToken)
	o.strOrNull("token_type", t.TokenType)
	o.strOrNull("refresh_token", t.RefreshToken)
	o.unixOrNull("expires_at", t.ExpiresAt)
	o.unixOrNull("refresh_at", t.RefreshAt)
	o.unixOrNull("refresh_expires_at", t.RefreshExpiresAt)
	o.unixOrNull("issued_at", t.IssuedAt)
	o.key("attach")
	a := newObj(o.b)
	a.str("in", t.Attach.In)
	a.str("name", t.Attach.Name)
	a.str("value", t.Attach.Value)
	if len(t.Attach.Params) > 0 {
		a.strMap("params", t.Attach.Params)
	}
	o.b = a.done()
	extra := t.Extra
	if extra == nil {
		extra = map[string]string{}
	}
	o.strMap("extra", extra)
	o.int("rev", t.Rev)
	o.unixOrNull("received_at", t.ReceivedAt)
	learned := t.Learned
	if learned == nil {
		learned = map[string]string{}
	}
	o.strMap("learned", learned)
	return o.done()
}

// ParseToken reads a wire-format token, e.g. one a store kept.
func ParseToken(data []byte) (Token, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(trimBOM(data))
	if err != nil {
		return Token{}, &Error{Code: CodeUsage, Message: "token: not valid JSON"}
	}
	return tokenFromValue(v)
}

func tokenFromValue(v *fastjson.Value) (Token, error) {
	var t Token
	if v.Type() != fastjson.TypeObject {
		return t, &Error{Code: CodeUsage, Message: "token: must be a JSON object"}
	}
	bad := func(f string) error { return &Error{Code: CodeUsage, Message: "token: " + f + " has the wrong type"} }
	strs := []struct {
		k string
		p *string
	}{{"provider", &t.Provider}, {"access_token", &t.AccessToken}, {"token_type", &t.TokenType}, {"refresh_token", &t.RefreshToken}}
	for _, f := range strs {
		s, ok := optString(v.Get(f.k))
		if !ok {
			return t, bad(f.k)
		}
		*f.p = s
	}
	ints := []struct {
		k string
		p *int64
	}{{"expires_at", &t.ExpiresAt}, {"refresh_at", &t.RefreshAt}, {"refresh_expires_at", &t.RefreshExpiresAt}, {"issued_at", &t.IssuedAt}, {"rev", &t.Rev}, {"received_at", &t.ReceivedAt}}
	for _, f := range ints {
		fv := v.Get(f.k)
		if fv == nil || fv.Type() == fastjson.TypeNull {
			continue
		}
		n, err := fv.Int64()
		if err != nil || n < 0 {
			return t, bad(f.k)
		}
		*f.p = n
	}
	if a := v.Get("attach"); a != nil && a.Type() == fastjson.TypeObject {
		t.Attach.In, _ = optString(a.Get("in"))
		t.Attach.Name, _ = optString(a.Get("name"))
		t.Attach.Value, _ = optString(a.Get("value"))
		t.Attach.Params = stringMap(a.Get("params"))
	}
	t.Extra = stringMap(v.Get("extra"))
	if t.Learned = stringMap(v.Get("learned")); len(t.Learned) == 0 {
		t.Learned = nil // {} and absent are the same: nothing learned
	}
	return t, nil
}

func optString(v *fastjson.Value) (string, bool) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return "", true
	}
	return stringValue(v)
}

// stringMap reads an object of strings; other values are skipped.
func stringMap(v *fastjson.Value) map[string]string {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	m := map[string]string{}
	o, _ := v.Object()
	o.Visit(func(k []byte, fv *fastjson.Value) {
		if s, ok := stringValue(fv); ok {
			m[string(k)] = s
		}
	})
	return m
}

// Apply attaches t to r the vendor's way. "query" is the vendors' "parameter":
// in the URL on GET, and as a body field on a POST whose body is a form or a
// JSON object (DQE IDMobile and CRM.COM both say so); "form" and "json" always
// go in the body.
func (t *Token) Apply(r *Request) error {
	if t.AccessToken == "" {
		return &Error{Code: CodeUsage, Message: "no access token to attach"}
	}
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	a := t.Attach
	ps := []param{{a.Name, a.Value}}
	for _, k := range sortedKeys(a.Params) {
		ps = append(ps, param{k, a.Params[k]})
	}
	in := a.In
	if in == "query" && r.Method != "GET" && r.Method != "" {
		switch ct := strings.ToLower(r.Header["Content-Type"]); {
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			in = "form"
		case strings.HasPrefix(ct, "application/json"):
			in = "json"
		}
	}
	switch in {
	case "header":
		r.Header[a.Name] = a.Value
	case "query":
		r.URL = withQuery(r.URL, ps)
	case "form":
		if r.Body != "" {
			r.Body += "&"
		}
		r.Body += encodeForm(ps)
		if r.Header["Content-Type"] == "" {
			r.Header["Content-Type"] = "application/x-www-form-urlencoded"
		}
	case "json":
		body, err := addJSONFields(r.Body, ps)
		if err != nil {
			return err
		}
		r.Body = body
		if r.Header["Content-Type"] == "" {
			r.Header["Content-Type"] = "application/json"
		}
	default:
		return &Error{Code: CodeUsage, Message: "token attach: unknown place " + strconv.Quote(clip(a.In, 20))}
	}
	return nil
}

// addJSONFields sets top-level fields of a JSON object body, keeping the
// others in place.
func addJSONFields(body string, ps []param) (string, error) {
	trimmed := strings.TrimSpace(body)
	if trimmed == "" {
		trimmed = "{}"
	}
	var p fastjson.Parser
	v, err := p.Parse(trimmed)
	if err != nil || v.Type() != fastjson.TypeObject {
		return "", &Error{Code: CodeUsage, Message: "token attach: request body is not a JSON object"}
	}
	var a fastjson.Arena
	for _, pr := range ps {
		v.Set(pr.k, a.NewString(pr.v))
	}
	return string(v.MarshalTo(nil)), nil
}
