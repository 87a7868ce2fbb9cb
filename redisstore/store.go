package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tokensmith/tokensmith/core"
)

// Store is one configuration's shared token in Redis. Create it with New or
// Open; it is safe for concurrent use, but holds one lease at a time, so give
// each hostshim.Client its own.
type Store struct {
	rdb    redis.UniversalClient
	ownRDB bool // Open made rdb, so Close closes it
	k      keys
	log    *slog.Logger
	jitter time.Duration

	mu    sync.Mutex
	owner string // the lease this Store holds ("" = none), as written in Redis

	nmu  sync.Mutex
	gen  uint64        // notices received so far
	seen uint64        // gen already answered: at the last Lease, or by a Wait a notice ended
	wake chan struct{} // closed and replaced on every notice
	ps   *redis.PubSub // nil until subscribed
	done bool          // Close was called

	down atomic.Bool // Redis failed last time: logged once, until it answers again
}

// Option configures New and Open.
type Option func(*options)

type options struct {
	namespace string
	log       *slog.Logger
	jitter    time.Duration
}

// WithNamespace adds a name of the caller's to the key hash: required for a
// config with no non-secret account name (ErrNoAccount), and a way to keep
// two otherwise identical deployments apart.
func WithNamespace(ns string) Option { return func(o *options) { o.namespace = ns } }

// WithLogger logs Redis becoming unreachable and reachable again, once each
// time (default: no logging). Records carry the error, never a token.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithNoticeJitter bounds the random delay a follower adds after a notice
// before it re-reads (default 20 ms), so that a hundred followers woken by one
// commit do not reach Redis in the same instant. 0 turns it off.
func WithNoticeJitter(d time.Duration) Option { return func(o *options) { o.jitter = d } }

// DefaultNoticeJitter is WithNoticeJitter's default.
const DefaultNoticeJitter = 20 * time.Millisecond

// New returns a Store for cfg on rdb (a client, a failover client or a
// cluster client). Close does not close rdb.
func New(rdb redis.UniversalClient, cfg core.Config, opts ...Option) (*Store, error) {
	o := options{jitter: DefaultNoticeJitter}
	for _, opt := range opts {
		opt(&o)
	}
	ns, err := namespace(&cfg, o.namespace)
	if err != nil {
		return nil, err
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return &Store{
		rdb:    rdb,
		k:      newKeys(ns),
		log:    o.log,
		jitter: max(o.jitter, 0),
		wake:   make(chan struct{}),
	}, nil
}

// Open connects to the Redis server of rawURL: redis://[user:password@]host:port/db,
// rediss:// for TLS, unix:///path. Besides go-redis's own query options
// (dial_timeout, read_timeout, max_retries…) it accepts namespace=NAME, the
// same as WithNamespace. Without them it dials for at most 1 s, waits 2 s for
// an answer and retries once, so that an outage costs callers little; the
// defaults of go-redis would make one unreachable call take many seconds.
func Open(rawURL string, cfg core.Config, opts ...Option) (*Store, error) {
	// Errors never quote the URL: it may carry a password.
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("redisstore: the Redis URL does not parse")
	}
	q := u.Query()
	if ns := q.Get("namespace"); ns != "" {
		opts = append([]Option{WithNamespace(ns)}, opts...)
	}
	q.Del("namespace")
	u.RawQuery = q.Encode()
	ro, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, errors.New("redisstore: not a usable Redis URL (redis://, rediss:// or unix://, with a database number and go-redis options)")
	}
	if !q.Has("dial_timeout") {
		ro.DialTimeout = time.Second
	}
	if !q.Has("read_timeout") {
		ro.ReadTimeout = 2 * time.Second
	}
	if !q.Has("write_timeout") {
		ro.WriteTimeout = 2 * time.Second
	}
	if !q.Has("max_retries") {
		ro.MaxRetries = 1
	}
	rdb := redis.NewClient(ro)
	s, err := New(rdb, cfg, opts...)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	s.ownRDB = true
	return s, nil
}

// Close ends the notice subscription (and the connection, if Open made it).
// It does not release a lease: a lease left behind expires after its TTL.
func (s *Store) Close() error {
	s.nmu.Lock()
	ps := s.ps
	s.ps, s.done = nil, true
	s.nmu.Unlock()
	if ps != nil {
		ps.Close()
	}
	if s.ownRDB {
		return s.rdb.Close()
	}
	return nil
}

// leaseRaw performs the lease step on the stored bytes.
func (s *Store) leaseRaw(ctx context.Context, ttl time.Duration) (acquired bool, stored []byte, err error) {
	s.subscribe(ctx)
	s.nmu.Lock()
	s.seen = s.gen // a notice from here on ends the next Wait early
	s.nmu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	ms := max(ttl.Milliseconds(), 1)
	res, err := leaseScript.Run(ctx, s.rdb, []string{s.k.lease, s.k.token}, newOwner(), ms, s.owner).Slice()
	if err = s.note(err); err != nil {
		return false, nil, fmt.Errorf("redisstore: lease: %w", err)
	}
	if len(res) != 3 {
		return false, nil, errors.New("redisstore: lease: unexpected answer from Redis")
	}
	acq, _ := res[0].(int64)
	owner, _ := res[1].(string)
	s.owner = owner
	return acq == 1, bulk(res[2]), nil
}

