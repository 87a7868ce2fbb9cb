package core

import (
	"strconv"
	"strings"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// DQE IDMobile ACCESS_TOKEN: a client-credentials grant by licence and
// client_secret, sent as a POST form (default) or a GET query. Quirks:
//   - expires_in is a string ("300"); older answers add "status":"success".
//   - Two error styles: the current plain 400 "Invalid Request" / "Invalid
//     Client" and 500 on a misspelt parameter, and the older JSON
//     {"status":"error","error_id":"01",...}, possibly with HTTP 200; the id
//     is read as a number too (22 for "22", 1 for "01") [inferred].
//   - The token is not a header: every IDMobile call carries token= and
//     licence= as parameters. token_type "Bearer" is misleading.
//   - No IDMobile page documents a refresh: a new grant is the renewal
//     [inferred], so refresh_token is kept but never used.
type dqeIDMobile struct{}

func init() {
	register(DQEIDMobile, dqeIDMobile{}, secret("licence"), secret("client_secret"), plain("method"))
}

func (dqeIDMobile) defaultBaseURL() string { return "" }

func (dqeIDMobile) configure(c *Config) error {
	if c.Licence == "" {
		return configError("licence", "missing")
	}
	if c.ClientSecret == "" {
		return configError("client_secret", "missing")
	}
	switch strings.ToUpper(c.Method) {
	case "", "POST":
		c.Method = "POST"
	case "GET":
		// Allowed, as documented, but it puts the secret in URLs and logs.
		c.Method = "GET"
	default:
		return configError("method", "must be POST or GET")
	}
	return nil
}

func (dqeIDMobile) refreshes() bool { return false }

func (dqeIDMobile) request(c *Config, _ exchange, _ *Token) Request {
	u := c.BaseURL + "/ACCESS_TOKEN/"
	h := map[string]string{"Accept": "application/json"}
	if c.Method == "GET" {
		// The order of the seed's example URL.
		ps := []param{{"client_secret", c.ClientSecret}, {"grant_type", "client_idmobile"}, {"licence", c.Licence}}
		return Request{Method: "GET", URL: withQuery(u, ps), Header: h}
	}
	h["Content-Type"] = "application/x-www-form-urlencoded"
	ps := []param{{"licence", c.Licence}, {"client_secret", c.ClientSecret}, {"grant_type", "client_idmobile"}}
	return Request{Method: "POST", URL: u, Header: h, Body: encodeForm(ps)}
}

func (dqeIDMobile) parse(_ *Config, _ exchange, r *Response, now int64, x *parseCtx) (Token, *Error) {
	v, perr := x.p.ParseBytes(trimBOM(r.Body))
	isObj := perr == nil && v.Type() == fastjson.TypeObject
	var f dqeFields
	if isObj {
		f.read(v)
		if st, _ := f.str(dqeStatus, r.Status); strings.EqualFold(st, "error") {
			return Token{}, dqeLegacyError(v, r, now, x)
		}
	}
	if r.Status != 200 {
		return Token{}, dqePlainError(r, now, x)
	}
	if !isObj {
		// Parse again only to word the error; the success path parses once.
		_, err := x.jsonObject(r, now)
		return Token{}, err
	}
	var t Token
	var err *Error
	if t.AccessToken, err = f.str(dqeAccessToken, r.Status); err != nil {
		return Token{}, err
	}
	if t.AccessToken == "" {
		return Token{}, malformed(r.Status, "access_token missing")
	}
	if t.TokenType, err = f.str(dqeTokenType, r.Status); err != nil {
		return Token{}, err
	}
	if t.RefreshToken, err = f.str(dqeRefreshToken, r.Status); err != nil {
		return Token{}, err
	}
	ev, err := f.get(dqeExpiresIn, r.Status)
	if err != nil {
		return Token{}, err
	}
	if ev == nil || ev.Type() == fastjson.TypeNull {
		return Token{}, malformed(r.Status, "expires_in missing")
	}
	if t.ExpiresAt, err = relativeExpiry("expires_in", ev, now, r.Status); err != nil {
		return Token{}, err
	}
	return t, nil
}

// The fields of a DQE answer, read in one walk over the object: five
// field() calls would walk it five times on the hot path. Same rules as
// field/optStringField: a key given twice is refused.
const (
	dqeStatus = iota
	dqeAccessToken
	dqeTokenType
	dqeRefreshToken
	dqeExpiresIn
	dqeNFields
)

var dqeFieldNames = [dqeNFields]string{"status", "access_token", "token_type", "refresh_token", "expires_in"}

type dqeFields struct {
	v [dqeNFields]*fastjson.Value
	n [dqeNFields]int
}

func (f *dqeFields) read(obj *fastjson.Value) {
	o, _ := obj.Object()
	o.Visit(func(k []byte, fv *fastjson.Value) {
		for i, name := range dqeFieldNames {
			if string(k) == name {
				f.v[i] = fv
				f.n[i]++
				return
			}
		}
	})
}

func (f *dqeFields) get(i, status int) (*fastjson.Value, *Error) {
	if f.n[i] > 1 {
		return nil, malformed(status, "field "+dqeFieldNames[i]+" appears "+strconv.Itoa(f.n[i])+" times")
	}
	return f.v[i], nil
}

func (f *dqeFields) str(i, status int) (string, *Error) {
	fv, err := f.get(i, status)
	if err != nil || fv == nil || fv.Type() == fastjson.TypeNull {
		return "", err
	}
	s, ok := stringValue(fv)
	if !ok {
		return "", malformed(status, "field "+dqeFieldNames[i]+" is not a string")
	}
	return s, nil
}

// dqeLegacyError maps the older page's error ids.
func dqeLegacyError(v *fastjson.Value, r *Response, now int64, x *parseCtx) *Error {
	id, _ := optStringField(v, "error_id", r.Status)
	if fv, _ := field(v, "error_id", r.Status); fv != nil && fv.Type() == fastjson.TypeNumber {
		// Some releases send the id as a number: 22, not "22".
		if n, ok := intValue(fv); ok && n >= 0 && n < 10 {
			id = "0" + strconv.FormatInt(n, 10)
		} else if ok {
			id = strconv.FormatInt(n, 10)
		}
	}
	typ, _ := optStringField(v, "error_type", r.Status)
	e := &Error{Status: r.Status}
	switch id {
	case "01":
		e.Code = CodeInvalidRequest
	case "03":
		e.Code = CodeInvalidClient
	case "22":
		e.Code = CodeUnauthorizedClient
	case "30":
		e.Code = CodeInvalidToken
	case "31":
		e.Code = CodeUnsupportedGrantType
	case "98":
		e.Code = CodeQuotaExceeded // credits exhausted: retrying will not buy more
	default:
		e.Code = CodeInvalidRequest
		if r.Status >= 500 {
			e.Code, e.Retryable = CodeServerError, true
		}
	}
	if r.Status == 429 || r.Status >= 500 {
		e.Retryable = true
		e.RetryAfter = retryAfter(r.header("retry-after"), now)
	}
	e.Message = "error_id " + clip(x.rd.mask(id), 16) // mask first: a clip could cut a secret the mask would miss
	if typ != "" {
		e.Message += ": " + x.rd.excerpt([]byte(typ))
	}
	return e
}

// dqePlainError reads the current page's plain-text errors.
func dqePlainError(r *Response, now int64, x *parseCtx) *Error {
	e := httpError(r.Status, r, now, x.rd.excerpt(r.Body))
	if r.Status == 400 || r.Status == 401 {
		low := strings.ToLower(string(r.Body[:min(len(r.Body), 512)]))
		switch {
		case strings.Contains(low, "invalid client"):
			e.Code = CodeInvalidClient
		case strings.Contains(low, "invalid request"):
			e.Code = CodeInvalidRequest
		}
	}
	return e
}

// refusedAnswer: DQE's older API answers a refused or expired token with
// HTTP 200 and {"status":"error","error_id":"30"} (or 30 as a number).
func (dqeIDMobile) refusedAnswer(r *Response) bool {
	if r.Status != 200 || len(r.Body) > MaxBodyBytes {
		return false
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(trimBOM(r.Body))
	if err != nil || v.Type() != fastjson.TypeObject {
		return false
	}
	sv := v.Get("status")
	if sv == nil {
		return false
	}
	if st, _ := stringValue(sv); !strings.EqualFold(st, "error") {
		return false
	}
	id := v.Get("error_id")
	if id == nil {
		return false
	}
	if s, ok := stringValue(id); ok {
		return strings.TrimLeft(s, "0") == "30"
	}
	n, ok := intValue(id)
	return ok && n == 30
}

func (dqeIDMobile) alternate(*Config, exchange, *Error) (exchange, bool) { return exchange{}, false }

func (dqeIDMobile) attach(c *Config, t *Token) Attach {
	// Reuse the held token's params when they already say the same: every
	// copy of the token handed out shares that map anyway, and a renewal
	// every few minutes need not allocate a new one.
	params := t.Attach.Params
	if len(params) != 1 || params["licence"] != c.Licence {
		params = map[string]string{"licence": c.Licence}
	}
	return Attach{In: "query", Name: "token", Value: t.AccessToken, Params: params}
}
