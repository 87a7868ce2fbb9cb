package core

import (
	"sort"
	"strconv"
	"strings"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// exchange is one kind of token request.
type exchange struct {
	refresh bool // refresh (MoversConnect: activation) rather than a new grant
	alt     int  // provider-defined variant; ByDesign: 1 = resent as a form
}

// provider is one vendor's dialect. Each lives in its own file with its
// quirks; session.go holds everything they share.
type provider interface {
	defaultBaseURL() string
	// configure checks the provider's fields and fills its defaults.
	configure(c *Config) error
	// refreshes reports whether the vendor has a refresh call we use.
	refreshes() bool
	request(c *Config, ex exchange, held *Token) Request
	// parse reads any answer to request: a Token holding what the response
	// carried (absolute expiries, empty fields where it sent none), or an error.
	parse(c *Config, ex exchange, r *Response, now int64, x *parseCtx) (Token, *Error)
	// alternate offers a follow-up after an error (ByDesign's form retry).
	alternate(c *Config, ex exchange, e *Error) (exchange, bool)
	attach(c *Config, t *Token) Attach
}

// extender is a provider whose refresh only extends the access token held
// and answers none of its own (MoversConnect's activation: "Token":null).
// Without a held access token such a refresh is a wasted round trip, and it
// spends the refresh token: the session asks for a grant directly.
type extender interface{ refreshOnlyExtends() }

// learner is a provider that learns something about the vendor it must not
// probe again (ByDesign: the vendor reads only forms). learned reports it
// for the token (Token.Learned); apply honours it after a restore or when a
// stored token is adopted.
type learner interface {
	learned(c *Config) map[string]string
	apply(c *Config, m map[string]string)
}

// refuser is a provider whose API has more ways than 401 to say "this
// token is refused" (DQE IDMobile's 200 with error_id 30).
type refuser interface{ refusedAnswer(r *Response) bool }

// Refused reports whether an API answer means the vendor refused the
// access token: 401 for every provider, plus each vendor's own form. The
// Go Transport and the JS fetch wrapper both call it (the JS one through
// session_refused), then Invalidate the token they sent.
func Refused(provider string, r *Response) bool {
	if r == nil || r.Err != nil {
		return false
	}
	if r.Status == 401 {
		return true
	}
	if p, ok := providers[provider].(refuser); ok {
		return p.refusedAnswer(r)
	}
	return false
}

var (
	providers = map[string]provider{}
	// settingsOf is each provider's config keys, as its file declares them
	// (base_url, provider and leeway_seconds are everyone's).
	settingsOf = map[string][]setting{}
)

// setting is one config key a provider declares, and whether its value is
// a secret (never in an error, a log line or a String()).
type setting struct {
	name   string
	secret bool
}

func plain(name string) setting  { return setting{name, false} }
func secret(name string) setting { return setting{name, true} }

// register adds a provider with its settings. It is the one place a new
// provider is declared: Providers, the error messages naming providers,
// ConfigFields and SecretFields all derive from it. Every setting must be
// bound to a Config field in config.go.
func register(id string, p provider, settings ...setting) {
	for _, s := range settings {
		if lookupField(s.name) == nil {
			panic("core: provider " + id + " declares setting " + s.name + " with no Config field")
		}
	}
	providers[id] = p
	settingsOf[id] = settings
}

// accepts reports whether the wire config key belongs to provider id.
func accepts(id, key string) bool {
	for _, s := range settingsOf[id] {
		if s.name == key {
			return true
		}
	}
	return false
}

// isSecret reports whether any provider declares key secret.
func isSecret(key string) bool {
	for _, ss := range settingsOf {
		for _, s := range ss {
			if s.name == key && s.secret {
				return true
			}
		}
	}
	return false
}

// Providers lists the provider ids this build knows, sorted.
func Providers() []string {
	ids := make([]string, 0, len(providers))
	for id := range providers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// parseCtx is what a provider needs to read a response: a reusable JSON
// parser and the session's redactor for error excerpts.
type parseCtx struct {
	p  fastjson.Parser
	rd *redactor
}

// jsonObject parses r.Body as one JSON object. Anything else (HTML, empty,
// truncated, an array) is a malformed_response, or the status's own error
// when the status already says the call failed.
func (x *parseCtx) jsonObject(r *Response, now int64) (*fastjson.Value, *Error) {
	v, err := x.p.ParseBytes(trimBOM(r.Body))
	if err == nil && v.Type() == fastjson.TypeObject {
		return v, nil
	}
	if r.Status >= 400 {
		return nil, httpError(r.Status, r, now, x.rd.excerpt(r.Body))
	}
	what := "not JSON"
	if err == nil {
		what = "JSON but not an object"
	} else if len(r.Body) == 0 {
		what = "empty"
	}
	msg := "body is " + what
	if ex := x.rd.excerpt(r.Body); ex != "" {
		msg += ": " + ex
	}
	return nil, malformed(r.Status, msg)
}

// field returns obj[key], refusing a key given twice: JSON.parse keeps the
// last and fastjson the first, so a duplicate would make runtimes disagree.
func field(v *fastjson.Value, key string, status int) (*fastjson.Value, *Error) {
	o, _ := v.Object()
	var found *fastjson.Value
	n := 0
	o.Visit(func(k []byte, fv *fastjson.Value) {
		if string(k) == key {
			n++
			found = fv
		}
	})
	if n > 1 {
		return nil, malformed(status, "field "+key+" appears "+strconv.Itoa(n)+" times")
	}
	return found, nil
}

// optStringField reads an optional string field: absent and null are "",
// any other type is malformed.
func optStringField(v *fastjson.Value, key string, status int) (string, *Error) {
	fv, err := field(v, key, status)
	if err != nil {
		return "", err
	}
	if fv == nil || fv.Type() == fastjson.TypeNull {
		return "", nil
	}
	s, ok := stringValue(fv)
	if !ok {
		return "", malformed(status, "field "+key+" is not a string")
	}
	return s, nil
}

// oauthError reads an RFC 6749 error body ({"error","error_description"}).
// ok is false when the body carries no "error" string.
func (x *parseCtx) oauthError(v *fastjson.Value, r *Response, now int64) (*Error, bool) {
	code, _ := optStringField(v, "error", r.Status)
	if code == "" {
		return nil, false
	}
	desc, _ := optStringField(v, "error_description", r.Status)
	e := &Error{Code: oauthCode(code), Status: r.Status}
	if r.Status == 429 {
		e.Code = CodeQuotaExceeded
	}
	if r.Status >= 500 || r.Status == 429 || e.Code == CodeServerError {
		e.Retryable = true
		e.RetryAfter = retryAfter(r.header("retry-after"), now)
	}
	e.Message = clip(x.rd.mask(code), 64) // mask first: a clip could cut a secret the mask would miss
	if desc != "" {
		e.Message += ": " + x.rd.excerpt([]byte(desc))
	}
	return e, true
}

// maskAll hides exact copies of vals, for text no excerpt built (an expiry
// check quoting a number that equals a token a failing answer carried).
// Values under 4 bytes are left alone, as the redactor does: they would mask
// ordinary words.
func maskAll(s string, vals []string) string {
	for _, v := range vals {
		if len(v) >= 4 && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}
