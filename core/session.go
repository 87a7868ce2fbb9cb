package core

import "strconv"

// The session is one state machine (h11 / quinn-proto style): every
// transition is in step(), one switch over phase × input, and the clock and
// randomness come in as inputs (now, and a PRNG seeded by Options.Seed).
// docs/protocol.md is its specification.

// phase is where the session stands between two host calls.
type phase int

const (
	phIdle    phase = iota // nothing outstanding
	phLease                // a lease step is out: waiting for Leased
	phSend                 // a request step is out: waiting for Feed
	phWait                 // a retry wait is out: Next before UntilMs repeats it
	phPoll                 // a lease wait is out (another holder renews)
	phCommit               // a commit step is out: waiting for Committed
	phRelease              // a release step is out: waiting for Released
)

// inputKind is what the host handed to step().
type inputKind int

const (
	inNext inputKind = iota
	inResponse
	inLease
	inCommit
	inRelease
)

type input struct {
	kind   inputKind
	resp   *Response
	lease  *LeaseResult
	commit *CommitResult
}

// Time range the session accepts for now (unix ms): 2000-01-01 to
// 3000-01-01. Outside it, the host's clock is broken, and the arithmetic on
// expiries must never come near overflow.
const (
	MinNowMs int64 = 946684800000
	MaxNowMs int64 = 32503680000000
)

// maxLostCommits bounds a renewal whose commit keeps being lost: each loss
// restarts it, and a store that always answers "lost" must not loop forever.
const maxLostCommits = 3

// maxRefused is how many refused access tokens a session remembers.
const maxRefused = 8

// Session is one token's lifecycle for one configuration. It is not safe for
// concurrent use: hosts serialise calls (and serve fresh tokens without it).
type Session struct {
	cfg Config
	p   provider
	opt Options
	rng prng

	tok  Token  // held and published (or restored)
	pend *Token // renewed, not yet committed: never dropped, never re-requested

	ph      phase
	ex      exchange // the request out (phSend) or to resend (phWait)
	untilMs int64    // phWait, phPoll
	leased  bool     // the host holds the lease for this session
	baseRev int64    // rev of the stored token the lease loaded
	tries   int      // requests of this renewal that failed retryably
	startMs int64    // when this renewal's first request went out; 0 = none yet
	lost    int      // commits of this renewal that were lost
	after   *Step    // answered once the release step is answered; nil = decide afresh

	holdUntil int64  // no renewal before (unix ms)
	holdErr   *Error // what the failed renewal answered
	soloAfter int64  // store unreachable: no renewal without the lease before (unix ms)
	late      bool   // the commit out is of a token served while the store was down

	servedAT  string // access token and rev of the last token step
	servedRev int64
	refused   []string // access tokens the vendor's API refused

	rd redactor
	px parseCtx
}

// NewSession validates c and o and starts with no token.
func NewSession(c Config, o Options) (*Session, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if o.BackoffCapMs < o.BackoffBaseMs {
		o.BackoffCapMs = o.BackoffBaseMs
	}
	s := &Session{cfg: c, p: providers[c.Provider], opt: o, rng: prng{o.Seed}}
	s.rd.add(c.secrets()...)
	s.rd.pin()
	s.px.rd = &s.rd
	return s, nil
}

// Config returns the validated configuration, defaults filled in.
func (s *Session) Config() Config { return s.cfg }

// Options returns the session's policy, defaults filled in.
func (s *Session) Options() Options { return s.opt }

// Token returns the token held, if any (it may be stale or expired). A
// renewed token that is not committed yet is not returned.
func (s *Session) Token() (Token, bool) {
	return s.tok, s.tok.AccessToken != "" || s.tok.RefreshToken != ""
}

// Redact masks every secret and token the session knows in text: hosts pass
// their own error texts (transport, store) through it before logging them.
func (s *Session) Redact(text string) string { return s.rd.excerpt([]byte(text)) }

// Refused reports whether an API answer means the vendor refused the access
// token (see the package-level Refused).
func (s *Session) Refused(r *Response) bool { return Refused(s.cfg.Provider, r) }

