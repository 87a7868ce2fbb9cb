package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/redistest"
)

// moversCfg is a config with an account name, so it needs no namespace.
func moversCfg(base string) core.Config {
	return core.Config{Provider: core.MoversConnect, BaseURL: base, Username: "crew", Password: "s3cret-pw", CompanyID: "ACME", ClientID: "CrewConnect", ClientSecret: "cs"}
}

func newRDB(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func newStore(t *testing.T, rdb redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	s, err := New(rdb, moversCfg("https://api.example.com/"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLeaseIsExclusiveAndLoadsTheToken(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	a, b := newStore(t, rdb), newStore(t, rdb)

	acq, tok, err := a.leaseRaw(ctx, time.Minute)
	if err != nil || !acq || tok != nil {
		t.Fatalf("first lease: acquired=%v tok=%q err=%v; want acquired, nothing stored", acq, tok, err)
	}
	if acq, _, err := b.leaseRaw(ctx, time.Minute); err != nil || acq {
		t.Fatalf("second holder: acquired=%v err=%v; want refused", acq, err)
	}
	ok, _, err := a.commitRaw(ctx, []byte(`{"access_token":"A1","rev":1}`), 1, 0)
	if err != nil || !ok {
		t.Fatalf("holder's commit: ok=%v err=%v", ok, err)
	}
	// The commit deleted the lease: b gets it, with a's token.
	acq, tok, err = b.leaseRaw(ctx, time.Minute)
	if err != nil || !acq || string(tok) != `{"access_token":"A1","rev":1}` {
		t.Fatalf("after commit: acquired=%v tok=%q err=%v", acq, tok, err)
	}
	if n, _ := rdb.HGet(ctx, a.k.token, "rev").Int64(); n != 1 {
		t.Fatalf("stored rev = %d, want 1", n)
	}
}

func TestOneOfManyConcurrentLeasesWins(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 50 {
		s := newStore(t, rdb)
		wg.Add(1)
		go func() {
			defer wg.Done()
			acq, _, err := s.leaseRaw(ctx, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if acq {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d of 50 concurrent leases acquired, want 1", won)
	}
}

func TestRelease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	a, b := newStore(t, rdb), newStore(t, rdb)
	if acq, _, _ := a.leaseRaw(ctx, time.Minute); !acq {
		t.Fatal("no lease")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if acq, _, _ := b.leaseRaw(ctx, time.Minute); !acq {
		t.Fatal("released lease not taken by the next holder")
	}
	// a's lease is gone; a second release must not delete b's.
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if owner, _ := rdb.Get(ctx, a.k.lease).Result(); owner != b.owner || owner == "" {
		t.Fatalf("lease owner %q after a stale release, want b's %q", owner, b.owner)
	}
}

// A lease that expired under its holder (a pause, a dead process) is taken
// by another; the old holder's release and commit then touch nothing.
func TestExpiredHolderIsFenced(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	a, b := newStore(t, rdb), newStore(t, rdb)
	if acq, _, _ := a.leaseRaw(ctx, 50*time.Millisecond); !acq {
		t.Fatal("no lease")
	}
	waitGone(t, rdb, a.k.lease)
	acq, _, err := b.leaseRaw(ctx, time.Minute)
	if err != nil || !acq {
		t.Fatalf("takeover after expiry: acquired=%v err=%v", acq, err)
	}
	// a wakes up with its grant while b holds the lease: lost.
	ok, stored, err := a.commitRaw(ctx, []byte(`{"access_token":"A"}`), 1, 0)
	if err != nil || ok || stored != nil {
		t.Fatalf("paused holder's commit while b holds the lease: ok=%v stored=%q err=%v; want lost, nothing stored", ok, stored, err)
	}
	if ok, _, err := b.commitRaw(ctx, []byte(`{"access_token":"B"}`), 1, 0); !ok || err != nil {
		t.Fatalf("b's commit: ok=%v err=%v", ok, err)
	}
	// Nobody holds the lease now, but the rev a loaded (0) is no longer the
	// stored one (1): a still cannot overwrite b's newer token.
	ok, stored, err = a.commitRaw(ctx, []byte(`{"access_token":"A"}`), 1, 0)
	if err != nil || ok || string(stored) != `{"access_token":"B"}` {
		t.Fatalf("stale commit after b's: ok=%v stored=%q err=%v; want lost with b's token", ok, stored, err)
	}
}

// With nobody holding the lease, a commit whose base rev is still the stored
// one succeeds (the core retrying a commit after a store error, its lease
// since expired).
func TestCommitWithoutLeaseAtBaseRev(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	a := newStore(t, rdb)
	if ok, _, err := a.commitRaw(ctx, []byte(`{"rev":1}`), 1, 0); !ok || err != nil {
		t.Fatalf("commit at rev 0 with no lease: ok=%v err=%v", ok, err)
	}
	if ok, _, _ := a.commitRaw(ctx, []byte(`{"rev":2}`), 2, 0); ok {
		t.Fatal("commit at base rev 0 over rev 1 succeeded")
	}
	if ok, _, _ := a.commitRaw(ctx, []byte(`{"rev":2}`), 2, 1); !ok {
		t.Fatal("commit at base rev 1 over rev 1 failed")
	}
}

// The holder asking for the lease again (its commit failed, Redis came back)
// extends its own lease instead of waiting for itself.
func TestHolderExtendsItsOwnLease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	a, b := newStore(t, rdb), newStore(t, rdb)
	if acq, _, _ := a.leaseRaw(ctx, 10*time.Second); !acq {
		t.Fatal("no lease")
	}
	first := a.owner
	if acq, _, _ := a.leaseRaw(ctx, time.Hour); !acq || a.owner != first {
		t.Fatalf("holder's second lease: acquired=%v owner changed=%v", acq, a.owner != first)
	}
	if ttl, _ := rdb.PTTL(ctx, a.k.lease).Result(); ttl <= 10*time.Second {
		t.Fatalf("lease TTL %v after extending to 1h", ttl)
	}
	if acq, _, _ := b.leaseRaw(ctx, time.Minute); acq {
		t.Fatal("another holder took an extended lease")
	}
}

// A follower subscribed by its (failed) lease is woken by the holder's
// commit, also when the commit lands before the follower starts waiting.
func TestFollowerIsWokenByCommit(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	a, b := newStore(t, rdb), newStore(t, rdb)
	if acq, _, _ := a.leaseRaw(ctx, time.Minute); !acq {
		t.Fatal("no lease")
	}
	if acq, _, _ := b.leaseRaw(ctx, time.Minute); acq {
		t.Fatal("follower took the lease")
	}
	if ok, _, _ := a.commitRaw(ctx, []byte(`{"rev":1}`), 1, 0); !ok {
		t.Fatal("commit lost")
	}
	// until is far away: only the notice can end this Wait before ctx does.
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := b.Wait(waitCtx, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("follower not woken by the commit notice: %v", err)
	}
	// The notice is answered: waiting again without re-reading sleeps the
	// full time instead of returning at once (no spinning on one notice).
	until := time.Now().Add(30 * time.Millisecond)
	if err := b.Wait(ctx, until); err != nil || time.Now().Before(until) {
		t.Fatalf("second Wait on one notice returned early (err %v)", err)
	}
	// The next wait, with no new notice since the next lease, sleeps its time.
	if acq, tok, _ := b.leaseRaw(ctx, time.Minute); !acq || string(tok) != `{"rev":1}` {
		t.Fatalf("re-read after the notice: acquired=%v tok=%q", acq, tok)
	}
	short, cancel2 := context.WithTimeout(ctx, 20*time.Second)
	defer cancel2()
	if err := b.Wait(short, time.Now().Add(30*time.Millisecond)); err != nil {
		t.Fatalf("timer fallback: %v", err)
	}
}

func TestFollowerIsWokenByRelease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	a, b := newStore(t, rdb), newStore(t, rdb)
	a.leaseRaw(ctx, time.Minute)
	b.leaseRaw(ctx, time.Minute)
	done := make(chan error, 1)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go func() { done <- b.Wait(waitCtx, time.Now().Add(time.Hour)) }()
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("follower not woken by the release notice: %v", err)
	}
}

// Redis going away: every call fails promptly with an error, the outage is
// logged once, and everything works again when it is back.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newRDB(t, srv)
	ctx := ctxT(t)
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logBuf}, nil))
	a := newStore(t, rdb, WithLogger(log))
	if _, _, err := a.leaseRaw(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for range 3 {
		if _, _, err := a.leaseRaw(ctx, time.Minute); err == nil {
			t.Fatal("lease with Redis down: no error")
		}
		if _, _, err := a.commitRaw(ctx, []byte(`{}`), 1, 0); err == nil {
			t.Fatal("commit with Redis down: no error")
		}
	}
	srv.Start()
	var err error
	for range 100 { // the pool redials on the next call; a first call may still see the dead connection
		if _, _, err = a.leaseRaw(ctx, time.Minute); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("lease after Redis came back: %v", err)
	}
	logMu.Lock()
	out := logBuf.String()
	logMu.Unlock()
	if n := strings.Count(out, "redis unreachable"); n != 1 {
		t.Fatalf("outage logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "redis reachable again"); n != 1 {
		t.Fatalf("recovery logged %d times, want once:\n%s", n, out)
	}
}

func TestNamespace(t *testing.T) {
	base := moversCfg("https://api.example.com")
	ns1, err := namespace(&base, "")
	if err != nil {
		t.Fatal(err)
	}
	other := base
	other.Password, other.ClientSecret = "another password", "x"
	if ns, _ := namespace(&other, ""); ns != ns1 {
		t.Fatal("a changed password moved the token to other keys: the hash must not depend on secrets")
	}
	slash := base
	slash.BaseURL += "/"
	if ns, _ := namespace(&slash, ""); ns != ns1 {
		t.Fatal("a trailing slash on the base URL changed the namespace")
	}
	for name, c := range map[string]core.Config{
		"user":     {Provider: base.Provider, BaseURL: base.BaseURL, Username: "other", CompanyID: base.CompanyID},
		"company":  {Provider: base.Provider, BaseURL: base.BaseURL, Username: base.Username, CompanyID: "OTHER"},
		"base URL": {Provider: base.Provider, BaseURL: "https://other.example.com", Username: base.Username, CompanyID: base.CompanyID},
		"provider": {Provider: core.ByDesign, BaseURL: base.BaseURL, Username: base.Username, CompanyID: base.CompanyID},
	} {
		if ns, _ := namespace(&c, ""); ns == ns1 {
			t.Errorf("another %s shares the namespace", name)
		}
	}
	if ns, _ := namespace(&base, "blue"); ns == ns1 {
		t.Error("WithNamespace did not change the namespace")
	}
	k := newKeys(ns1)
	for _, key := range []string{k.token, k.lease, k.notice} {
		if !strings.Contains(key, "{"+ns1+"}") {
			t.Errorf("key %q is outside the configuration's hash slot", key)
		}
		for _, secret := range []string{base.Password, base.ClientSecret} {
			if strings.Contains(key, secret) {
				t.Errorf("key %q holds a secret", key)
			}
		}
	}
	dqe := core.Config{Provider: core.DQEIDMobile, BaseURL: "https://dqe.example.com", Licence: "900042", ClientSecret: "pass", ClientID: "x"}
	if _, err := namespace(&dqe, ""); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("DQE config without a namespace: err=%v, want ErrNoAccount", err)
	}
	if _, err := namespace(&dqe, "fleet-a"); err != nil {
		t.Fatalf("DQE config with a namespace: %v", err)
	}
}

// The namespace reads an allow-list of fields; none may be a secret.
func TestNamespaceReadsNoSecretField(t *testing.T) {
	secret := map[string]bool{}
	for _, f := range core.SecretFields() {
		secret[f] = true
	}
	known := map[string]bool{}
	for _, f := range core.ConfigFields() {
		known[f] = true
	}
	for _, f := range accountFields {
		if secret[f] || !known[f] {
			t.Errorf("namespace reads %q: secret=%v, a config field=%v", f, secret[f], known[f])
		}
	}
}

func TestOpenNeverQuotesTheURL(t *testing.T) {
	cfg := moversCfg("https://api.example.com")
	for _, u := range []string{
		"redis://:hunter2-pw@127.0.0.1:6379/notanumber",
		"http://user:hunter2-pw@127.0.0.1:6379/0",
		"redis://user:hunter2-pw@[::1%25:6379/0",
	} {
		_, err := Open(u, cfg)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("Open error quotes the password: %v", err)
		}
	}
	s, err := Open("rediss://:pw@127.0.0.1:1/3?namespace=blue&dial_timeout=3s", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opt := s.rdb.(*redis.Client).Options()
	if opt.TLSConfig == nil || opt.DB != 3 || opt.DialTimeout != 3*time.Second || opt.MaxRetries != 1 {
		t.Fatalf("rediss URL options: tls=%v db=%d dial=%v retries=%d", opt.TLSConfig != nil, opt.DB, opt.DialTimeout, opt.MaxRetries)
	}
	want, _ := namespace(&cfg, "blue")
	if s.k != newKeys(want) {
		t.Fatal("?namespace= not applied")
	}
}

// waitGone polls until key has expired in Redis: readiness, not a timing
// assertion.
func waitGone(t *testing.T, rdb *redis.Client, key string) {
	t.Helper()
	for i := 0; ; i++ {
		n, err := rdb.Exists(context.Background(), key).Result()
		if err == nil && n == 0 {
			return
		}
		if i > 2000 {
			t.Fatalf("%s never expired", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
