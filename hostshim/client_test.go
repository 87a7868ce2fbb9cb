package hostshim

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// Every provider and request variant, end to end over loopback, on both
// runtimes: the token is obtained, attached by the Transport and accepted by
// the vendor's API.
func TestProvidersEndToEnd(t *testing.T) {
	cases := []struct {
		name      string
		provider  string
		set       map[string]any
		opts      emulator.Options
		legacy    bool
		requests  int // token requests the grant takes
		attachIn  string
		variants  []string
		extraKeys []string
	}{
		{name: "movers json", provider: core.MoversConnect, set: map[string]any{"encoding": "json"}, requests: 1, attachIn: "header", variants: []string{"post"}},
		{name: "movers xml", provider: core.MoversConnect, set: map[string]any{"encoding": "xml"}, requests: 1, attachIn: "header", variants: []string{"post"}},
		{name: "movers form", provider: core.MoversConnect, set: map[string]any{"encoding": "form"}, requests: 1, attachIn: "header", variants: []string{"post"}},
		{name: "dqe post", provider: core.DQEIDMobile, set: map[string]any{"method": "POST"}, requests: 1, attachIn: "query", variants: []string{"get", "post"}},
		{name: "dqe get", provider: core.DQEIDMobile, set: map[string]any{"method": "GET"}, requests: 1, attachIn: "query", variants: []string{"get", "post"}},
		{name: "dqe legacy answers", provider: core.DQEIDMobile, legacy: true, requests: 1, attachIn: "query", variants: []string{"get"}},
		{name: "bydesign rep", provider: core.ByDesign, requests: 1, attachIn: "header", variants: []string{"get"}, extraKeys: []string{"userName", "userType"}},
		{name: "bydesign customer", provider: core.ByDesign, set: map[string]any{"user_type": "customer", "username": emulator.ByDesignCustomerID}, requests: 1, attachIn: "header", variants: []string{"get"}},
		{name: "bydesign form only, json falls back to form", provider: core.ByDesign, set: map[string]any{"encoding": "json"}, opts: emulator.Options{ByDesignFormOnly: true}, requests: 2, attachIn: "header", variants: []string{"get"}},
		{name: "bydesign form", provider: core.ByDesign, set: map[string]any{"encoding": "form"}, opts: emulator.Options{ByDesignFormOnly: true}, requests: 1, attachIn: "header", variants: []string{"get"}},
		{name: "crmcom authentication code", provider: core.CRMCOM, requests: 1, attachIn: "query", variants: []string{"get", "post"}},
		{name: "crmcom identifier", provider: core.CRMCOM, set: map[string]any{"authentication_code": nil, "identifier": emulator.CRMIdentifier, "pass_code": emulator.CRMPassCode}, requests: 1, attachIn: "query", variants: []string{"get"}},
		{name: "crmcom jwt", provider: core.CRMCOM, set: map[string]any{"authentication_code": nil, "key": nil, "jwt": emulator.CRMJWT, "organisation": emulator.CRMOrganisation}, requests: 1, attachIn: "query", variants: []string{"get", "post"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmulator(t, tc.opts)
			srv.SetDQELegacyErrors(tc.legacy)
			c, _ := newTestClient(t, configFor(t, srv, tc.provider, tc.set))
			tok, err := c.Token(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tc.provider, tok.Provider)
			assert.NotEmpty(t, tok.AccessToken)
			assert.Equal(t, tc.attachIn, tok.Attach.In)
			assert.Greater(t, tok.ExpiresAt, time.Now().Unix())
			assert.Equal(t, tc.requests, srv.TokenRequests(tc.provider))
			for _, k := range tc.extraKeys {
				assert.NotEmpty(t, tok.Extra[k], "extra %s", k)
			}
			for _, v := range tc.variants {
				assert.Equal(t, http.StatusOK, call(t, c, protectedRequest(t, srv, tc.provider, v)), "variant %s", v)
			}
			// Served from the cache from now on.
			again, err := c.Token(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tok.AccessToken, again.AccessToken)
			assert.Equal(t, tc.requests, srv.TokenRequests(tc.provider))
		})
	}
}

// 1,000 callers holding an expired token share one vendor request.
func TestSingleFlightOnExpiredToken(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	clock := newFakeClock()
	g := newGate()
	c, _ := newClockClient(t, configFor(t, srv, core.DQEIDMobile, nil), clock, WithHTTPClient(&http.Client{Transport: g}))
	g.open()
	first, err := c.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, srv.TokenRequests(core.DQEIDMobile))

	clock.Advance(301 * time.Second) // DQE tokens live 300 s
	g2 := newGate()
	c.doer.client.Transport = g2 // hold the renewal until every caller waits

	const n = 1000
	var wg sync.WaitGroup
	toks := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background())
			toks[i], errs[i] = tok.AccessToken, err
		}()
	}
	<-g2.waiting // the single flight reached the network
	g2.open()
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, toks[0], toks[i])
	}
	assert.NotEqual(t, first.AccessToken, toks[0])
	assert.Equal(t, 2, srv.TokenRequests(core.DQEIDMobile), "exactly one request for 1,000 callers")
}

