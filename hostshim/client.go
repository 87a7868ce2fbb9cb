package hostshim

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// Client obtains, caches, renews and attaches one provider's access token.
// It is safe for concurrent use; create one per configuration and share it.
//
// How Token serves callers:
//   - fresh token: returned from an atomic pointer, no lock, no engine call;
//   - stale (inside the leeway before expiry, or of unknown expiry): returned
//     at once, and one background flight renews it;
//   - expired or missing: the caller waits for the single flight. Any number
//     of concurrent callers share one vendor request.
//
// A flight runs under the Client's own context, not a caller's: a caller
// whose ctx ends returns ctx.Err() at once, while the flight goes on for the
// others and for the next caller. Cancelling a grant half way would waste the
// vendor's answer, and at MoversConnect, where a new grant voids every earlier
// token, it could leave no valid token anywhere. Each request is still bounded
// by the timeout and the retry policy, and Close cancels the flight.
type Client struct {
	provider string
	runtime  Runtime
	doer     *httpDoer
	store    Store
	now      func() time.Time
	retry    RetryPolicy
	log      *slog.Logger
	sleep    func(context.Context, time.Duration) error

	// cur is the token served to callers; nil until the first one.
	cur atomic.Pointer[core.Token]
	// busy mirrors flight != nil so that stale callers skip the lock.
	busy atomic.Bool
	// bgAfter (unix seconds) holds background renewals off after one failed,
	// so a vendor that is down is not asked again on every call.
	bgAfter atomic.Int64

	// engMu serialises engine calls. It is held around next/feed/restore/
	// invalidate only, never across a network call or a store write.
	engMu sync.Mutex
	eng   engine

	mu       sync.Mutex // guards flight and closed
	flight   *flight
	closed   bool
	restored bool // touched by flights only, which never overlap

	ctx  context.Context // lives until Close; flights run under it
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// flight is one run of the engine until a token or an error.
type flight struct {
	done chan struct{}
	tok  *core.Token // the published token; shared, never modified
	err  error
}

// ErrClosed is returned by a Client after Close.
var ErrClosed = &core.Error{Code: core.CodeUsage, Message: "client closed"}

// Option configures New.
type Option func(*options)

type options struct {
	runtime Runtime
	http    *http.Client
	store   Store
	now     func() time.Time
	timeout time.Duration
	retry   RetryPolicy
	log     *slog.Logger
	sleep   func(context.Context, time.Duration) error
}

// WithRuntime selects where the core runs: Native (default) or WASM.
// Nothing else about the Client changes.
func WithRuntime(rt Runtime) Option { return func(o *options) { o.runtime = rt } }

// WithHTTPClient sends token requests with c (its Transport, proxy and TLS
// settings). The Client uses a copy that does not follow redirects.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// WithStore keeps the token in s across restarts (default: NewMemoryStore()).
func WithStore(s Store) Option { return func(o *options) { o.store = s } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTimeout bounds each token request (default DefaultTimeout, 60 s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRetry replaces DefaultRetry; zero fields keep their default.
func WithRetry(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithLogger logs requests, retries and renewal failures at Debug/Warn/Error.
// Log records carry the provider, method, host and path, status and error
// code: never a query string, body, secret or token.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// withSleep replaces the retry wait, so tests can record delays instead of
// sleeping them.
func withSleep(f func(context.Context, time.Duration) error) Option {
	return func(o *options) { o.sleep = f }
}

// New validates cfg and returns a Client. No request is made until the first
// Token call. Errors are *core.Error (code "config" names the bad field).
func New(cfg core.Config, opts ...Option) (*Client, error) {
	o := options{retry: DefaultRetry}
	for _, opt := range opts {
		opt(&o)
	}
	eng, err := newEngine(o.runtime, cfg)
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
	return &Client{
		provider: cfg.Provider,
		runtime:  o.runtime,
		doer:     newHTTPDoer(o.http, o.timeout),
		store:    o.store,
		now:      o.now,
		retry:    o.retry.withDefaults(),
		log:      o.log.With("provider", cfg.Provider, "runtime", o.runtime.String()),
		sleep:    o.sleep,
		eng:      eng,
		ctx:      ctx,
		stop:     stop,
	}, nil
}

// Provider is the configured provider id.
func (c *Client) Provider() string { return c.provider }

// Runtime is where the core runs.
func (c *Client) Runtime() Runtime { return c.runtime }

// Token returns a usable access token: fresh, or stale while a renewal runs
// in the background. Errors are *core.Error, ErrClosed, or ctx.Err() when
// ctx ends first.
func (c *Client) Token(ctx context.Context) (core.Token, error) {
	t, err := c.token(ctx)
	if err != nil {
		return core.Token{}, err
	}
	return *t, nil
}

// token is Token without the copy, for adapters that cache per token. The
// pointer is shared: never modify what it points to.
func (c *Client) token(ctx context.Context) (*core.Token, error) {
	if t := c.cur.Load(); t != nil {
		now := c.now().Unix()
		switch t.StateAt(now) {
		case core.Fresh:
			return t, nil
		case core.Stale:
			c.renewInBackground(now)
			return t, nil
		}
	}
	return c.await(ctx, false)
}

// FreshToken is Token for callers that would rather wait than hold a stale
// token, such as a command that prints the token and exits: a stale token is
// renewed first. If the renewal fails while the stale token is still valid,
// that token is returned (and the failure logged); only an expired or missing
// token turns the failure into an error.
func (c *Client) FreshToken(ctx context.Context) (core.Token, error) {
	t := c.cur.Load()
	if t == nil || t.StateAt(c.now().Unix()) != core.Fresh {
		var err error
		if t, err = c.await(ctx, true); err != nil {
			return core.Token{}, err
		}
	}
	return *t, nil
}

// Invalidate tells the Client that the API refused tok (HTTP 401). If tok is
// still the one served, it is dropped and the next Token call renews: many
// requests refused with the same token cause one renewal, not one each.
func (c *Client) Invalidate(tok core.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.cur.Load()
	if t == nil || tok.AccessToken == "" || t.AccessToken != tok.AccessToken {
		return
	}
	c.cur.Store(nil)
	c.engMu.Lock()
	err := c.eng.invalidate()
	c.engMu.Unlock()
	if err != nil {
		c.log.Warn("tokensmith: invalidate failed", "error", asCoreError(err).Error())
	}
	c.log.Debug("tokensmith: token refused by the API, dropped")
}

// Close cancels a renewal in flight, waits for it to end and releases the
// engine. Token then returns ErrClosed.
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
	return c.eng.close()
}

// renewInBackground starts one flight for a stale token unless one runs.
func (c *Client) renewInBackground(now int64) {
	if c.busy.Load() || now < c.bgAfter.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flight != nil || c.closed {
		return
	}
	// Lock, re-check, then renew: a flight may have ended since the load.
	if t := c.cur.Load(); t != nil && t.StateAt(now) == core.Fresh {
		return
	}
	c.startLocked()
}

// await joins the flight, starting it if none runs.
func (c *Client) await(ctx context.Context, fresh bool) (*core.Token, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if t := c.cur.Load(); t != nil {
		st := t.StateAt(c.now().Unix())
		if st == core.Fresh || (st == core.Stale && !fresh) {
			c.mu.Unlock()
			return t, nil
		}
	}
	f := c.flight
	if f == nil {
		f = c.startLocked()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err == nil {
		return f.tok, nil
	}
	if fresh {
		if t := c.cur.Load(); t != nil && t.StateAt(c.now().Unix()) == core.Stale {
			return t, nil
		}
	}
	return nil, f.err
}

func (c *Client) startLocked() *flight {
	f := &flight{done: make(chan struct{})}
	c.flight = f
	c.busy.Store(true)
	c.wg.Add(1)
	go c.fly(f)
	return f
}

func (c *Client) fly(f *flight) {
	defer c.wg.Done()
	tok, err := c.obtain(c.ctx)
	if now := c.now().Unix(); err != nil || tok == nil || tok.StateAt(now) != core.Fresh {
		// A renewal failed, or gave a token that is stale at once (no
		// expiry known): hold background renewals off for one backoff cap
		// rather than asking again on every call. Callers holding an
		// expired token still start a flight at once.
		c.bgAfter.Store(now + max(int64(c.retry.Cap/time.Second), 1))
	}
	if err != nil {
		c.log.Warn("tokensmith: token renewal failed", "error", err.Error())
	}
	f.tok, f.err = tok, err
	c.mu.Lock()
	c.flight = nil
	c.busy.Store(false)
	c.mu.Unlock()
	close(f.done)
}

// obtain drives the engine until it hands out a token or gives up:
// next → send the request → feed the answer → … Retryable errors are retried
// under the policy; everything else ends the flight.
func (c *Client) obtain(ctx context.Context) (*core.Token, error) {
	if !c.restored {
		c.restored = true
		c.restore(ctx)
	}
	start := time.Now()
	attempt := 1
	step, err := c.next()
	for {
		if err != nil {
			return nil, err
		}
		switch step.Kind {
		case core.StepToken:
			if step.Changed {
				c.save(ctx, step.Token)
			}
			t := step.Token
			if t.AccessToken != "" {
				c.cur.Store(&t)
			}
			return &t, nil
		case core.StepRequest:
			c.log.Debug("tokensmith: token request", "method", step.Request.Method, "url", safeURL(step.Request.URL), "attempt", attempt)
			resp := c.doer.do(ctx, step.Request)
			if ctx.Err() != nil {
				c.cancelEngine()
				return nil, ErrClosed
			}
			if resp.Err == nil {
				c.log.Debug("tokensmith: token response", "status", resp.Status, "bytes", len(resp.Body))
			}
			step, err = c.feed(resp)
		case core.StepError:
			if step.Err == nil {
				return nil, &core.Error{Code: core.CodeUsage, Message: "engine returned an error step without an error"}
			}
			d, ok := c.retry.delay(attempt, step.Err, time.Since(start))
			if !ok {
				return nil, step.Err
			}
			c.log.Warn("tokensmith: token request failed, retrying", "code", step.Err.Code, "status", step.Err.Status, "attempt", attempt, "delay", d)
			if c.sleep(ctx, d) != nil {
				return nil, ErrClosed
			}
			attempt++
			step, err = c.next()
		case core.StepPending:
			// Only one flight drives the engine, so its request cannot be in
			// flight elsewhere; a pending answer means an engine out of step.
			c.cancelEngine()
			return nil, &core.Error{Code: core.CodeUsage, Message: "engine reports a request in flight that no flight owns"}
		default:
			return nil, &core.Error{Code: core.CodeUsage, Message: "engine returned an unknown step"}
		}
	}
}

// restore loads the stored token into the engine before the first request,
// so a restart reuses a live token instead of asking the vendor again. A
// store that cannot be read is logged and treated as empty: the new token
// will overwrite it.
func (c *Client) restore(ctx context.Context) {
	t, ok, err := c.store.Load(ctx)
	if err != nil {
		c.log.Warn("tokensmith: cannot load the stored token, starting without it", "error", err.Error())
		return
	}
	if !ok {
		return
	}
	c.engMu.Lock()
	err = c.eng.restore(t)
	c.engMu.Unlock()
	if err != nil {
		c.log.Warn("tokensmith: stored token refused, starting without it", "error", asCoreError(err).Error())
	}
}

// save persists a new or renewed token before any caller sees it. A failure
// is logged, not returned: the token is valid and held in memory, and
// refusing it would break every caller over a disk problem.
func (c *Client) save(ctx context.Context, t core.Token) {
	if err := c.store.Save(context.WithoutCancel(ctx), t); err != nil {
		c.log.Error("tokensmith: cannot save the token", "error", err.Error())
	}
}

func (c *Client) next() (core.Step, error) {
	now := c.now().Unix()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	s, err := c.eng.next(now)
	if err != nil {
		return s, asCoreError(err)
	}
	return s, nil
}

func (c *Client) feed(r core.Response) (core.Step, error) {
	now := c.now().Unix()
	c.engMu.Lock()
	defer c.engMu.Unlock()
	s, err := c.eng.feed(now, r)
	if err != nil {
		return s, asCoreError(err)
	}
	return s, nil
}

func (c *Client) cancelEngine() {
	c.engMu.Lock()
	_ = c.eng.cancel()
	c.engMu.Unlock()
}

// asCoreError keeps *core.Error as it is and wraps anything else (a WASM
// engine's trap, say) as code "usage", so callers switch on one error type.
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