// Restore loads a token a store kept, e.g. after a restart. It is checked
// as strictly as a vendor's answer: a tampered store cannot hand the host a
// token that breaks a header.
func (s *Session) Restore(t Token) error {
	n, err := s.normalize(t)
	if err != nil {
		return err
	}
	s.tok = n
	s.servedAT, s.servedRev = n.AccessToken, n.Rev
	s.rd.add(n.AccessToken, n.RefreshToken)
	s.applyLearned()
	return nil
}

// normalize checks a token from outside (a restore, a stored token) and
// recomputes what the config decides (attach, refresh_at).
func (s *Session) normalize(t Token) (Token, error) {
	if t.Provider != "" && t.Provider != s.cfg.Provider {
		return t, &Error{Code: CodeUsage, Message: "restore: token is for provider " + clip(safeText(t.Provider), 40) + ", session is " + s.cfg.Provider}
	}
	if e := checkTokenValue("access_token", t.AccessToken, 0); e != nil {
		e.Code, e.Message = CodeUsage, "restore: "+e.Message
		return t, e
	}
	if e := checkTokenValue("refresh_token", t.RefreshToken, 0); e != nil {
		e.Code, e.Message = CodeUsage, "restore: "+e.Message
		return t, e
	}
	for _, v := range []int64{t.ExpiresAt, t.RefreshAt, t.RefreshExpiresAt, t.IssuedAt, t.ReceivedAt} {
		if v < 0 || v > MaxNowMs/1000 {
			return t, &Error{Code: CodeUsage, Message: "restore: a time is out of range"}
		}
	}
	if t.Rev < 0 {
		return t, &Error{Code: CodeUsage, Message: "restore: rev is negative"}
	}
	t.Provider = s.cfg.Provider
	if t.AccessToken != "" {
		t.Attach = s.p.attach(&s.cfg, &t)
	} else {
		t.Attach = Attach{}
	}
	if t.RefreshAt == 0 && t.ExpiresAt != 0 {
		t.RefreshAt = refreshAt(t.ExpiresAt, t.IssuedAt, s.cfg.LeewaySeconds)
	}
	return t, nil
}

// checkTokenValue refuses a token value no host can send unchanged: bytes
// outside printable ASCII would be mangled differently by each runtime
// (U+FFFD in JSON, percent-escapes in a URL) or split a header.
func checkTokenValue(field, v string, status int) *Error {
	if len(v) > maxTokenBytes {
		return malformed(status, field+" longer than 16 KiB")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f {
			// One message whatever the bytes: a host that hands the body
			// over as JSON has turned invalid UTF-8 into U+FFFD already.
			return malformed(status, field+" holds bytes outside printable ASCII")
		}
	}
	return nil
}

// maxTokenBytes bounds a token value: a JWT with many claims is a few KiB.
const maxTokenBytes = 16 << 10

