package core

import (
	"strconv"
	"strings"

	"github.com/tokensmith/tokensmith/third_party/fastjson"
)

// Provider ids, the same in Go, WASM, JS and the CLI.
const (
	MoversConnect = "moversconnect"
	DQEIDMobile   = "dqe-idmobile"
	ByDesign      = "bydesign"
	CRMCOM        = "crmcom"
)

// DefaultLeeway is how many seconds before expiry a token turns stale and is
// refreshed: auth0-spa-js's 60 s, wide enough for a slow refresh round trip.
const DefaultLeeway = 60

// Config is one token endpoint's settings. Only the fields of Provider are
// used; ParseConfig rejects the others so a misspelt key cannot be ignored.
type Config struct {
	Provider      string
	BaseURL       string
	LeewaySeconds int64 // seconds before expiry a token is stale; 0 = DefaultLeeway

	// Shared by several providers.
	Username     string // moversconnect, bydesign (bydesign: without the -->r_/-->c_ prefix)
	Password     string // moversconnect, bydesign
	ClientID     string // moversconnect, bydesign
	ClientSecret string // moversconnect, dqe-idmobile
	Encoding     string // moversconnect: json|xml|form; bydesign: json|form

	CompanyID   string // moversconnect
	TokenHeader string // moversconnect: header that carries the token, default "Token" [inferred]

	Licence string // dqe-idmobile
	Method  string // dqe-idmobile: POST (default) or GET

	UserType string // bydesign: rep|customer

	Key                string // crmcom: consumer application key, sent as Basic user name
	AuthenticationCode string // crmcom
	Identifier         string // crmcom
	PassCode           string // crmcom
	JWT                string // crmcom, R16.2.0+
	Organisation       string // crmcom, with JWT
	Unit               string // crmcom, optional
}

// configField binds a wire name to a Config field. Which provider accepts
// it and whether it is secret is declared by the providers (register).
type configField struct {
	name string
	ptr  func(*Config) *string
}

// configFields is every string field of the wire format, in the order
// ConfigFields and String list them.
var configFields = []configField{
	{"base_url", func(c *Config) *string { return &c.BaseURL }},
	{"username", func(c *Config) *string { return &c.Username }},
	{"password", func(c *Config) *string { return &c.Password }},
	{"client_id", func(c *Config) *string { return &c.ClientID }},
	{"client_secret", func(c *Config) *string { return &c.ClientSecret }},
	{"encoding", func(c *Config) *string { return &c.Encoding }},
	{"company_id", func(c *Config) *string { return &c.CompanyID }},
	{"token_header", func(c *Config) *string { return &c.TokenHeader }},
	{"licence", func(c *Config) *string { return &c.Licence }},
	{"method", func(c *Config) *string { return &c.Method }},
	{"user_type", func(c *Config) *string { return &c.UserType }},
	{"key", func(c *Config) *string { return &c.Key }},
	{"authentication_code", func(c *Config) *string { return &c.AuthenticationCode }},
	{"identifier", func(c *Config) *string { return &c.Identifier }},
	{"pass_code", func(c *Config) *string { return &c.PassCode }},
	{"jwt", func(c *Config) *string { return &c.JWT }},
	{"organisation", func(c *Config) *string { return &c.Organisation }},
	{"unit", func(c *Config) *string { return &c.Unit }},
}

// ConfigFields lists every key of the wire-format config, "provider" and
// "leeway_seconds" included, so hosts (the CLI's environment variables) need
// no copy of their own. Only keys some registered provider accepts appear.
func ConfigFields() []string {
	out := []string{"provider", "leeway_seconds", "base_url"}
	for _, f := range configFields[1:] {
		if declared(f.name) {
			out = append(out, f.name)
		}
	}
	return out
}

// declared reports whether any registered provider accepts key.
func declared(key string) bool {
	for id := range settingsOf {
		if accepts(id, key) {
			return true
		}
	}
	return false
}

func lookupField(name string) *configField {
	for i := range configFields {
		if configFields[i].name == name {
			return &configFields[i]
		}
	}
	return nil
}