// commitRaw performs the commit step: tok (wire format) with revision rev.
func (s *Store) commitRaw(ctx context.Context, tok []byte, rev, baseRev int64) (ok bool, stored []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := commitScript.Run(ctx, s.rdb, []string{s.k.lease, s.k.token, s.k.notice},
		s.owner, baseRev, tok, rev).Slice()
	if err = s.note(err); err != nil {
		// The lease stays ours as far as we know: a retried commit may still
		// find it.
		return false, nil, fmt.Errorf("redisstore: commit: %w", err)
	}
	// Stored or lost, the lease is gone: deleted by the script, or expired
	// and maybe taken by another holder.
	s.owner = ""
	if len(res) == 0 {
		return false, nil, errors.New("redisstore: commit: unexpected answer from Redis")
	}
	if n, _ := res[0].(int64); n == 1 {
		return true, nil, nil
	}
	if len(res) > 1 {
		stored = bulk(res[1])
	}
	return false, stored, nil
}

// Release gives the lease up without storing anything. Releasing a lease
// that already expired (or was never taken) is not an error.
func (s *Store) Release(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == "" {
		return nil
	}
	err := releaseScript.Run(ctx, s.rdb, []string{s.k.lease, s.k.notice}, s.owner).Err()
	if err = s.note(err); err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	s.owner = ""
	return nil
}

// Wait sleeps until until, or until a commit or release notice arrived since
// the last Lease began (then, after a short random delay, at once), or until
// ctx ends. It is the hostshim.Notifier for the core's "wait" step; the
// caller re-reads the store afterwards in every case.
func (s *Store) Wait(ctx context.Context, until time.Time) error {
	// A notice ends one Wait: the caller is expected to re-read (Lease)
	// next, and a Wait called again without one sleeps its full time rather
	// than spinning on a notice already answered.
	s.nmu.Lock()
	woken, ch := s.gen != s.seen, s.wake
	s.seen = s.gen
	s.nmu.Unlock()
	if !woken {
		d := time.Until(until)
		if d <= 0 {
			return ctx.Err()
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case <-ch:
			s.nmu.Lock()
			s.seen = s.gen
			s.nmu.Unlock()
		}
	}
	if s.jitter > 0 {
		d := min(time.Duration(mrand.Int64N(int64(s.jitter))), time.Until(until))
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return ctx.Err()
}

// subscribe makes sure the notice subscription is up before a lease is
// tried. Failing (Redis down) is not an error here: Wait then sleeps its
// full time, and the next Lease tries again. Once up, go-redis re-subscribes
// by itself after a lost connection; notices sent meanwhile are lost, which
// the timer covers.
func (s *Store) subscribe(ctx context.Context) {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	if s.ps != nil || s.done {
		return
	}
	ps := s.rdb.Subscribe(ctx, s.k.notice)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return
	}
	s.ps = ps
	ch := ps.Channel()
	go func() {
		for range ch {
			s.nmu.Lock()
			s.gen++
			close(s.wake)
			s.wake = make(chan struct{})
			s.nmu.Unlock()
		}
	}()
}

// note logs the first failure of an outage and the first success after it,
// and passes err on. A cancelled context says nothing about Redis.
func (s *Store) note(err error) error {
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	if err == nil {
		if s.down.CompareAndSwap(true, false) {
			s.log.Info("redis reachable again; the fleet shares its token again")
		}
		return nil
	}
	if ctxErr := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded); !ctxErr && s.down.CompareAndSwap(false, true) {
		s.log.Warn("redis unreachable; serving the token held and renewing alone until it is back", "error", err.Error())
	}
	return err
}

// newOwner names one lease: random, so that no two holders, processes or
// restarts of one process can mistake each other's lease for their own.
func newOwner() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// bulk is a script's string reply, nil for Redis nil.
func bulk(v any) []byte {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	return nil
}

// Lease tries to take the lease for ttl and loads the stored token, whether
// or not the lease was taken (the core's "lease" step). A stored value that
// does not parse is reported as no token: the next holder's commit replaces
// it, where an error would stop every instance until someone cleaned Redis.
func (s *Store) Lease(ctx context.Context, ttl time.Duration) (acquired bool, tok *core.Token, err error) {
	acquired, raw, err := s.leaseRaw(ctx, ttl)
	if err != nil {
		return false, nil, err
	}
	return acquired, parseStored(raw), nil
}

// Commit stores tok if this Store still holds the lease, or nobody does and
// the stored revision is still baseRev (the core's "commit" step). Lost, it
// returns what is stored. The lease is gone afterwards either way.
func (s *Store) Commit(ctx context.Context, tok core.Token, baseRev int64) (ok bool, stored *core.Token, err error) {
	// The attach block is derived from the config (the core recomputes it
	// on adoption) and DQE's carries the licence: it stays out of Redis.
	tok.Attach = core.Attach{}
	ok, raw, err := s.commitRaw(ctx, tok.MarshalWire(), tok.Rev, baseRev)
	if err != nil || ok {
		return ok, nil, err
	}
	return false, parseStored(raw), nil
}

func parseStored(raw []byte) *core.Token {
	if raw == nil {
		return nil
	}
	t, err := core.ParseToken(raw)
	if err != nil {
		return nil
	}
	return &t
}
