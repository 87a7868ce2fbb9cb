package main

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
	"github.com/tokensmith/tokensmith/internal/redistest"
)

// Concurrent runs sharing a Redis make one grant and print one token.
func TestTokenStateRedisConcurrentRuns(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	rs := redistest.Start(t)
	cfg := writeConfig(t, srv, core.MoversConnect, nil)
	const n = 8
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runCLI(t, "", nil, "token", "--config", cfg, "--state", rs.URL())
		}()
	}
	wg.Wait()
	first := ""
	for i, r := range results {
		require.Equal(t, 0, r.code, "run %d: %s", i, r.stderr)
		tok := parseToken(t, r.stdout)
		if first == "" {
			first = tok.AccessToken
		}
		assert.Equal(t, first, tok.AccessToken, "run %d printed another token", i)
	}
	t.Logf("%d concurrent `tokensmith token --state redis://…` runs: %d grants", n, srv.Fleet(core.MoversConnect).Grants)
	require.Equal(t, 1, srv.Fleet(core.MoversConnect).Grants, "one grant between %d concurrent runs", n)

	// The URL from the environment: the stored token is reused, no request.
	r := runCLI(t, "", []string{"TS_REDIS=" + rs.URL()}, "token", "--config", cfg, "--state", "env:TS_REDIS")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, first, parseToken(t, r.stdout).AccessToken)
	assert.Equal(t, 1, srv.TokenRequests(core.MoversConnect))
}

func TestTokenStateRedisErrors(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	rs := redistest.Start(t)
	movers := writeConfig(t, srv, core.MoversConnect, nil)

	r := runCLI(t, "", nil, "token", "--config", movers, "--state", "env:TS_REDIS_UNSET")
	requireFailure(t, r, 2, core.CodeUsage)
	assert.Contains(t, r.stderr, "TS_REDIS_UNSET")

	r = runCLI(t, "", []string{"TS_REDIS=/tmp/not-a-url"}, "token", "--config", movers, "--state", "env:TS_REDIS")
	requireFailure(t, r, 2, core.CodeUsage)

	// DQE names its account by secrets only: a namespace is required.
	dqe := writeConfig(t, srv, core.DQEIDMobile, nil)
	r = runCLI(t, "", nil, "token", "--config", dqe, "--state", rs.URL())
	requireFailure(t, r, 2, core.CodeConfig)
	assert.Contains(t, r.stderr, "namespace")
	r = runCLI(t, "", nil, "token", "--config", dqe, "--state", rs.URL()+"?namespace=billing")
	require.Equal(t, 0, r.code, r.stderr)

	// Redis unreachable: the run fails, and the URL's password is never shown.
	const pw = "Sekrit-redis-pw-93"
	down := "redis://:" + pw + "@127.0.0.1:1/0"
	for _, spec := range []string{down, down + "%zz", "rediss://:" + pw + "@[::1/0"} {
		r = runCLI(t, "", nil, "token", "--config", movers, "--state", spec)
		assert.NotEqual(t, 0, r.code, spec)
		assert.False(t, strings.Contains(r.stdout+r.stderr, pw), "password shown: %s %s", r.stdout, r.stderr)
	}
}