// ParseConfig reads the wire-format config: a JSON object with "provider",
// that provider's settings and optionally "leeway_seconds". Every mistake is
// a *Error with code "config" naming the field. The result is validated and
// has its defaults filled in.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	data = trimBOM(data)
	var p fastjson.Parser
	v, err := p.ParseBytes(data)
	if err != nil {
		return c, configError("config", "not valid JSON")
	}
	obj, err := v.Object()
	if err != nil {
		return c, configError("config", "must be a JSON object")
	}
	var perr *Error
	seen := map[string]bool{}
	obj.Visit(func(k []byte, fv *fastjson.Value) {
		if perr != nil {
			return
		}
		name := string(k)
		if seen[name] {
			perr = configError(name, "given twice")
			return
		}
		seen[name] = true
		switch name {
		case "provider":
			s, ok := stringValue(fv)
			if !ok {
				perr = configError(name, "must be a string")
				return
			}
			c.Provider = s
		case "leeway_seconds":
			n, err := fv.Int64()
			if err != nil {
				perr = configError(name, "must be a whole number of seconds")
				return
			}
			c.LeewaySeconds = n
			if n < 0 {
				perr = configError(name, "must not be negative")
			}
		default:
			f := lookupField(name)
			if f == nil || (name != "base_url" && !declared(name)) {
				if name == "" {
					perr = configError("config", "a field has an empty name")
					return
				}
				perr = configError(clip(name, 64), "unknown field")
				return
			}
			if fv.Type() == fastjson.TypeNull {
				return
			}
			s, ok := stringValue(fv)
			if !ok {
				perr = configError(name, "must be a string")
				return
			}
			*f.ptr(&c) = s
		}
	})
	if perr != nil {
		return Config{}, perr
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	// Fields of another provider are mistakes too: report the first.
	for _, f := range configFields {
		if seen[f.name] && f.name != "base_url" && !accepts(c.Provider, f.name) {
			return Config{}, configError(f.name, "is not a setting of provider "+c.Provider)
		}
	}
	return c, nil
}

// validate fills defaults and checks everything that does not depend on the
// vendor: provider, base URL, leeway. Then the provider checks its own fields.
func (c *Config) validate() error {
	if c.Provider == "" {
		return configError("provider", "missing; one of "+strings.Join(Providers(), ", "))
	}
	p, ok := providers[c.Provider]
	if !ok {
		return configError("provider", "unknown provider "+strconv.Quote(clip(c.Provider, 40))+"; one of "+strings.Join(Providers(), ", "))
	}
	if c.LeewaySeconds < 0 {
		return configError("leeway_seconds", "must not be negative")
	}
	if c.LeewaySeconds == 0 {
		c.LeewaySeconds = DefaultLeeway
	}
	if c.LeewaySeconds > 86400 {
		return configError("leeway_seconds", "at most 86400 (one day)")
	}
	if c.BaseURL == "" {
		c.BaseURL = p.defaultBaseURL()
	}
	if c.BaseURL == "" {
		return configError("base_url", "missing")
	}
	if err := checkBaseURL(c.BaseURL); err != nil {
		return err
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return p.configure(c)
}

// secrets lists the configured values that must never appear in output.
func (c *Config) secrets() []string {
	var out []string
	for _, f := range configFields {
		if isSecret(f.name) {
			if v := *f.ptr(c); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// String describes c with every secret replaced by "[redacted]".
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("core.Config{provider=")
	b.WriteString(c.Provider)
	b.WriteString(" base_url=")
	b.WriteString(c.BaseURL)
	for _, f := range configFields[1:] {
		v := *f.ptr(&c)
		if v == "" {
			continue
		}
		b.WriteByte(' ')
		b.WriteString(f.name)
		b.WriteByte('=')
		if isSecret(f.name) {
			b.WriteString("[redacted]")
		} else {
			b.WriteString(v)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// GoString keeps %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

// MarshalWire encodes c as wire-format JSON, secrets included: it is for
// handing a config across the WASM boundary, never for logs.
func (c *Config) MarshalWire() []byte {
	o := newObj(nil)
	o.str("provider", c.Provider)
	o.int("leeway_seconds", c.LeewaySeconds)
	_, known := providers[c.Provider]
	for _, f := range configFields {
		if v := *f.ptr(c); v != "" && (!known || f.name == "base_url" || accepts(c.Provider, f.name)) {
			o.str(f.name, v)
		}
	}
	return o.done()
}

func stringValue(v *fastjson.Value) (string, bool) {
	if v.Type() != fastjson.TypeString {
		return "", false
	}
	b, _ := v.StringBytes()
	return string(b), true
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// SecretFields lists the wire config keys whose values are secrets: never in
// an error, a log line or a String(). Hosts and test runners use it rather
// than a copy of their own.
func SecretFields() []string {
	var out []string
	for _, f := range configFields {
		if isSecret(f.name) {
			out = append(out, f.name)
		}
	}
	return out
}
