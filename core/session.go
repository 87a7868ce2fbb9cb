package core

// StepKind says what a Step asks of the host.
type StepKind int

const (
	StepToken   StepKind = iota + 1 // use Step.Token (persist it first when Changed)
	StepRequest                     // send Step.Request and Feed the response
	StepError                       // give up on this attempt; Err says whether to retry
	StepPending                     // a request is in flight and no usable token is held: wait for it
)

func (k StepKind) String() string {
	switch k {
	case StepToken:
		return "token"
	case StepRequest:
		return "request"
	case StepError:
		return "error"
	case StepPending:
		return "pending"
	}
	return "invalid"
}

// Step is the core's answer to Next or Feed.
type Step struct {
	Kind    StepKind
	Token   Token
	Changed bool // the token is new or renewed: hand it to the store before use
	Request Request
	Err     *Error
}

// MarshalWire encodes s as {"token":…,"changed":…}, {"request":…},
// {"error":…} or {"pending":true}.
func (s *Step) MarshalWire() []byte { return s.AppendWire(nil) }

// AppendWire appends the wire encoding of s to dst.
func (s *Step) AppendWire(dst []byte) []byte {
	switch s.Kind {
	case StepToken:
		o := newObj(dst)
		o.key("token")
		o.b = appendTokenObj(o.b, &s.Token)
		o.bool("changed", s.Changed)
		return o.done()
	case StepRequest:
		o := newObj(dst)
		o.key("request")
		o.b = appendRequestObj(o.b, &s.Request)
		return o.done()
	case StepError:
		return appendErrorWire(dst, s.Err)
	}
	return append(dst, `{"pending":true}`...)
}

// Session is one token's lifecycle for one configuration. It is not safe for
// concurrent use: hosts serialise calls (and serve cached tokens without it).
// At most one request is in flight at a time.
type Session struct {
	cfg      Config
	p        provider
	tok      Token
	inflight *exchange
	rd       redactor
	px       parseCtx
}

// NewSession validates c and starts with no token.
func NewSession(c Config) (*Session, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: c, p: providers[c.Provider]}
	s.rd.add(c.secrets()...)
	s.rd.pin()
	s.px.rd = &s.rd
	return s, nil
}

// String describes s without any secret: a host that logs its session with
// %v must not print the unexported config and token fields raw.
func (s *Session) String() string {
	if s == nil {
		return "core.Session(nil)"
	}
	st := "idle"
	if s.inflight != nil {
		st = "in flight"
	}
	return "core.Session{" + s.cfg.String() + " " + s.tok.String() + " " + st + "}"
}

// GoString keeps %#v as safe as %v.
func (s *Session) GoString() string { return s.String() }

// Config returns the validated configuration, defaults filled in.
func (s *Session) Config() Config { return s.cfg }

// Token returns the token held, if any (it may be stale or expired).
func (s *Session) Token() (Token, bool) {
	return s.tok, s.tok.AccessToken != "" || s.tok.RefreshToken != ""
}

// Restore loads a token a store kept, e.g. after a restart.
func (s *Session) Restore(t Token) error {
	if t.Provider != "" && t.Provider != s.cfg.Provider {
		return &Error{Code: CodeUsage, Message: "restore: token is for provider " + clip(t.Provider, 40) + ", session is " + s.cfg.Provider}
	}
	t.Provider = s.cfg.Provider
	if t.AccessToken != "" {
		t.Attach = s.p.attach(&s.cfg, &t)
	}
	if t.RefreshAt == 0 && t.ExpiresAt != 0 {
		t.RefreshAt = refreshAt(t.ExpiresAt, t.IssuedAt, s.cfg.LeewaySeconds)
	}
	s.tok = t
	s.rd.add(t.AccessToken, t.RefreshToken)
	return nil
}

// Invalidate drops the access token after the vendor's API refused it (401),
// keeping the refresh token: the next Next renews.
func (s *Session) Invalidate() {
	s.tok.AccessToken = ""
	s.tok.ExpiresAt, s.tok.RefreshAt = 0, 0
}

// Cancel forgets the request in flight: the host gave up on it (timeout,
// cancelled context). A later Feed for it is refused.
func (s *Session) Cancel() { s.inflight = nil }

// Next answers what to do at now: use the token held, send a request, or
// wait for the one already in flight.
func (s *Session) Next(now int64) Step {
	st := s.tok.StateAt(now)
	if s.inflight != nil {
		if st == Fresh || st == Stale {
			return Step{Kind: StepToken, Token: s.tok}
		}
		return Step{Kind: StepPending}
	}
	if st == Fresh {
		return Step{Kind: StepToken, Token: s.tok}
	}
	refresh := s.p.refreshes() && s.tok.canRefresh(now)
	if _, ok := s.p.(extender); ok && s.tok.AccessToken == "" {
		refresh = false
	}
	return s.send(exchange{refresh: refresh})
}

