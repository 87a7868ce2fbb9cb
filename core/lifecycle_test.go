package core

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the v2 lifecycle that a vector cannot express: raw bytes a JSON
// file cannot carry, the registrations behind the derived lists, and the
// arithmetic at the edges of the time range. The vectors (lc-*) pin the
// rest on every runtime.

func dqeTestSession(t *testing.T, o Options) *Session {
	t.Helper()
	s, err := NewSession(Config{Provider: DQEIDMobile, BaseURL: "https://dqe.example", Licence: "LIC-4711", ClientSecret: "s3cret-pass"}, o)
	require.NoError(t, err)
	return s
}

// Issue 8 item 5: a token with invalid UTF-8 is refused as
// malformed_response, natively and (as U+FFFD after the JSON boundary) in
// WASM, with the same message; it never reaches a store or a header.
func TestInvalidUTF8TokenRefused(t *testing.T) {
	s := dqeTestSession(t, testOptions)
	require.Equal(t, StepRequest, nextS(s, coreT0).Kind)
	st := feedS(s, coreT0, Response{Status: 200, Body: []byte("{\"access_token\":\"TK\xff\xfeab0123\",\"expires_in\":\"300\"}")})
	require.Equal(t, StepError, st.Kind)
	assert.Equal(t, CodeMalformedResponse, st.Err.Code)
	assert.Equal(t, "access token holds bytes outside printable ASCII", st.Err.Message)
	_, held := s.Token()
	assert.False(t, held)

	// The same body after a JSON boundary (what a WASM host sends).
	r := Response{Status: 200, Body: []byte("{\"access_token\":\"TK\xff\xfeab0123\",\"expires_in\":\"300\"}")}
	back, err := ParseResponse(r.MarshalWire())
	require.NoError(t, err)
	require.Equal(t, StepRequest, nextS(s, coreT0+1).Kind)
	st2 := feedS(s, coreT0+1, back)
	require.Equal(t, StepError, st2.Kind)
	assert.Equal(t, st.Err.Message, st2.Err.Message, "one behaviour on both sides of the boundary")

	assert.Error(t, s.Restore(Token{AccessToken: "TK\xff\xfeab"}), "nor through a store")
	assert.Error(t, s.Restore(Token{AccessToken: "TK", RefreshToken: "R\xff"}))
}

// Issue 8 item 11: now outside [MinNowMs, MaxNowMs] is refused before any
// arithmetic, so no expiry can overflow; the session is unchanged.
func TestNowOutOfRange(t *testing.T) {
	s := dqeTestSession(t, testOptions)
	for _, now := range []int64{-1 << 63, -1, 0, coreT0, MinNowMs - 1, MaxNowMs + 1, 1<<63 - 1} {
		st := s.Next(now)
		require.Equal(t, StepError, st.Kind, "now %d", now)
		assert.Equal(t, CodeUsage, st.Err.Code)
	}
	assert.Equal(t, StepLease, s.Next(MinNowMs).Kind, "the edges are inside")
	st := s.Leased(MaxNowMs, LeaseResult{Acquired: true})
	require.Equal(t, StepRequest, st.Kind)
	st = s.Feed(1<<63-1, Response{Status: 200, Body: []byte(`{"access_token":"TK0123456789","expires_in":"315360000"}`)})
	require.Equal(t, StepError, st.Kind, "a valid answer fed at MaxInt64 is refused, not computed")
	st = s.Feed(MaxNowMs, Response{Status: 200, Body: []byte(`{"access_token":"TK0123456789","expires_in":"315360000"}`)})
	require.Equal(t, StepCommit, st.Kind, "%v", st.Err)
	assert.Greater(t, st.Token.ExpiresAt, MaxNowMs/1000, "no overflow at the top of the range")
	assert.Greater(t, st.Token.RefreshAt, int64(0))
}

