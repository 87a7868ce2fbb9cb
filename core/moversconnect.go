package core

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// EWS Group MoversConnect "Mobile Token": a Password grant by company id,
// mobile user and password, plus the activation of its refresh token.
// Quirks:
//   - One endpoint, two grants: grant_type=Password logs in, grant_type=Token
//     with token=<RefreshToken> "activates" the refresh token. client_id and
//     client_secret are fixed public values (CrewConnect / 7FC1…9A34), so the
//     secret is a default, not a credential.
//   - The activation answers "Token":null,"RefreshToken":null with new
//     expirations: it extends the token we hold. We return empty token fields
//     and let session.merge keep ours; a client that stored the nulls would
//     lose its token.
//   - A Password grant voids every token and refresh token issued before, for
//     every holder of the login. Activation is therefore preferred while the
//     refresh token lives; a refused activation falls back to a Password grant,
//     a retryable failure (5xx, 429, no answer) does not.
//   - The page's NOTE voids earlier tokens on "Password or RefreshToken"
//     grants, yet says to keep using the Token after an activation. We read
//     it as: the activation extends the Token ("for 90 days") and spends the
//     refresh token [inferred: single use; the emulator does so]. We still
//     keep that refresh token (a null never erases): its RefreshExpires is
//     normally past by the time the extended Token is stale, so the next
//     renewal is a Password grant anyway, and should it be tried again (after
//     Invalidate) a refusal costs one request before the Password grant.
//   - Expirations are absolute unix seconds (numbers; numeric strings are
//     accepted too), not expires_in.
//   - The body may be JSON (default), XML or a form; the page documents only
//     JSON. [inferred] XML uses the root <MobileTokenRequest> with one child per
//     field, and answers use the JSON names as elements, nulls as an empty
//     element or i:nil="true" (.NET DataContractSerializer style).
//   - Errors are undocumented. [inferred] from the sibling VendorConnect API:
//     {"ErrorCode":…,"ProcessingMessage":"…"} (or <Error> in XML). 400/401 on a
//     Password grant is invalid_grant unless the message names the client,
//     the grant type or a malformed request; on an activation it is
//     invalid_token. A 2xx carrying a non-zero ErrorCode is an error too.
//   - An XML answer is read whatever encoding was sent (detected by a body
//     starting with '<', HTML pages excepted); DOCTYPE is refused.
//   - ErrorCode 0 or 2xx in a 200 reads as success. Error text never quotes
//     a token the same body carried (the redactor does not know it yet), and
//     a truncated JSON body is reported without an excerpt.
//   - The token goes in a custom header; [inferred] its name is "Token"
//     (token_header). A Token that a header cannot carry is refused.
type moversConnect struct{}

func init() {
	register(MoversConnect, moversConnect{},
		plain("company_id"), plain("username"), secret("password"), plain("client_id"), secret("client_secret"),
		plain("encoding"), plain("token_header"))
}

const (
	moversDefaultClientID     = "CrewConnect"
	moversDefaultClientSecret = "7FC113A41D8E4EE6AAD26D79743F9A34"
	moversMaxCompanyID        = 15
)

func (moversConnect) defaultBaseURL() string { return "https://www.moversconnect.net" }

func (moversConnect) configure(c *Config) error {
	if c.ClientID == "" {
		c.ClientID = moversDefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = moversDefaultClientSecret
	}
	for _, f := range []struct{ name, v string }{
		{"company_id", c.CompanyID}, {"username", c.Username}, {"password", c.Password},
		{"client_id", c.ClientID}, {"client_secret", c.ClientSecret},
	} {
		if f.v == "" {
			return configError(f.name, "missing")
		}
		// JSON would turn bad UTF-8 into U+FFFD and XML cannot carry control
		// characters at all: the vendor would see other credentials than ours.
		if !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return configError(f.name, "must be valid UTF-8 without control characters")
		}
	}
	if n := utf8.RuneCountInString(c.CompanyID); n > moversMaxCompanyID {
		return configError("company_id", "at most 15 characters (got "+strconv.Itoa(n)+")")
	}
	switch strings.ToLower(c.Encoding) {
	case "", "json":
		c.Encoding = "json"
	case "xml":
		c.Encoding = "xml"
	case "form":
		c.Encoding = "form"
	default:
		return configError("encoding", "must be json, xml or form")
	}
	if c.TokenHeader == "" {
		c.TokenHeader = "Token"
	}
	if !isHeaderName(c.TokenHeader) {
		return configError("token_header", "not a valid HTTP header name")
	}
	return nil
}

