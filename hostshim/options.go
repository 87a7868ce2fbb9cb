package hostshim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// Option configures New.
type Option func(*options)

type options struct {
	runtime Runtime
	http    *http.Client
	store   Store
	now     func() time.Time
	core    core.Options
	log     *slog.Logger
	sleep   func(context.Context, time.Duration) error
}

// WithRuntime selects where the core runs: Native (default), or the
// WebAssembly runtime of package hostshim/wazero. Nothing else changes.
func WithRuntime(rt Runtime) Option { return func(o *options) { o.runtime = rt } }

// WithHTTPClient sends token requests with c (its Transport, proxy and TLS
// settings). The Client uses a copy that does not follow redirects.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// WithStore keeps the token in s, shared with whoever else uses its
// backing (default: a NewMemoryStore of the Client's own).
func WithStore(s Store) Option { return func(o *options) { o.store = s } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTimeout bounds each token request (default DefaultTimeout, 60 s): the
// core's timeout_ms option.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.core.TimeoutMs = d.Milliseconds() }
}

// WithOptions sets the core's session options (docs/protocol.md: retries,
// budget, hold-off, lease poll, seed); zero fields keep their default. A
// zero Seed is replaced by one from crypto/rand.
func WithOptions(co core.Options) Option {
	return func(o *options) {
		t := o.core.TimeoutMs
		o.core = co
		if co.TimeoutMs == 0 {
			o.core.TimeoutMs = t
		}
	}
}

// WithLogger logs requests, retries and renewal failures at Debug/Warn/Error.
// Log records carry the provider, method, host and path, status and error
// code: never a query string, body, secret or token.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// RetryPolicy is the retry part of the core's session options, for code
// written against earlier releases: the core retries (network failures,
// 5xx, 429; never a 4xx) with full-jitter backoff, Retry-After as a floor.
type RetryPolicy struct {
	MaxAttempts int           // token requests per renewal, the first included; 1 = no retry
	Base        time.Duration // first backoff ceiling
	Cap         time.Duration // largest backoff ceiling
	Budget      time.Duration // no retry starts later than this after the first attempt
}

// DefaultRetry is the core's default retry schedule.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, Base: 200 * time.Millisecond, Cap: 10 * time.Second, Budget: 30 * time.Second}

// WithRetry maps p onto the core's session options; zero fields keep their
// default.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) {
		o.core.MaxAttempts = p.MaxAttempts
		o.core.BackoffBaseMs = p.Base.Milliseconds()
		o.core.BackoffCapMs = p.Cap.Milliseconds()
		o.core.BudgetMs = p.Budget.Milliseconds()
	}
}

// WithStoreRequired makes a store outage fail the call instead of renewing
// without the store's lease (the core's option store_required). For
// one-shot processes, which would otherwise renew alone on every run.
func WithStoreRequired() Option { return func(o *options) { o.core.StoreRequired = true } }

// withSleep replaces the host's sleep, so tests can record delays instead
// of sleeping them.
func withSleep(f func(context.Context, time.Duration) error) Option {
	return func(o *options) { o.sleep = f }
}

// randomSeed seeds the core's PRNG (backoff jitter, lease poll jitter).
func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms (crypto/rand docs)
	if s := binary.LittleEndian.Uint64(b[:]); s != 0 {
		return s
	}
	return 1
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