// Issue 8 item 13: freshness has a lower bound from received_at, so a
// clock that jumps back stops the cached token being served as fresh.
func TestFreshAtLowerBound(t *testing.T) {
	tk := Token{AccessToken: "a", ExpiresAt: coreT0 + 300, RefreshAt: coreT0 + 240, ReceivedAt: coreT0}
	ms := func(s int64) int64 { return s * 1000 }
	assert.True(t, tk.FreshAt(ms(coreT0)))
	assert.True(t, tk.FreshAt(ms(coreT0-60)), "60 s of skew between instances")
	assert.False(t, tk.FreshAt(ms(coreT0-61)), "further back: the clock jumped")
	assert.False(t, tk.FreshAt(ms(coreT0+240)), "stale at refresh_at")
	assert.Equal(t, Stale, tk.StateAt(ms(coreT0-3600)), "StateAt agrees: renew, but still usable")
	assert.Equal(t, Fresh, tk.StateAt(ms(coreT0-60)))
	v1 := Token{AccessToken: "a", ExpiresAt: coreT0 + 300, RefreshAt: coreT0 + 240}
	assert.True(t, v1.FreshAt(ms(coreT0-3600)), "a v1 token without received_at keeps the old rule")
	assert.False(t, (&Token{AccessToken: "a", ExpiresAt: coreT0 + 300}).FreshAt(ms(coreT0)), "no refresh_at: not fresh for the hot path")
	assert.False(t, tk.FreshAt(-1), "negative now is never fresh")
	// FreshAt and StateAt agree wherever FreshAt says yes.
	for _, d := range []int64{-120, -61, -60, 0, 100, 239, 240, 299, 300} {
		if tk.FreshAt(ms(coreT0 + d)) {
			assert.Equal(t, Fresh, tk.StateAt(ms(coreT0+d)), "d=%d", d)
		}
	}
}

// Issue 8 item 14: Restore validates as strictly as a vendor answer.
func TestRestoreValidates(t *testing.T) {
	s := dqeTestSession(t, testOptions)
	for name, tk := range map[string]Token{
		"CR/LF":          {AccessToken: "TK\r\nX-Evil: 1"},
		"NUL":            {AccessToken: "TK\x00"},
		"refresh CR":     {AccessToken: "TK", RefreshToken: "R\r"},
		"huge":           {AccessToken: strings.Repeat("A", 17<<10)},
		"time too large": {AccessToken: "TK", ExpiresAt: MaxNowMs},
		"negative rev":   {AccessToken: "TK", Rev: -1},
		"other provider": {Provider: ByDesign, AccessToken: "TK"},
	} {
		err := s.Restore(tk)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, &Error{Code: CodeUsage}, name)
		assert.NotContains(t, err.Error(), "X-Evil", name)
	}
	_, held := s.Token()
	assert.False(t, held, "nothing was restored")
	require.NoError(t, s.Restore(Token{AccessToken: "TK-ok.0123~_", ExpiresAt: coreT0 + 300, Rev: 4}))
	tk, _ := s.Token()
	assert.Equal(t, int64(4), tk.Rev)
}

// Issue 7 item 6: the derived lists come from the registrations.
func TestRegistrationsDeriveLists(t *testing.T) {
	ids := Providers()
	assert.True(t, sort.StringsAreSorted(ids))
	assert.Len(t, ids, len(providers))
	var secrets []string
	for _, id := range ids {
		for _, st := range settingsOf[id] {
			assert.NotNil(t, lookupField(st.name), st.name)
			if st.secret {
				secrets = append(secrets, st.name)
			}
		}
	}
	for _, k := range secrets {
		assert.Contains(t, SecretFields(), k)
	}
	for _, k := range SecretFields() {
		assert.Contains(t, secrets, k)
	}
	assert.ElementsMatch(t, []string{"password", "client_secret", "licence", "key", "authentication_code", "pass_code", "jwt"}, SecretFields())
	_, err := ParseConfig([]byte(`{"provider":"nope"}`))
	require.Error(t, err)
	for _, id := range ids {
		assert.Contains(t, err.Error(), id, "the error names every registered provider")
	}
	// A new registration shows up everywhere at once.
	register("zz-test", dqeIDMobile{}, secret("unit"))
	defer func() { delete(providers, "zz-test"); delete(settingsOf, "zz-test") }()
	assert.Contains(t, Providers(), "zz-test")
	assert.Contains(t, SecretFields(), "unit")
	assert.Panics(t, func() { register("zz-bad", dqeIDMobile{}, plain("no_such_field")) })
}