// isHeaderName checks RFC 9110 token characters.
func isHeaderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// refreshOnlyExtends: the activation answers "Token":null and extends the
// token held; with none held the session logs in instead.
func (moversConnect) refreshOnlyExtends() {}

func (moversConnect) refreshes() bool { return true }

func (moversConnect) request(c *Config, ex exchange, held *Token) Request {
	var ps []param
	if ex.refresh {
		ps = []param{{"grant_type", "Token"}, {"token", held.RefreshToken}, {"client_id", c.ClientID}, {"client_secret", c.ClientSecret}}
	} else {
		// The order of the seed's example.
		ps = []param{{"grant_type", "Password"}, {"company_id", c.CompanyID}, {"username", c.Username},
			{"password", c.Password}, {"client_id", c.ClientID}, {"client_secret", c.ClientSecret}}
	}
	r := Request{Method: "POST", URL: c.BaseURL + "/mobiletoken"}
	switch c.Encoding {
	case "xml":
		r.Header = map[string]string{"Content-Type": "application/xml", "Accept": "application/xml"}
		r.Body = string(appendMoversXML(make([]byte, 0, 256), ps))
	case "form":
		r.Header = map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
		r.Body = encodeForm(ps)
	default:
		r.Header = map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
		b := make([]byte, 0, 256)
		b = append(b, '{')
		for i, p := range ps {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p.k)
			b = append(b, ':')
			b = appendJSONString(b, p.v)
		}
		r.Body = string(append(b, '}'))
	}
	return r
}

func appendMoversXML(b []byte, ps []param) []byte {
	b = append(b, "<MobileTokenRequest>"...)
	for _, p := range ps {
		b = append(b, '<')
		b = append(b, p.k...)
		b = append(b, '>')
		b = appendXMLText(b, p.v)
		b = append(b, "</"...)
		b = append(b, p.k...)
		b = append(b, '>')
	}
	return append(b, "</MobileTokenRequest>"...)
}

// appendXMLText escapes s as XML character data. Characters XML 1.0 cannot
// carry become U+FFFD; CR is a reference so parsers do not fold it to LF.
func appendXMLText(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '"':
				b = append(b, "&quot;"...)
			case c == '\'':
				b = append(b, "&apos;"...)
			case c == '\r':
				b = append(b, "&#xD;"...)
			case c == '\t' || c == '\n':
				b = append(b, c)
			case c < 0x20:
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// Fields of an answer, success or error, JSON or XML.
const (
	mcRefreshExpires = iota
	mcRefreshToken
	mcToken
	mcTokenExpires
	mcErrorCode
	mcProcessingMessage
	mcFields
)

var mcNames = [mcFields]string{"RefreshExpires", "RefreshToken", "Token", "TokenExpires", "ErrorCode", "ProcessingMessage"}

func mcIndex(name string) int {
	switch name {
	case "RefreshExpires":
		return mcRefreshExpires
	case "RefreshToken":
		return mcRefreshToken
	case "Token":
		return mcToken
	case "TokenExpires":
		return mcTokenExpires
	case "ErrorCode":
		return mcErrorCode
	case "ProcessingMessage":
		return mcProcessingMessage
	}
	return -1
}

type mcField struct {
	n    int             // occurrences
	null bool            // JSON null, empty element or nil="true"
	jv   *fastjson.Value // JSON value (first occurrence)
	text string          // XML text (first occurrence)
}

type mcAnswer struct {
	f       [mcFields]mcField
	collect bool     // gather toks
	toks    []string // every token value seen, to scrub from error text
}

func (a *mcAnswer) present(i int) bool { return a.f[i].n > 0 && !a.f[i].null }

func (moversConnect) parse(_ *Config, ex exchange, r *Response, now int64, x *parseCtx) (Token, *Error) {
	var a mcAnswer
	t, err := mcParse(ex, r, now, x, &a)
	if err == nil {
		return t, nil
	}
	// The redactor learns a token only once the session accepts it, but a
	// failing answer may carry one (and echo it in its message). Learn them,
	// then word the error again: the excerpt masks them, in any encoding,
	// before it is cut, so no head of a short token survives the cut.
	if toks := mcBodyTokens(r, x); len(toks) > 0 {
		x.rd.add(toks...)
		var b mcAnswer
		if _, again := mcParse(ex, r, now, x, &b); again != nil {
			err = again
		}
		err.Message = maskAll(err.Message, toks)
	}
	return Token{}, err
}

// mcBodyTokens reads every token value a body carries, JSON or XML, copies
// under repeated names included. Only failing answers pay for it.
func mcBodyTokens(r *Response, x *parseCtx) []string {
	body := trimBOM(r.Body)
	a := mcAnswer{collect: true}
	switch mcBodyKind(r, body) {
	case 'j':
		if v, err := x.p.ParseBytes(body); err == nil && v.Type() == fastjson.TypeObject {
			a.readJSON(v)
		}
	case 'x':
		a.readXML(body)
	}
	return a.toks
}

// mcBodyKind tells JSON ('j'), XML ('x'), HTML ('h'), empty ('e') and other
// text ('o') apart, by the body first and the Content-Type second.
func mcBodyKind(r *Response, body []byte) byte {
	i := 0
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n') {
		i++
	}
	if i == len(body) {
		return 'e'
	}
	switch body[i] {
	case '{', '[':
		return 'j'
	case '<':
		if looksHTML(string(body[i:min(len(body), i+64)])) {
			return 'h'
		}
		return 'x'
	}
	ct := strings.ToLower(r.header("content-type"))
	switch {
	case strings.Contains(ct, "json"):
		return 'j'
	case strings.Contains(ct, "html"):
		return 'h'
	}
	return 'o'
}

