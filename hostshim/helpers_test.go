package hostshim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// fakeClock is a clock tests move by hand; emulator and client can share it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_750_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startEmulator runs the vendor emulator on loopback for the test.
func startEmulator(t testing.TB, opts emulator.Options) *emulator.Server {
	t.Helper()
	srv := emulator.New(opts)
	require.NoError(t, srv.Start(""))
	t.Cleanup(func() { srv.Close() })
	return srv
}

// configFor is the emulator's demo config of p with fields replaced
// (a nil value deletes the field).
func configFor(t testing.TB, srv *emulator.Server, p string, set map[string]any) core.Config {
	t.Helper()
	cfg, err := core.ParseConfig([]byte(srv.ConfigWith(p, set)))
	require.NoError(t, err)
	return cfg
}

// sleepRecorder replaces the host's sleep: delays are recorded, not slept,
// and the Client's clock moves on by each one, as real sleeping would move
// it (the core asks for waits until a time, and asks again when woken early).
type sleepRecorder struct {
	clock  *fakeClock
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	if d > 0 {
		s.clock.Advance(d)
	}
	return ctx.Err()
}

func (s *sleepRecorder) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// newTestClient is a Client on srv with a clock of its own (real time at
// the start) and recorded (not slept) waits.
func newTestClient(t testing.TB, cfg core.Config, opts ...Option) (*Client, *sleepRecorder) {
	t.Helper()
	return newClockClient(t, cfg, &fakeClock{t: time.Now()}, opts...)
}

// newClockClient is newTestClient on the test's clock.
func newClockClient(t testing.TB, cfg core.Config, clock *fakeClock, opts ...Option) (*Client, *sleepRecorder) {
	t.Helper()
	rec := &sleepRecorder{clock: clock}
	c, err := New(cfg, append([]Option{WithClock(clock.Now), withSleep(rec.sleep)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, rec
}

// gate is an http.RoundTripper that holds token requests until opened, so a
// test controls exactly when a flight's answer arrives.
type gate struct {
	mu      sync.Mutex
	ch      chan struct{}
	waiting chan struct{} // receives one value per request that reached the gate
}

func newGate() *gate { return &gate{ch: make(chan struct{}), waiting: make(chan struct{}, 100)} }

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.waiting <- struct{}{}
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case <-ch:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (g *gate) open() {
	g.mu.Lock()
	close(g.ch)
	g.mu.Unlock()
}

// protectedRequest builds a call to p's emulated API; variant picks the
// request shape ("get" or "post").
func protectedRequest(t testing.TB, srv *emulator.Server, p, variant string) *http.Request {
	t.Helper()
	base := srv.BaseURL(p)
	var r *http.Request
	var err error
	switch p + "/" + variant {
	case "moversconnect/post":
		r, err = http.NewRequest(http.MethodPost, base+"/mobileapi/localservicesinquiry", strings.NewReader(`{"ZipCode":"10001"}`))
		r.Header.Set("Content-Type", "application/json")
	case "dqe-idmobile/get":
		r, err = http.NewRequest(http.MethodGet, base+"/IDMOBILE/?number=%2B33600000000", nil)
	case "dqe-idmobile/post":
		r, err = http.NewRequest(http.MethodPost, base+"/IDMOBILE/", strings.NewReader("number=%2B33600000000"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case "bydesign/get":
		r, err = http.NewRequest(http.MethodGet, base+"/api/user/profile", nil)
	case "crmcom/get":
		r, err = http.NewRequest(http.MethodGet, base+"/contacts/contact_information/show", nil)
	case "crmcom/post":
		r, err = http.NewRequest(http.MethodPost, base+"/contacts/contact_information/show", strings.NewReader(`{"fields":"all"}`))
		r.Header.Set("Content-Type", "application/json")
	default:
		t.Fatalf("no protected request %s/%s", p, variant)
	}
	require.NoError(t, err)
	return r
}

// call sends r through the Client's Transport and returns the status.
func call(t testing.TB, c *Client, r *http.Request) int {
	t.Helper()
	resp, err := (&http.Client{Transport: c.Transport(nil)}).Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode
}

// flakyStore fails its first fail commits with a disk error.
type flakyStore struct {
	Store
	mu      sync.Mutex
	fail    int
	commits int
}

func (s *flakyStore) Commit(ctx context.Context, t core.Token, baseRev int64) (bool, *core.Token, error) {
	s.mu.Lock()
	s.commits++
	failing := s.fail > 0
	if failing {
		s.fail--
	}
	s.mu.Unlock()
	if failing {
		s.Store.Release(ctx)
		return false, nil, errors.New("write /var/lib/tokens/x: no space left on device")
	}
	return s.Store.Commit(ctx, t, baseRev)
}