// The PRNG is splitmix64: its first outputs for seed 0 are the published
// reference values, so ports (JS) can check theirs.
func TestPRNGIsSplitmix64(t *testing.T) {
	p := prng{0}
	assert.Equal(t, uint64(0xe220a8397b1dcdaf), p.next())
	assert.Equal(t, uint64(0x6e789e6aa1b965f4), p.next())
	assert.Equal(t, uint64(0x06c45d188009454f), p.next())
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(nil)
	require.NoError(t, err)
	assert.Equal(t, Options{}, o)
	o, err = ParseOptions([]byte(`{"seed":"18446744073709551615","max_attempts":2,"hold_off_ms":5,"lease_poll_ms":null}`))
	require.NoError(t, err)
	assert.Equal(t, Options{Seed: 1<<64 - 1, MaxAttempts: 2, HoldOffMs: 5}, o)
	d := Options{}.withDefaults()
	assert.Equal(t, Options{MaxAttempts: 4, BackoffBaseMs: 200, BackoffCapMs: 10000, BudgetMs: 30000, TimeoutMs: 60000, HoldOffMs: 10000, LeasePollMs: 500}, d)
	for _, bad := range []string{`[]`, `{"max_attempts":-1}`, `{"budget_ms":1e99}`, `{"timeout_ms":"5"}`, `{"x":1}`, `{"seed":-1}`, `{"hold_off_ms":86400001}`} {
		_, err := ParseOptions([]byte(bad))
		assert.ErrorIs(t, err, &Error{Code: CodeConfig}, bad)
	}
	back, err := ParseOptions(Options{Seed: 9}.MarshalWire())
	require.NoError(t, err)
	assert.Equal(t, Options{Seed: 9}.withDefaults(), back)
}

// Every step kind survives the wire both ways, and unknown keys are
// ignored (a later core may add some).
func TestParseStepAllKinds(t *testing.T) {
	u := &Token{Provider: DQEIDMobile, AccessToken: "TKu", ExpiresAt: coreT0 + 9, Rev: 2, ReceivedAt: coreT0, Learned: map[string]string{"encoding": "form"}, Extra: map[string]string{}}
	steps := []Step{
		{Kind: StepToken, Token: *u, Changed: true},
		{Kind: StepRequest, Request: Request{Method: "POST", URL: "https://x.example/t", Header: map[string]string{"A": "b"}, Body: "x=1", TimeoutMs: 5000}, Usable: u},
		{Kind: StepWait, UntilMs: coreT0*1000 + 5, Reason: ReasonRetry, Usable: u},
		{Kind: StepWait, UntilMs: coreT0 * 1000, Reason: ReasonLease},
		{Kind: StepLease, LeaseTTLMs: 150000, Usable: u},
		{Kind: StepCommit, Token: *u, BaseRev: 1},
		{Kind: StepRelease},
		{Kind: StepError, Err: &Error{Code: CodeStore, Message: "m", Retryable: true, RetryAtMs: 7}, Usable: u},
		{Kind: StepPending, Usable: u},
		{Kind: StepPending},
	}
	for _, st := range steps {
		w := st.MarshalWire()
		got, err := ParseStep(w)
		require.NoError(t, err, "%s", w)
		assert.Equal(t, st.MarshalWire(), got.MarshalWire(), "%s", w)
		assert.Equal(t, st.Kind, got.Kind)
		// An unknown key added by a later core changes nothing.
		w2 := append([]byte(`{"zz_future":{"a":1},`), w[1:]...)
		got2, err := ParseStep(w2)
		require.NoError(t, err, "%s", w2)
		assert.Equal(t, w, got2.MarshalWire())
	}
	_, err := ParseStep([]byte(`{"zz_future":1}`))
	assert.Error(t, err)
}