func mcParse(ex exchange, r *Response, now int64, x *parseCtx, a *mcAnswer) (Token, *Error) {
	body := trimBOM(r.Body)
	kind := mcBodyKind(r, body)
	var xmlErr string
	var jsonObj bool
	switch kind {
	case 'j':
		if v, err := x.p.ParseBytes(body); err == nil && v.Type() == fastjson.TypeObject {
			jsonObj = true
			a.readJSON(v)
		}
	case 'x':
		xmlErr = a.readXML(body)
	}
	if r.Status < 200 || r.Status > 299 {
		return Token{}, mcStatusError(ex, r, r.Status, now, x, a, body, jsonObj || kind != 'j')
	}
	switch kind {
	case 'j':
		if !jsonObj {
			if _, err := x.p.ParseBytes(body); err == nil {
				return Token{}, malformed(r.Status, "body is JSON but not an object")
			}
			// No excerpt: a truncated answer would quote the token.
			return Token{}, malformed(r.Status, "body is not valid JSON ("+strconv.Itoa(len(body))+" bytes; truncated?)")
		}
	case 'x':
		if xmlErr != "" {
			return Token{}, malformed(r.Status, "XML body: "+xmlErr)
		}
	case 'e':
		return Token{}, malformed(r.Status, "body is empty")
	default:
		msg := "body is neither JSON nor XML"
		if kind == 'h' {
			msg = "body is an HTML page"
		}
		if ex := x.rd.excerpt(body); ex != "" {
			msg += ": " + ex
		}
		return Token{}, malformed(r.Status, msg)
	}
	for i := range a.f {
		if a.f[i].n > 1 {
			return Token{}, malformed(r.Status, "field "+mcNames[i]+" appears "+strconv.Itoa(a.f[i].n)+" times")
		}
	}
	if code := a.errorCode(); code != "" {
		// oauth2's rule: an answer that says it failed did, whatever its
		// status. 0 and 2xx codes read as success.
		st := 400
		n, err := strconv.Atoi(code)
		if err == nil && (n == 0 || n >= 200 && n <= 299) {
			return a.token(ex, r.Status, now)
		}
		if err == nil && n >= 400 && n <= 599 {
			st = n
		}
		e := mcStatusError(ex, r, st, now, x, a, body, true)
		e.Status = r.Status
		e.Message = "HTTP " + strconv.Itoa(r.Status) + " carrying " + strings.TrimPrefix(e.Message, "HTTP "+strconv.Itoa(st)+": ")
		return Token{}, e
	}
	return a.token(ex, r.Status, now)
}