// safeText keeps only printable ASCII of a value quoted in an error.
func safeText(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// Invalidate reports that the vendor's API refused accessToken. If it is
// the one held, it is dropped (the refresh token is kept), the hold-off
// ends, and dropped is true. The token is remembered as refused: a stored
// token carrying it is never adopted, and a second report changes nothing,
// so many 401s cause one renewal.
func (s *Session) Invalidate(accessToken string) (dropped bool) {
	if accessToken == "" {
		return false
	}
	for _, r := range s.refused {
		if r == accessToken {
			return false
		}
	}
	if len(s.refused) == maxRefused {
		copy(s.refused, s.refused[1:])
		s.refused = s.refused[:maxRefused-1]
	}
	s.refused = append(s.refused, accessToken)
	if s.pend != nil && s.pend.AccessToken == accessToken {
		// Served while the store was down, refused since: committing it
		// later would hand other instances a dead token.
		s.pend = nil
	}
	if s.tok.AccessToken != accessToken {
		return false
	}
	s.tok.AccessToken, s.tok.Attach = "", Attach{}
	s.tok.ExpiresAt, s.tok.RefreshAt = 0, 0
	s.holdUntil, s.holdErr = 0, nil
	return true
}

func (s *Session) isRefused(at string) bool {
	for _, r := range s.refused {
		if r == at {
			return true
		}
	}
	return false
}

// Cancel forgets the request or wait outstanding: the host gave up
// (timeout, cancelled context, close). release is true when the host holds
// a lease for this session and must release it itself. A renewed token not
// yet committed is kept: the next Next asks to commit it again.
func (s *Session) Cancel() (release bool) {
	release = s.leased
	s.leased = false
	s.ph = phIdle
	s.after = nil
	s.resetRenewal()
	return release
}

// Next answers what to do at nowMs (unix milliseconds).
func (s *Session) Next(nowMs int64) Step { return s.step(nowMs, input{kind: inNext}) }

// Feed answers a request step with the vendor's response (or the
// transport's failure, Response.Err).
func (s *Session) Feed(nowMs int64, r Response) Step {
	return s.step(nowMs, input{kind: inResponse, resp: &r})
}

// Leased answers a lease step.
func (s *Session) Leased(nowMs int64, r LeaseResult) Step {
	return s.step(nowMs, input{kind: inLease, lease: &r})
}

// Committed answers a commit step.
func (s *Session) Committed(nowMs int64, r CommitResult) Step {
	return s.step(nowMs, input{kind: inCommit, commit: &r})
}

// Released answers a release step.
func (s *Session) Released(nowMs int64) Step { return s.step(nowMs, input{kind: inRelease}) }

// step is the transition function: every change of phase happens here or in
// the handlers it calls for one (phase, input) pair.
func (s *Session) step(now int64, in input) Step {
	if now < MinNowMs || now > MaxNowMs {
		return errStep(&Error{Code: CodeUsage, Message: "now is out of range (unix milliseconds between 2000 and 3000 expected)"})
	}
	switch s.ph {
	case phIdle:
		if in.kind == inNext {
			return s.decide(now)
		}
	case phPoll:
		if in.kind == inNext {
			// A lease wait may end early: a shared store that notifies
			// followers (Redis pub/sub) wakes the host before until_ms, and
			// the freshest answer is another look at the store. Hosts without
			// notices sleep until until_ms, so this is no busy loop.
			s.ph = phIdle
			return s.decide(now)
		}
	case phWait:
		if in.kind == inNext {
			if now < s.untilMs {
				return s.waitStep(now, ReasonRetry)
			}
			return s.send(now, s.ex)
		}
	case phLease:
		switch in.kind {
		case inNext:
			return s.pending(now)
		case inLease:
			return s.onLease(now, in.lease)
		}
	case phSend:
		switch in.kind {
		case inNext:
			return s.pending(now)
		case inResponse:
			return s.onResponse(now, in.resp)
		}
	case phCommit:
		switch in.kind {
		case inNext:
			return s.pending(now)
		case inCommit:
			return s.onCommit(now, in.commit)
		}
	case phRelease:
		switch in.kind {
		case inNext:
			return s.pending(now)
		case inRelease:
			s.ph = phIdle
			if st := s.after; st != nil {
				s.after = nil
				return *st
			}
			return s.decide(now)
		}
	}
	return errStep(s.outOfOrder(in.kind))
}

func (s *Session) outOfOrder(k inputKind) *Error {
	if k == inResponse && s.ph == phIdle {
		return &Error{Code: CodeUsage, Message: "Feed without a request in flight"}
	}
	want := "nothing"
	switch s.ph {
	case phLease:
		want = "a lease answer"
	case phSend:
		want = "a response"
	case phWait, phPoll:
		want = "next (a wait is out)"
	case phCommit:
		want = "a commit answer"
	case phRelease:
		want = "a release answer"
	}
	return &Error{Code: CodeUsage, Message: "fed " + inputNames[k] + ", but the session waits for " + want}
}

var inputNames = [...]string{"next", "a response", "a lease answer", "a commit answer", "a release answer"}

// decide is the idle session's choice: commit what is pending, serve a
// fresh token, honour the hold-off, or start a renewal with a lease.
func (s *Session) decide(now int64) Step {
	if s.pend != nil && now >= s.holdUntil {
		s.ph = phCommit
		s.late = true
		return Step{Kind: StepCommit, Token: *s.pend, BaseRev: s.baseRev}
	}
	st := s.tok.StateAt(now)
	if st == Fresh {
		return s.serve()
	}
	if now < s.holdUntil {
		if st == Stale {
			return s.serve()
		}
		e := *s.holdErr
		return Step{Kind: StepError, Err: &e}
	}
	s.ph = phLease
	return Step{Kind: StepLease, LeaseTTLMs: 2*s.opt.TimeoutMs + s.opt.BudgetMs, Usable: s.usable(now)}
}

// serve answers the held token; Changed says whether the host's cache
// holds another one.
func (s *Session) serve() Step {
	changed := s.tok.AccessToken != s.servedAT || s.tok.Rev != s.servedRev
	s.servedAT, s.servedRev = s.tok.AccessToken, s.tok.Rev
	return Step{Kind: StepToken, Token: s.tok, Changed: changed}
}

// usable is the held token when it is stale but still valid.
func (s *Session) usable(now int64) *Token {
	if s.tok.StateAt(now) != Stale {
		return nil
	}
	t := s.tok
	return &t
}

func (s *Session) pending(now int64) Step { return Step{Kind: StepPending, Usable: s.usable(now)} }

func (s *Session) waitStep(now int64, reason string) Step {
	return Step{Kind: StepWait, UntilMs: s.untilMs, Reason: reason, Usable: s.usable(now)}
}

func (s *Session) resetRenewal() { s.tries, s.startMs, s.lost = 0, 0, 0 }

// onLease adopts a newer stored token, or waits for the holder, or sends.
func (s *Session) onLease(now int64, r *LeaseResult) Step {
	s.ph = phIdle
	if r.Err != nil {
		e := s.storeError("lease", r.Err)
		e.Retryable = r.Err.Retryable
		if r.Err.Retryable && !s.opt.StoreRequired && s.usable(now) == nil && now >= s.soloAfter && s.tok.StateAt(now) != Fresh {
			// The store is unreachable (a retryable store error; an unusable
			// stored value is not, and nothing may replace it) and nothing
			// usable is held: callers would fail until it returns. Renew
			// without the lease, at most once per hold-off window (an outage
			// must not become a grant storm: at MoversConnect each grant
			// voids the other holders').
			s.soloAfter = now + s.opt.HoldOffMs
			s.leased, s.baseRev = false, 0
			return s.send(now, s.choose(now))
		}
		return s.fail(now, e)
	}
	s.leased = r.Acquired
	s.baseRev = 0
	if r.Token != nil {
		s.baseRev = r.Token.Rev
		s.adopt(*r.Token)
	}
	if s.tok.StateAt(now) == Fresh {
		s.resetRenewal()
		s.holdUntil, s.holdErr = 0, nil
		if s.leased {
			return s.release(nil)
		}
		return s.serve()
	}
	if !s.leased {
		s.ph = phPoll
		p := s.opt.LeasePollMs
		s.untilMs = now + p/2 + s.rng.upTo(p)
		return s.waitStep(now, ReasonLease)
	}
	return s.send(now, s.choose(now))
}

// adopt takes a stored token that is newer than the one held and not
// refused. It reports whether it did.
func (s *Session) adopt(t Token) bool {
	held := s.tok.AccessToken != "" || s.tok.RefreshToken != ""
	if held && t.Rev <= s.tok.Rev {
		return false
	}
	if t.AccessToken != "" && s.isRefused(t.AccessToken) {
		return false
	}
	n, err := s.normalize(t)
	if err != nil || (n.AccessToken == "" && n.RefreshToken == "") {
		return false
	}
	s.tok = n
	s.rd.add(n.AccessToken, n.RefreshToken)
	s.applyLearned()
	return true
}

// choose picks the exchange for a renewal: a refresh while a refresh token
// lives, else a grant. MoversConnect's activation only extends a held access
// token: without one it is a wasted call that spends the refresh token.
func (s *Session) choose(now int64) exchange {
	refresh := s.p.refreshes() && s.tok.canRefresh(floorDiv(now, 1000))
	if _, ok := s.p.(extender); ok && s.tok.AccessToken == "" {
		refresh = false
	}
	return exchange{refresh: refresh}
}

func (s *Session) send(now int64, ex exchange) Step {
	if s.startMs == 0 {
		s.startMs = now
	}
	s.ex = ex
	s.ph = phSend
	r := s.p.request(&s.cfg, ex, &s.tok)
	r.TimeoutMs = s.opt.TimeoutMs
	return Step{Kind: StepRequest, Request: r, Usable: s.usable(now)}
}

func (s *Session) release(after *Step) Step {
	s.leased = false
	s.ph = phRelease
	s.after = after
	return Step{Kind: StepRelease}
}

// onResponse reads the vendor's answer: a token goes to commit; a refused
// refresh turns into a grant; a retryable failure waits and resends; a
// final one ends the renewal.
func (s *Session) onResponse(now int64, r *Response) Step {
	s.ph = phIdle
	ex := s.ex
	if err := s.precheck(r, now); err != nil {
		return s.failed(now, err)
	}
	t, err := s.p.parse(&s.cfg, ex, r, floorDiv(now, 1000), &s.px)
	if err == nil {
		err = checkTokenValue("access token", t.AccessToken, r.Status)
	}
	if err == nil {
		err = checkTokenValue("refresh token", t.RefreshToken, r.Status)
	}
	if err != nil {
		if alt, ok := s.p.alternate(&s.cfg, ex, err); ok {
			return s.send(now, alt)
		}
		if ex.refresh && !err.Retryable {
			return s.fallBack(now)
		}
		return s.failed(now, err)
	}
	nowS := floorDiv(now, 1000)
	merged := merge(s.tok, t, ex.refresh)
	if merged.AccessToken == "" {
		if ex.refresh {
			// An activation that returns no token is only useful while we
			// still hold one; without it, log in again.
			return s.fallBack(now)
		}
		return s.failed(now, malformed(r.Status, "response carries no access token"))
	}
	merged.Provider = s.cfg.Provider
	if t.AccessToken != "" && merged.IssuedAt == 0 {
		merged.IssuedAt = nowS
	}
	merged.RefreshAt = refreshAt(merged.ExpiresAt, nowS, s.cfg.LeewaySeconds)
	merged.Attach = s.p.attach(&s.cfg, &merged)
	merged.ReceivedAt = nowS
	merged.Rev = max(s.tok.Rev, s.baseRev) + 1
	merged.Learned = s.learned()
	s.rd.add(merged.AccessToken, merged.RefreshToken)
	s.pend = &merged
	s.ph = phCommit
	return Step{Kind: StepCommit, Token: merged, BaseRev: s.baseRev}
}

// fallBack abandons a refresh the vendor refused and asks for a new grant
// at once, within the same lease.
func (s *Session) fallBack(now int64) Step {
	s.tok.RefreshToken, s.tok.RefreshExpiresAt = "", 0
	return s.send(now, exchange{})
}

// failed retries a retryable failure while attempts and budget last (full
// jitter, never sooner than Retry-After), else ends the renewal.
func (s *Session) failed(now int64, e *Error) Step {
	if e.Retryable {
		s.tries++
		if s.tries < s.opt.MaxAttempts {
			ceil := s.opt.BackoffBaseMs
			for i := 1; i < s.tries && ceil < s.opt.BackoffCapMs; i++ {
				ceil *= 2
			}
			ceil = min(ceil, s.opt.BackoffCapMs)
			d := s.rng.upTo(ceil)
			d = max(d, e.RetryAfter*1000)
			if now+d-s.startMs <= s.opt.BudgetMs {
				s.ph = phWait
				s.untilMs = now + d
				return s.waitStep(now, ReasonRetry)
			}
		}
	}
	return s.fail(now, e)
}

// fail ends the renewal: hold-off until now + HoldOffMs (or Retry-After),
// then release the lease (if held) and report e.
func (s *Session) fail(now int64, e *Error) Step {
	hold := now + s.opt.HoldOffMs
	hold = max(hold, now+e.RetryAfter*1000)
	e.RetryAtMs = hold
	s.holdUntil = hold
	c := *e
	s.holdErr = &c
	s.resetRenewal()
	st := Step{Kind: StepError, Err: e, Usable: s.usable(now)}
	if s.leased {
		return s.release(&st)
	}
	s.ph = phIdle
	return st
}

// onCommit publishes the committed token, adopts the winner of a lost
// commit, or keeps the token pending after a store failure.
func (s *Session) onCommit(now int64, r *CommitResult) Step {
	s.ph = phIdle
	s.leased = false
	switch {
	case r.Err != nil:
		// The token stays pending: it is never lost and never re-requested,
		// and the first Next after the hold-off commits it again. Callers
		// are served it meanwhile (as usable, then from token steps): a
		// store outage must not fail callers the vendor has already
		// answered. The error is still reported, so the host logs it.
		e := s.storeError("commit", r.Err)
		e.RetryAtMs = now + s.opt.HoldOffMs
		s.holdUntil = e.RetryAtMs
		c := *e
		s.holdErr = &c
		s.resetRenewal()
		t := *s.pend
		s.tok = t
		return Step{Kind: StepError, Err: e, Usable: &t}
	case r.OK:
		s.tok = *s.pend
		s.pend = nil
		s.resetRenewal()
		s.holdUntil, s.holdErr = 0, nil
		if late := s.late; late {
			s.late = false
			if s.tok.StateAt(now) != Fresh {
				// Committed after a store outage, by now no longer fresh:
				// renew it rather than serve what the host came here for.
				return s.decide(now)
			}
		}
		return s.serve()
	}
	// Lost: another holder committed first. Our token is dropped (at
	// MoversConnect the stored one may have been voided by our grant; the
	// 401 path heals that).
	s.pend = nil
	s.lost++
	if r.Token != nil && s.adopt(*r.Token) && (s.tok.StateAt(now) == Fresh || s.tok.StateAt(now) == Stale) {
		s.resetRenewal()
		return s.serve()
	}
	if s.lost >= maxLostCommits {
		return s.fail(now, &Error{Code: CodeStore, Retryable: true, Message: "commit lost " + strconv.Itoa(s.lost) + " times in one renewal"})
	}
	return s.decide(now)
}

func (s *Session) storeError(what string, e *Error) *Error {
	return &Error{Code: CodeStore, Retryable: true, Message: what + ": " + s.rd.excerpt([]byte(e.Message))}
}

// precheck handles what no provider reads: transport failures, bodies over
// the cap and impossible statuses.
func (s *Session) precheck(r *Response, now int64) *Error {
	if r.Err != nil {
		e := *r.Err
		e.Status, e.Field, e.RetryAtMs = 0, "", 0
		if e.Code == CodeCORS {
			// A browser refused to show the answer: asking again gets the
			// same refusal, so it is final.
			e.Retryable, e.RetryAfter = false, 0
		} else {
			e.Code, e.Retryable, e.RetryAfter = CodeNetwork, true, 0
		}
		// The host's text may quote the URL (a GET's query) or what a broken
		// server sent back: excerpt masks before it cuts, and reads a
		// bounded prefix however long the text.
		e.Message = s.rd.excerpt([]byte(e.Message))
		return &e
	}
	if r.Status == 0 {
		return malformed(0, "status 0: the platform hid a redirect (opaqueredirect); redirects are refused")
	}
	if r.Status < 100 || r.Status > 599 {
		return malformed(r.Status, "no valid HTTP status")
	}
	if len(r.Body) > MaxBodyBytes {
		if r.Status >= 500 || r.Status == 429 {
			return httpError(r.Status, r, floorDiv(now, 1000), "body larger than 1 MiB, not read")
		}
		return malformed(r.Status, "body larger than 1 MiB, refused")
	}
	return nil
}

// learned is what the session keeps in the token for other instances.
func (s *Session) learned() map[string]string {
	if l, ok := s.p.(learner); ok {
		if m := l.learned(&s.cfg); len(m) > 0 {
			return m
		}
	}
	return nil
}

// applyLearned honours what a restored or adopted token says was learned.
func (s *Session) applyLearned() {
	if l, ok := s.p.(learner); ok && len(s.tok.Learned) > 0 {
		l.apply(&s.cfg, s.tok.Learned)
	}
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