// A stale token is served at once while exactly one background renewal runs.
func TestStaleServedWhileOneBackgroundRefresh(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	clock := newFakeClock()
	c, _ := newClockClient(t, configFor(t, srv, core.DQEIDMobile, nil), clock)
	old, err := c.Token(context.Background())
	require.NoError(t, err)

	clock.Advance(250 * time.Second) // 300 s token, 60 s leeway: stale, not expired
	g := newGate()
	c.doer.client.Transport = g
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background())
			assert.NoError(t, err)
			assert.Equal(t, old.AccessToken, tok.AccessToken, "stale token served while the renewal is held")
		}()
	}
	wg.Wait() // every caller returned although the renewal cannot finish
	<-g.waiting
	g.open()
	require.Eventually(t, func() bool {
		tok, _ := c.Token(context.Background())
		return tok.AccessToken != old.AccessToken
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, 2, srv.TokenRequests(core.DQEIDMobile), "one background renewal")
	assert.Len(t, g.waiting, 0, "no second request reached the network")
}

// FreshToken waits for the renewal of a stale token.
func TestFreshTokenRenewsStale(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	clock := newFakeClock()
	c, _ := newClockClient(t, configFor(t, srv, core.DQEIDMobile, nil), clock)
	old, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	clock.Advance(250 * time.Second)
	tok, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, old.AccessToken, tok.AccessToken)
	assert.Equal(t, core.Fresh, tok.StateAt(clock.Now().UnixMilli()))

	// A failed renewal of a still valid token hands the stale token out.
	clock.Advance(250 * time.Second)
	srv.Inject(core.DQEIDMobile, emulator.Fault{Status: 400})
	again, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, again.AccessToken)
}

// MoversConnect: a stale token is activated (same token, later expiry), and
// a new grant is made once the API refuses the token.
func TestMoversActivationThenRegrant(t *testing.T) {
	clock := newFakeClock()
	srv := startEmulator(t, emulator.Options{Now: clock.Now})
	store := NewMemoryStore()
	c, _ := newClockClient(t, configFor(t, srv, core.MoversConnect, nil), clock, WithStore(store))
	first, err := c.Token(context.Background())
	require.NoError(t, err)

	clock.Advance(emulator.MoversTokenLifetime - 30*time.Second) // stale
	act, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, act.AccessToken, "activation keeps the token")
	assert.Greater(t, act.ExpiresAt, first.ExpiresAt)
	assert.Equal(t, 2, srv.TokenRequests(core.MoversConnect))
	saved, ok, _ := store.Load(context.Background())
	require.True(t, ok)
	assert.Equal(t, act.ExpiresAt, saved.ExpiresAt, "the activated expiry was stored")
	assert.Equal(t, first.AccessToken, saved.AccessToken, "activation's null token did not erase the stored one")

	// Another instance logs in: at MoversConnect that voids our token and
	// refresh token. Our API call gets 401; an activation cannot revive a
	// refused token, so one new Password grant follows.
	other, _ := newClockClient(t, configFor(t, srv, core.MoversConnect, nil), clock)
	_, err = other.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3, srv.TokenRequests(core.MoversConnect))
	assert.Equal(t, http.StatusOK, call(t, c, protectedRequest(t, srv, core.MoversConnect, "post")))
	assert.Equal(t, 4, srv.TokenRequests(core.MoversConnect), "401, then one new grant")
	re, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, re.AccessToken)
	saved, _, _ = store.Load(context.Background())
	assert.Equal(t, re.AccessToken, saved.AccessToken)
}

// Secrets, tokens and query strings never reach the log, even at Debug and
// on failures.
func TestLogsCarryNoSecret(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := configFor(t, srv, core.DQEIDMobile, map[string]any{"method": "GET"})
	c, _ := newTestClient(t, cfg, WithLogger(log))
	srv.Inject(core.DQEIDMobile, emulator.Fault{Status: 503}, emulator.Fault{Reset: true}, emulator.Fault{HTML: true})
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	assert.Contains(t, out, "retrying")
	for _, s := range []string{emulator.DQEClientSecret, emulator.DQELicence, tok.AccessToken, tok.RefreshToken, "client_secret="} {
		assert.NotContains(t, out, s)
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

func TestErrorsAreCoreErrorsWithoutSecrets(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	cfg := configFor(t, srv, core.ByDesign, map[string]any{"password": "Wrong-Passw0rd-123"})
	c, _ := newTestClient(t, cfg)
	_, err := c.Token(context.Background())
	var ce *core.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, core.CodeInvalidGrant, ce.Code)
	assert.Equal(t, 400, ce.Status)
	assert.True(t, errors.Is(err, &core.Error{Code: core.CodeInvalidGrant}))
	assert.NotContains(t, err.Error(), "Wrong-Passw0rd-123")
	assert.Equal(t, 1, srv.TokenRequests(core.ByDesign), "a 4xx is never retried")
}

func TestCloseEndsClient(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Token(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
}

func TestNewRefusesABadConfig(t *testing.T) {
	_, err := New(core.Config{Provider: "nope"})
	var ce *core.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, core.CodeConfig, ce.Code)
	assert.True(t, strings.Contains(ce.Message, "unknown provider"))
}

// The core's PRNG (backoff and lease-poll jitter) is seeded from
// crypto/rand, so Clients that failed together do not retry in step.
func TestSeedsDiffer(t *testing.T) {
	seen := map[uint64]bool{}
	for range 64 {
		s := randomSeed()
		require.NotZero(t, s)
		seen[s] = true
	}
	assert.Greater(t, len(seen), 60)
}