func (a *mcAnswer) readJSON(v *fastjson.Value) {
	o, _ := v.Object()
	o.Visit(func(k []byte, fv *fastjson.Value) {
		i := mcIndex(string(k))
		if i < 0 {
			return
		}
		f := &a.f[i]
		f.n++
		if a.collect && (i == mcToken || i == mcRefreshToken) && fv.Type() == fastjson.TypeString {
			b, _ := fv.StringBytes()
			a.toks = append(a.toks, string(b))
		}
		if f.n == 1 {
			f.jv = fv
			f.null = fv.Type() == fastjson.TypeNull
		}
	})
}

// str reads Token or RefreshToken: null, absent and "" are "".
func (a *mcAnswer) str(i, status int) (string, *Error) {
	f := &a.f[i]
	if f.n == 0 || f.null {
		return "", nil
	}
	if f.jv == nil {
		return f.text, nil
	}
	if f.jv.Type() != fastjson.TypeString {
		return "", malformed(status, "field "+mcNames[i]+" is not a string")
	}
	b, _ := f.jv.StringBytes()
	return string(b), nil
}

func (a *mcAnswer) expiry(i, status int, now int64) (int64, *Error) {
	f := &a.f[i]
	if f.jv != nil {
		// Fast path for the usual whole JSON number; absoluteExpiry judges
		// everything else (numeric strings, fractions) with its own words.
		if f.jv.Type() == fastjson.TypeNumber {
			if n, err := f.jv.Int64(); err == nil {
				return checkAbsolute(mcNames[i], n, now, status)
			}
		}
		return absoluteExpiry(mcNames[i], f.jv, now, status)
	}
	s := strings.TrimSpace(f.text)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s[0] == '+' {
		return 0, malformed(status, mcNames[i]+" is not a whole number of unix seconds")
	}
	return checkAbsolute(mcNames[i], n, now, status)
}

// errorCode is ErrorCode as text ("" when absent or null).
func (a *mcAnswer) errorCode() string {
	f := &a.f[mcErrorCode]
	if f.n == 0 || f.null {
		return ""
	}
	if f.jv == nil {
		return strings.TrimSpace(f.text)
	}
	switch f.jv.Type() {
	case fastjson.TypeNumber:
		return string(f.jv.MarshalTo(nil))
	case fastjson.TypeString:
		b, _ := f.jv.StringBytes()
		return strings.TrimSpace(string(b))
	}
	return "?"
}

func (a *mcAnswer) processingMessage() string {
	f := &a.f[mcProcessingMessage]
	if f.jv != nil {
		s, _ := stringValue(f.jv)
		return s
	}
	return f.text
}

func (a *mcAnswer) token(ex exchange, status int, now int64) (Token, *Error) {
	var t Token
	var err *Error
	if t.AccessToken, err = a.str(mcToken, status); err != nil {
		return Token{}, err
	}
	if t.RefreshToken, err = a.str(mcRefreshToken, status); err != nil {
		return Token{}, err
	}
	if t.AccessToken == "" && !ex.refresh {
		return Token{}, malformed(status, "Token missing")
	}
	for i := 0; i < len(t.AccessToken); i++ {
		if c := t.AccessToken[i]; c <= ' ' || c >= 0x7f {
			return Token{}, malformed(status, "Token holds characters a header cannot carry")
		}
	}
	// The activation's whole point is the new TokenExpires: without it we
	// would activate again at once.
	if !a.present(mcTokenExpires) {
		return Token{}, malformed(status, "TokenExpires missing")
	}
	if t.ExpiresAt, err = a.expiry(mcTokenExpires, status, now); err != nil {
		return Token{}, err
	}
	if a.present(mcRefreshExpires) {
		if t.RefreshExpiresAt, err = a.expiry(mcRefreshExpires, status, now); err != nil {
			return Token{}, err
		}
	}
	return t, nil
}

// mcStatusError classifies a failed call; st is the HTTP status, or the
// ErrorCode of a 2xx that carries one.
func mcStatusError(ex exchange, r *Response, st int, now int64, x *parseCtx, a *mcAnswer, body []byte, excerptOK bool) *Error {
	code, pm := a.errorCode(), a.processingMessage()
	var detail, text string
	if code != "" || pm != "" {
		if code != "" {
			detail = "ErrorCode " + clip(x.rd.mask(code), 12) // mask first: a clip could cut a secret the mask would miss
		}
		if pm != "" {
			if detail != "" {
				detail += ": "
			}
			detail += x.rd.excerpt([]byte(pm))
		}
		text = pm
	} else if excerptOK {
		detail = x.rd.excerpt(body)
		text = string(body[:min(len(body), 512)])
	} else {
		// No excerpt: a truncated answer could quote a token.
		detail = "body is not valid JSON"
	}
	e := httpError(st, r, now, detail)
	switch st {
	case 400, 401:
		e.Code = mcClassify(ex, text)
	case 415:
		e.Code = CodeUnsupportedGrantType
		e.Message += " (body encoding refused: try encoding json)"
	}
	return e
}