// Inputs round-trip too, and ParseInput insists on exactly one.
func TestParseInput(t *testing.T) {
	tk := &Token{AccessToken: "TK", Rev: 3}
	for _, w := range [][]byte{
		(&LeaseResult{Acquired: true, Token: tk}).MarshalWire(),
		(&LeaseResult{Acquired: false}).MarshalWire(),
		(&LeaseResult{Err: &Error{Code: CodeStore, Message: "x"}}).MarshalWire(),
		(&CommitResult{OK: true}).MarshalWire(),
		(&CommitResult{OK: false, Token: tk}).MarshalWire(),
		(&CommitResult{Err: &Error{Code: CodeStore, Message: "x"}}).MarshalWire(),
		(&Response{Status: 200, Body: []byte("b")}).MarshalInput(),
		ReleaseInput,
	} {
		_, err := ParseInput(w)
		assert.NoError(t, err, "%s", w)
	}
	for _, bad := range []string{`{}`, `{"lease":{},"commit":{"ok":true}}`, `{"commit":{}}`, `{"lease":1}`, `[]`} {
		_, err := ParseInput([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// A store that always loses the commit cannot loop a host forever.
func TestLostCommitsAreBounded(t *testing.T) {
	s := dqeTestSession(t, Options{Seed: 1})
	now := coreT0 * 1000
	st := s.Next(now)
	for i := 0; i < 20 && st.Kind != StepError; i++ {
		switch st.Kind {
		case StepLease:
			st = s.Leased(now, LeaseResult{Acquired: true})
		case StepRequest:
			st = s.Feed(now, Response{Status: 200, Body: []byte(`{"access_token":"TK0123456789","expires_in":"300"}`)})
		case StepCommit:
			st = s.Committed(now, CommitResult{OK: false})
		default:
			t.Fatalf("unexpected %v", st.Kind)
		}
	}
	require.Equal(t, StepError, st.Kind)
	assert.Equal(t, CodeStore, st.Err.Code)
}

// A lost commit whose winner holds only a refresh token is adopted (its
// refresh token is newer) but not served: the renewal starts over.
func TestLostCommitToRefreshOnlyTokenRenews(t *testing.T) {
	s, err := NewSession(Config{Provider: ByDesign, BaseURL: "https://bd.example", UserType: "rep", Username: "1001", Password: "pw", ClientID: "c"}, Options{Seed: 1})
	require.NoError(t, err)
	now := coreT0 * 1000
	require.Equal(t, StepLease, s.Next(now).Kind)
	require.Equal(t, StepRequest, s.Leased(now, LeaseResult{Acquired: true}).Kind)
	st := s.Feed(now, Response{Status: 200, Body: []byte(`{"access_token":"AT0123456789","expires_in":3600,"refresh_token":"RT0123456789","userName":"-->r_1001"}`)})
	require.Equal(t, StepCommit, st.Kind)
	st = s.Committed(now, CommitResult{OK: false, Token: &Token{RefreshToken: "RTwinner0123", Rev: 5}})
	require.Equal(t, StepLease, st.Kind, "no token step with an empty access token")
	st = s.Leased(now, LeaseResult{Acquired: true, Token: &Token{RefreshToken: "RTwinner0123", Rev: 5}})
	require.Equal(t, StepRequest, st.Kind)
	assert.Contains(t, st.Request.Body, "RTwinner0123", "the winner's refresh token is used")
}
