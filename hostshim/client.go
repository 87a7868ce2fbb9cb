package hostshim

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// Client obtains, caches, renews and attaches one provider's access token.
// It is safe for concurrent use; create one per configuration and share it.
//
// The Client decides nothing about the token's lifecycle: the core does
// (docs/protocol.md). The Client asks it what to do (Next) and performs the
// effect the step names: read the clock, sleep, send an HTTP request, lease,
// load, commit or release the stored token. What it adds is concurrency:
//   - a token the core published and that is fresh (core.Token.FreshAt) is
//     served from an atomic pointer: no lock, no engine call;
//   - otherwise one flight drives the core for every caller; while it runs,
//     callers are handed the stale-but-usable token the core's step carries
//     (stale-while-renew), or wait for the flight's end.
//
// A flight runs under the Client's own context, not a caller's: a caller
// whose ctx ends returns ctx.Err() at once, while the flight goes on for the
// others. Cancelling a grant half way would waste the vendor's answer, and at
// MoversConnect, where a new grant voids every earlier token, it could leave
// no valid token anywhere. Requests are bounded by the core's timeout, retry
// and budget options; Close cancels the flight.
type Client struct {
	provider string
	runtime  Runtime
	doer     *httpDoer
	store    Store
	notify   Notifier // the store's, or nil
	now      func() time.Time
	log      *slog.Logger
	sleep    func(context.Context, time.Duration) error

	// cur is the last token the core published; nil until the first.
	cur atomic.Pointer[core.Token]

	// engMu serialises engine calls. It is never held across an effect.
	engMu sync.Mutex
	eng   Engine

	mu     sync.Mutex // guards flight, closed and every flight's fields
	flight *flight
	closed bool

	ctx  context.Context // lives until Close; flights run under it
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// flight is one run of the core until a token or an error. Its fields are
// guarded by Client.mu; changed is closed (and replaced) whenever usable or
// ended changes, which wakes the callers waiting on it.
type flight struct {
	changed chan struct{}
	usable  *core.Token // the core's stale-but-valid token, served meanwhile
	ended   bool
	tok     *core.Token // the result; shared, never modified
	err     error
}

func (f *flight) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// ErrClosed is returned by a Client after Close.
var ErrClosed = &core.Error{Code: core.CodeUsage, Message: "client closed"}

// New validates cfg and returns a Client. No request is made until the first
// Token call. Errors are *core.Error (code "config" names the bad field).
func New(cfg core.Config, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.runtime == nil {
		o.runtime = Native
	}
	if o.core.Seed == 0 {
		o.core.Seed = randomSeed()
	}
	eng, err := o.runtime.NewEngine(cfg, o.core)
	if err != nil {
		return nil, asCoreError(err)
	}
	if o.store == nil {
		o.store = NewMemoryStore()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &Client{
		provider: cfg.Provider,
		runtime:  o.runtime,
		store:    o.store,
		now:      o.now,
		log:      o.log.With("provider", cfg.Provider, "runtime", o.runtime.String()),
		sleep:    o.sleep,
		eng:      eng,
		ctx:      ctx,
		stop:     stop,
	}
	c.notify, _ = o.store.(Notifier)
	c.doer = newHTTPDoer(o.http, c.redact)
	return c, nil
}

// Provider is the configured provider id.
func (c *Client) Provider() string { return c.provider }

// Runtime is where the core runs.
func (c *Client) Runtime() Runtime { return c.runtime }

func (c *Client) nowMs() int64 { return c.now().UnixMilli() }

// Token returns a usable access token: fresh, or stale while a renewal runs
// in the background. Errors are *core.Error, ErrClosed, or ctx.Err() when
// ctx ends first.
func (c *Client) Token(ctx context.Context) (core.Token, error) {
	t, err := c.token(ctx, false)
	if err != nil {
		return core.Token{}, err
	}
	return *t, nil
}

// FreshToken is Token for callers that would rather wait than hold a stale
// token, such as a command that prints the token and exits: it waits for
// the flight's end. If the renewal fails while the stale token is still
// valid, the core hands that token out (and the failure is logged).
func (c *Client) FreshToken(ctx context.Context) (core.Token, error) {
	t, err := c.token(ctx, true)
	if err != nil {
		return core.Token{}, err
	}
	return *t, nil
}

// token is Token without the copy, for adapters that cache per token. The
// pointer is shared: never modify what it points to.
func (c *Client) token(ctx context.Context, wait bool) (*core.Token, error) {
	if t := c.cur.Load(); t != nil && t.FreshAt(c.nowMs()) {
		return t, nil
	}
	return c.slow(ctx, wait)
}

// slow asks the core when no flight runs (in the caller's goroutine: a
// token or an error needs no flight), else joins the flight.
func (c *Client) slow(ctx context.Context, wait bool) (*core.Token, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	f := c.flight
	if f == nil {
		// A flight may have published since the lock-free load.
		if t := c.cur.Load(); t != nil && t.FreshAt(c.nowMs()) {
			c.mu.Unlock()
			return t, nil
		}
		step, err := c.engNext()
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		switch step.Kind {
		case core.StepToken:
			t := c.publish(step.Token)
			c.mu.Unlock()
			return t, nil
		case core.StepError:
			c.mu.Unlock()
			return c.final(step)
		}
		f = c.startLocked(step)
	}
	c.mu.Unlock()
	for {
		c.mu.Lock()
		if f.ended {
			c.mu.Unlock()
			return f.tok, f.err
		}
		if !wait && f.usable != nil {
			u := f.usable
			c.mu.Unlock()
			return u, nil
		}
		ch := f.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// publish makes t the cached token.
func (c *Client) publish(t core.Token) *core.Token {
	p := &t
	if t.AccessToken != "" {
		c.cur.Store(p)
	}
	return p
}

// final is the answer of an error step: the usable token it carries (the
// failure logged), else the error.
func (c *Client) final(step core.Step) (*core.Token, error) {
	if step.Err == nil {
		return nil, &core.Error{Code: core.CodeUsage, Message: "engine returned an error step without an error"}
	}
	if step.Usable != nil {
		c.log.Warn("tokensmith: token renewal failed, serving the still valid token", "code", step.Err.Code, "status", step.Err.Status, "error", step.Err.Error())
		u := *step.Usable
		return &u, nil
	}
	c.log.Warn("tokensmith: token renewal failed", "code", step.Err.Code, "status", step.Err.Status, "error", step.Err.Error())
	return nil, step.Err
}

func (c *Client) startLocked(step core.Step) *flight {
	f := &flight{changed: make(chan struct{})}
	if step.Usable != nil {
		u := *step.Usable
		f.usable = &u
	}
	c.flight = f
	c.wg.Add(1)
	go c.fly(f, step)
	return f
}

func (c *Client) fly(f *flight, step core.Step) {
	defer c.wg.Done()
	tok, err := c.drive(f, step)
	c.mu.Lock()
	f.tok, f.err, f.ended = tok, err, true
	c.flight = nil
	f.notifyLocked()
	c.mu.Unlock()
}

// setUsable records the usable token a step carries for joining callers.
func (c *Client) setUsable(f *flight, u *core.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case u == nil && f.usable == nil:
	case u == nil:
		f.usable = nil
	case f.usable == nil || f.usable.AccessToken != u.AccessToken || f.usable.ExpiresAt != u.ExpiresAt:
		t := *u
		f.usable = &t
		f.notifyLocked()
	}
}

// drive performs each step's effect and feeds its outcome back until the
// core answers a token or an error. leased tracks whether this host holds
// a lease, so that every way out releases it.
func (c *Client) drive(f *flight, step core.Step) (*core.Token, error) {
	ctx := c.ctx
	leased := false
	var err error
	for {
		switch step.Kind {
		case core.StepToken:
			return c.publish(step.Token), nil
		case core.StepError:
			return c.final(step)
		case core.StepRequest:
			c.setUsable(f, step.Usable)
			c.log.Debug("tokensmith: token request", "method", step.Request.Method, "url", safeURL(step.Request.URL))
			resp := c.doer.do(ctx, step.Request)
			if ctx.Err() != nil {
				return nil, c.abort(leased, ErrClosed)
			}
			if resp.Err == nil {
				c.log.Debug("tokensmith: token response", "status", resp.Status, "bytes", len(resp.Body))
			}
			step, err = c.engFeed(resp)
		case core.StepWait:
			c.setUsable(f, step.Usable)
			d := time.Duration(step.UntilMs-c.nowMs()) * time.Millisecond
			if step.Reason == "retry" {
				c.log.Warn("tokensmith: token request failed, retrying", "delay", d)
			}
			if c.wait(ctx, step.Reason, d) != nil || ctx.Err() != nil {
				return nil, c.abort(leased, ErrClosed)
			}
			step, err = c.engNext()
		case core.StepLease:
			c.setUsable(f, step.Usable)
			r := c.lease(ctx, time.Duration(step.LeaseTTLMs)*time.Millisecond)
			leased = r.Acquired
			if ctx.Err() != nil {
				return nil, c.abort(leased, ErrClosed)
			}
			step, err = c.engLeased(r)
		case core.StepCommit:
			// Never abandon a commit half way: the token is valid and the
			// store must get it (Close waits for this).
			ok, stored, serr := c.store.Commit(context.WithoutCancel(ctx), step.Token, step.BaseRev)
			leased = false // a commit ends the lease, whatever its outcome
			r := core.CommitResult{OK: ok, Token: stored}
			if serr != nil {
				r = core.CommitResult{Err: c.storeError(serr)}
				c.log.Error("tokensmith: cannot store the token", "error", r.Err.Error())
			}
			step, err = c.engCommitted(r)
		case core.StepRelease:
			c.release()
			leased = false
			step, err = c.engReleased()
		case core.StepPending:
			// Only one flight drives the engine: a pending answer means an
			// engine out of step with its host.
			return nil, c.abort(leased, &core.Error{Code: core.CodeUsage, Message: "engine reports a request in flight that no flight owns"})
		default:
			return nil, c.abort(leased, &core.Error{Code: core.CodeUsage, Message: "engine returned an unknown step"})
		}
		if err != nil {
			return nil, c.abort(leased, err)
		}
	}
}

// lease performs a lease step. A store error is fed to the core as such; a
// stored token of another provider is one (it is never used nor replaced).
func (c *Client) lease(ctx context.Context, ttl time.Duration) core.LeaseResult {
	acquired, tok, err := c.store.Lease(ctx, ttl)
	if err == nil && tok != nil && tok.Provider != "" && tok.Provider != c.provider {
		err = &core.Error{Code: core.CodeStore, Message: "the store holds a token of another provider (" + clipText(tok.Provider, 40) + "): not used, not replaced", Retryable: false}
	}
	if err != nil {
		if acquired {
			c.release()
		}
		return core.LeaseResult{Err: c.storeError(err)}
	}
	return core.LeaseResult{Acquired: acquired, Token: tok}
}

func (c *Client) release() {
	if err := c.store.Release(context.WithoutCancel(c.ctx)); err != nil {
		c.log.Warn("tokensmith: cannot release the store's lease", "error", c.redact(err.Error()))
	}
}

// wait sleeps d; a follower waiting for another holder's lease is woken
// early by a store that can notify.
func (c *Client) wait(ctx context.Context, reason string, d time.Duration) error {
	if reason == "lease" && c.notify != nil && d > 0 {
		return c.notify.Wait(ctx, time.Now().Add(d))
	}
	return c.sleep(ctx, d)
}

// abort ends a flight that cannot go on: the engine forgets what was
// outstanding, and a lease held is released.
func (c *Client) abort(leased bool, err error) error {
	c.engMu.Lock()
	release, cerr := c.eng.Cancel()
	c.engMu.Unlock()
	if leased || (release && cerr == nil) {
		c.release()
	}
	return err
}

// storeError is a store failure as the core wants it: code "store", the
// text cleaned by the session's redactor.
func (c *Client) storeError(err error) *core.Error {
	// A store that cannot be reached (Redis down, a disk error) is
	// retryable: the core may renew without it. A *core.Error says for
	// itself (a corrupt state file is not: nothing may replace it).
	msg, retryable := err.Error(), true
	var ce *core.Error
	if errors.As(err, &ce) {
		msg, retryable = ce.Message, ce.Retryable
	}
	return &core.Error{Code: core.CodeStore, Message: c.redact(msg), Retryable: retryable}
}

// Invalidate tells the Client that the API refused accessToken (a 401, or
// an answer core.Refused recognises). If it is the token held, the core
// drops it and the next Token call renews; a second report of the same
// token changes nothing, so many refused requests cause one renewal.
func (c *Client) Invalidate(accessToken string) (dropped bool) {
	if accessToken == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.cur.Load(); t != nil && t.AccessToken == accessToken {
		c.cur.CompareAndSwap(t, nil)
	}
	if f := c.flight; f != nil && f.usable != nil && f.usable.AccessToken == accessToken {
		f.usable = nil
	}
	c.engMu.Lock()
	dropped, err := c.eng.Invalidate(accessToken)
	c.engMu.Unlock()
	if err != nil {
		c.log.Warn("tokensmith: invalidate failed", "error", asCoreError(err).Error())
	}
	if dropped {
		c.log.Debug("tokensmith: token refused by the API, dropped")
	}
	return dropped
}

// Close cancels a renewal in flight (releasing a lease it holds), waits for
// it to end and releases the engine. Token then returns ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.cur.Store(nil)
	c.mu.Unlock()
	c.stop()
	c.wg.Wait()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	return c.eng.Close()
}

// redact cleans host text (a transport or store error) with the session's
// redactor, which knows every secret and token of this configuration.
func (c *Client) redact(text string) string {
	c.engMu.Lock()
	defer c.engMu.Unlock()
	return c.eng.Redact(text)
}

func (c *Client) engNext() (core.Step, error) {
	now := c.nowMs()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	s, err := c.eng.Next(now)
	return s, asError(err)
}

func (c *Client) engFeed(r core.Response) (core.Step, error) {
	now := c.nowMs()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	s, err := c.eng.Feed(now, r)
	return s, asError(err)
}

func (c *Client) engLeased(r core.LeaseResult) (core.Step, error) {
	now := c.nowMs()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	s, err := c.eng.Leased(now, r)
	return s, asError(err)
}

func (c *Client) engCommitted(r core.CommitResult) (core.Step, error) {
	now := c.nowMs()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	s, err := c.eng.Committed(now, r)
	return s, asError(err)
}

func (c *Client) engReleased() (core.Step, error) {
	now := c.nowMs()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	s, err := c.eng.Released(now)
	return s, asError(err)
}

// asError is asCoreError that keeps nil nil.
func asError(err error) error {
	if err == nil {
		return nil
	}
	return asCoreError(err)
}

// asCoreError keeps *core.Error as it is and wraps anything else (a runtime
// failure) as code "usage", so callers switch on one error type.
func asCoreError(err error) *core.Error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce
	}
	return &core.Error{Code: core.CodeUsage, Message: err.Error()}
}

// safeURL drops the query for logs: a DQE GET grant carries the secret there.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