// mcClassify reads a 400/401: on an activation it is always the refresh
// token's fault (the session then logs in anew); on a Password grant the
// credentials', unless the message blames something else.
func mcClassify(ex exchange, text string) string {
	if ex.refresh {
		return CodeInvalidToken
	}
	low := strings.ToLower(text)
	switch {
	case strings.Contains(low, "client"):
		return CodeInvalidClient
	case strings.Contains(low, "grant_type"), strings.Contains(low, "grant type"):
		return CodeUnsupportedGrantType
	case strings.Contains(low, "invalid request"), strings.Contains(low, "bad request"),
		strings.Contains(low, "malformed"), strings.Contains(low, "content-type"), strings.Contains(low, "media type"):
		return CodeInvalidRequest
	}
	return CodeInvalidGrant
}

func (moversConnect) alternate(*Config, exchange, *Error) (exchange, bool) { return exchange{}, false }

func (moversConnect) attach(c *Config, t *Token) Attach {
	return Attach{In: "header", Name: c.TokenHeader, Value: t.AccessToken}
}

// readXML reads a flat answer: a root element (any name: MobileTokenResponse,
// Error) whose children hold text. Namespace prefixes are ignored, unknown
// children are skipped, DOCTYPE is refused. It answers "" or what is wrong.
func (a *mcAnswer) readXML(body []byte) string {
	p := xmlScan{s: string(body)}
	if msg := p.misc(); msg != "" {
		return msg
	}
	if !p.has("<") {
		return "no root element"
	}
	root, _, empty, msg := p.startTag()
	if msg != "" {
		return msg
	}
	for !empty {
		if msg := p.misc(); msg != "" {
			return msg
		}
		switch {
		case p.i >= len(p.s):
			return "truncated: root element not closed"
		case p.has("</"):
			name, msg := p.endTag()
			if msg != "" {
				return msg
			}
			if name != root {
				return "mismatched end tag"
			}
			empty = true
			continue
		case !p.has("<") || p.has("<!"):
			return "text outside a field element"
		}
		name, isNil, childEmpty, msg := p.startTag()
		if msg != "" {
			return msg
		}
		text, simple := "", true
		if !childEmpty {
			if text, simple, msg = p.content(name); msg != "" {
				return msg
			}
		}
		i := mcIndex(localName(name))
		if i < 0 {
			continue
		}
		if !simple {
			return "element " + mcNames[i] + " is not a simple value"
		}
		f := &a.f[i]
		f.n++
		if a.collect && (i == mcToken || i == mcRefreshToken) && text != "" {
			a.toks = append(a.toks, text)
		}
		if f.n == 1 {
			f.text = text
			f.null = isNil || text == ""
			if isNil && strings.TrimSpace(text) != "" {
				return "element " + mcNames[i] + " is nil but has content"
			}
		}
	}
	if msg := p.misc(); msg != "" {
		return msg
	}
	if p.i < len(p.s) {
		return "content after the root element"
	}
	return ""
}

type xmlScan struct {
	s string
	i int
}

func (p *xmlScan) has(pre string) bool { return strings.HasPrefix(p.s[p.i:], pre) }

func (p *xmlScan) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// misc skips white space, comments and processing instructions (the XML
// declaration); a DOCTYPE is refused (entity expansion is an attack surface
// we do not need).
func (p *xmlScan) misc() string {
	for {
		p.space()
		switch {
		case p.has("<!--"):
			end := strings.Index(p.s[p.i+4:], "-->")
			if end < 0 {
				return "unterminated comment"
			}
			p.i += 4 + end + 3
		case p.has("<?"):
			end := strings.Index(p.s[p.i+2:], "?>")
			if end < 0 {
				return "unterminated processing instruction"
			}
			p.i += 2 + end + 2
		case p.has("<!DOCTYPE"), p.has("<!doctype"):
			return "DOCTYPE not accepted"
		default:
			return ""
		}
	}
}

func isXMLNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80
}

func (p *xmlScan) name() string {
	start := p.i
	for p.i < len(p.s) && isXMLNameByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func localName(n string) string {
	if i := strings.LastIndexByte(n, ':'); i >= 0 {
		return n[i+1:]
	}
	return n
}

// startTag reads <name attr="v" …> or <name …/>, p at '<'.
func (p *xmlScan) startTag() (name string, isNil, empty bool, msg string) {
	p.i++
	if name = p.name(); name == "" {
		return "", false, false, "bad start tag"
	}
	for {
		p.space()
		switch {
		case p.i >= len(p.s):
			return "", false, false, "truncated start tag"
		case p.has("/>"):
			p.i += 2
			return name, isNil, true, ""
		case p.s[p.i] == '>':
			p.i++
			return name, isNil, false, ""
		}
		an := p.name()
		if an == "" {
			return "", false, false, "bad attribute"
		}
		p.space()
		if !p.has("=") {
			return "", false, false, "attribute without value"
		}
		p.i++
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' && p.s[p.i] != '\'' {
			return "", false, false, "attribute value not quoted"
		}
		q := p.s[p.i]
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return "", false, false, "truncated attribute"
		}
		v := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		if strings.IndexByte(v, '<') >= 0 {
			return "", false, false, "'<' in an attribute value"
		}
		if localName(an) == "nil" && (strings.TrimSpace(v) == "true" || strings.TrimSpace(v) == "1") {
			isNil = true
		}
	}
}

// endTag reads </name>, p at "</".
func (p *xmlScan) endTag() (string, string) {
	p.i += 2
	n := p.name()
	p.space()
	if n == "" || !p.has(">") {
		return "", "bad end tag"
	}
	p.i++
	return n, ""
}

// content reads an element's content up to its end tag. simple is false when
// it holds child elements, which are skipped.
func (p *xmlScan) content(name string) (text string, simple bool, msg string) {
	// Text is usually one plain run: only a second run (CDATA, a comment, an
	// entity) needs the builder.
	var b strings.Builder
	runs := 0
	add := func(s string) {
		switch runs {
		case 0:
			text = s
		case 1:
			b.WriteString(text)
			fallthrough
		default:
			b.WriteString(s)
		}
		runs++
	}
	simple = true
	depth := 0
	for {
		lt := strings.IndexByte(p.s[p.i:], '<')
		if lt < 0 {
			return "", false, "truncated element"
		}
		if depth == 0 && lt > 0 {
			t, ok := xmlUnescape(p.s[p.i : p.i+lt])
			if !ok {
				return "", false, "bad character reference"
			}
			add(t)
		}
		p.i += lt
		switch {
		case p.has("<![CDATA["):
			end := strings.Index(p.s[p.i+9:], "]]>")
			if end < 0 {
				return "", false, "unterminated CDATA"
			}
			if depth == 0 {
				add(p.s[p.i+9 : p.i+9+end])
			}
			p.i += 9 + end + 3
		case p.has("<!--"), p.has("<?"):
			if msg := p.misc(); msg != "" {
				return "", false, msg
			}
		case p.has("</"):
			n, msg := p.endTag()
			if msg != "" {
				return "", false, msg
			}
			if depth == 0 {
				if n != name {
					return "", false, "mismatched end tag"
				}
				if runs > 1 {
					text = b.String()
				}
				return text, simple, ""
			}
			depth--
		case p.has("<!"):
			return "", false, "unexpected markup declaration"
		default:
			_, _, empty, msg := p.startTag()
			if msg != "" {
				return "", false, msg
			}
			simple = false
			if !empty {
				depth++
			}
		}
	}
}

// xmlUnescape resolves the five predefined entities and character
// references; anything else is refused.
func xmlUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '&') < 0 {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		semi := strings.IndexByte(s, ';')
		if semi < 0 || semi > 10 {
			return "", false
		}
		ent := s[:semi]
		s = s[semi+1:]
		switch ent {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return "", false
			}
			base, digits := 10, ent[1:]
			if digits[0] == 'x' {
				base, digits = 16, digits[1:]
			}
			n, err := strconv.ParseUint(digits, base, 32)
			if err != nil || digits == "" || digits[0] == '+' || !xmlChar(rune(n)) {
				return "", false
			}
			b.WriteRune(rune(n))
		}
	}
}

func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