func (s *Session) send(ex exchange) Step {
	s.inflight = &ex
	return Step{Kind: StepRequest, Request: s.p.request(&s.cfg, ex, &s.tok)}
}

// Feed hands the core the response to the request in flight. It answers with
// the token, a follow-up request (a refused refresh falls back to a new grant;
// ByDesign resends a JSON body as a form) or an error.
func (s *Session) Feed(now int64, r Response) Step {
	if s.inflight == nil {
		return errStep(&Error{Code: CodeUsage, Message: "Feed without a request in flight"})
	}
	ex := *s.inflight
	s.inflight = nil
	if err := s.precheck(&r, now); err != nil {
		return errStep(err)
	}
	t, err := s.p.parse(&s.cfg, ex, &r, now, &s.px)
	if err != nil {
		if alt, ok := s.p.alternate(&s.cfg, ex, err); ok {
			return s.send(alt)
		}
		if ex.refresh && !err.Retryable {
			return s.fallBack()
		}
		return errStep(err)
	}
	merged := merge(s.tok, t, ex.refresh)
	if merged.AccessToken == "" {
		if ex.refresh {
			// An activation that returns no token is only useful while we
			// still hold one; without it, log in again.
			return s.fallBack()
		}
		return errStep(malformed(r.Status, "response carries no access token"))
	}
	merged.Provider = s.cfg.Provider
	if t.AccessToken != "" && merged.IssuedAt == 0 {
		merged.IssuedAt = now
	}
	merged.RefreshAt = refreshAt(merged.ExpiresAt, now, s.cfg.LeewaySeconds)
	merged.Attach = s.p.attach(&s.cfg, &merged)
	s.tok = merged
	s.rd.add(merged.AccessToken, merged.RefreshToken)
	return Step{Kind: StepToken, Token: merged, Changed: true}
}

// fallBack abandons a refresh the vendor refused and asks for a new grant.
func (s *Session) fallBack() Step {
	s.tok.RefreshToken, s.tok.RefreshExpiresAt = "", 0
	return s.send(exchange{})
}

// precheck handles what no provider reads: transport failures, bodies over
// the cap and impossible statuses.
func (s *Session) precheck(r *Response, now int64) *Error {
	if r.Err != nil {
		e := *r.Err
		e.Code, e.Retryable, e.Status = CodeNetwork, true, 0
		// The host's text may quote the URL (a GET's query) or what a broken
		// server sent back: excerpt masks before it cuts, and reads a
		// bounded prefix however long the text.
		e.Message = s.rd.excerpt([]byte(e.Message))
		e.Field = ""
		return &e
	}
	if r.Status < 100 || r.Status > 599 {
		return malformed(r.Status, "no valid HTTP status")
	}
	if len(r.Body) > MaxBodyBytes {
		if r.Status >= 500 || r.Status == 429 {
			return httpError(r.Status, r, now, "body larger than 1 MiB, not read")
		}
		return malformed(r.Status, "body larger than 1 MiB, refused")
	}
	return nil
}

// merge lays what a response carried over what we hold. A field the response
// omits or sends as null never erases one we have: MoversConnect's activation
// answers "Token":null and means "keep yours".
func merge(held, got Token, refresh bool) Token {
	out := held
	if got.AccessToken != "" {
		out.AccessToken = got.AccessToken
		out.IssuedAt = got.IssuedAt
	}
	if got.TokenType != "" {
		out.TokenType = got.TokenType
	}
	if got.RefreshToken != "" {
		out.RefreshToken = got.RefreshToken
	}
	if got.ExpiresAt != 0 {
		out.ExpiresAt = got.ExpiresAt
	}
	if got.RefreshExpiresAt != 0 {
		out.RefreshExpiresAt = got.RefreshExpiresAt
	}
	switch {
	case len(got.Extra) == 0:
	case !refresh:
		// A new grant's vendor fields describe it alone: the claims of the
		// JWT it replaces (jti, iat) must not linger beside its own. A
		// refresh is the same login, so a profile field it omits stays.
		out.Extra = got.Extra
	default:
		m := make(map[string]string, len(held.Extra)+len(got.Extra))
		for k, v := range held.Extra {
			m[k] = v
		}
		for k, v := range got.Extra {
			m[k] = v
		}
		out.Extra = m
	}
	return out
}

func errStep(e *Error) Step { return Step{Kind: StepError, Err: e} }
