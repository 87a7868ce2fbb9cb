package hostshim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

func codeOf(t *testing.T, err error) *core.Error {
	t.Helper()
	var ce *core.Error
	require.ErrorAs(t, err, &ce)
	return ce
}

func TestRetryAfterHonouredThenSuccess(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, rec := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	srv.Inject(core.DQEIDMobile, emulator.Fault{Status: 503, RetryAfter: "2"})
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.Equal(t, 2, srv.TokenRequests(core.DQEIDMobile))
	assert.Equal(t, []time.Duration{2 * time.Second}, rec.got(), "waited what Retry-After asked")
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, rec := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	for range 10 {
		srv.Inject(core.DQEIDMobile, emulator.Fault{Status: 503})
	}
	_, err := c.Token(context.Background())
	ce := codeOf(t, err)
	assert.Equal(t, core.CodeServerError, ce.Code)
	assert.Equal(t, 503, ce.Status)
	assert.Equal(t, DefaultRetry.MaxAttempts, srv.TokenRequests(core.DQEIDMobile))
	delays := rec.got()
	require.Len(t, delays, DefaultRetry.MaxAttempts-1)
	for i, d := range delays {
		assert.LessOrEqual(t, d, DefaultRetry.Base<<i, "full jitter stays under the ceiling")
	}
}

func TestRetryStopsAtBudget(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, rec := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	srv.Inject(core.DQEIDMobile, emulator.Fault{Status: 429, RetryAfter: "3600"})
	_, err := c.Token(context.Background())
	ce := codeOf(t, err)
	assert.Equal(t, core.CodeQuotaExceeded, ce.Code)
	assert.Equal(t, int64(3600), ce.RetryAfter)
	assert.Equal(t, 1, srv.TokenRequests(core.DQEIDMobile), "an hour's wait exceeds the 30 s budget")
	assert.Empty(t, rec.got())
}

func TestRetry429ThenSuccess(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.CRMCOM, nil))
	srv.Inject(core.CRMCOM, emulator.Fault{Status: 429}, emulator.Fault{Reset: true})
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, srv.TokenRequests(core.CRMCOM))
}

func TestFourXXNeverRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404} {
		srv := startEmulator(t, emulator.Options{})
		c, rec := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
		srv.Inject(core.DQEIDMobile, emulator.Fault{Status: status})
		_, err := c.Token(context.Background())
		ce := codeOf(t, err)
		assert.False(t, ce.Retryable, "status %d", status)
		assert.Equal(t, 1, srv.TokenRequests(core.DQEIDMobile), "status %d", status)
		assert.Empty(t, rec.got())
	}
}

// Broken answers map to the right code. One attempt, so each fault is seen.
func TestFaultCodes(t *testing.T) {
	cases := []struct {
		name  string
		fault emulator.Fault
		code  string
	}{
		{"reset", emulator.Fault{Reset: true}, core.CodeNetwork},
		{"truncated", emulator.Fault{Truncate: true}, core.CodeNetwork},
		{"oversized", emulator.Fault{Oversize: true}, core.CodeMalformedResponse},
		{"html 502", emulator.Fault{HTML: true}, core.CodeServerError},
		{"html 200", emulator.Fault{HTML: true, Status: 200}, core.CodeMalformedResponse},
	}
	for _, p := range []string{core.DQEIDMobile, core.ByDesign, core.MoversConnect, core.CRMCOM} {
		for _, tc := range cases {
			t.Run(p+"/"+tc.name, func(t *testing.T) {
				srv := startEmulator(t, emulator.Options{})
				c, rec := newTestClient(t, configFor(t, srv, p, nil), WithRetry(RetryPolicy{MaxAttempts: 1}))
				srv.Inject(p, tc.fault)
				_, err := c.Token(context.Background())
				ce := codeOf(t, err)
				assert.Equal(t, tc.code, ce.Code, ce.Error())
				assert.Equal(t, 1, srv.TokenRequests(p))
				// Held off: the same error at once, no request.
				_, err = c.Token(context.Background())
				assert.Equal(t, tc.code, codeOf(t, err).Code)
				assert.Equal(t, 1, srv.TokenRequests(p), "the core's hold-off")
				// And the call after the hold-off recovers.
				rec.clock.Advance(11 * time.Second)
				_, err = c.Token(context.Background())
				require.NoError(t, err)
			})
		}
	}
}

func TestTimeoutIsNetworkError(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil), WithTimeout(50*time.Millisecond), WithRetry(RetryPolicy{MaxAttempts: 1}))
	srv.Inject(core.DQEIDMobile, emulator.Fault{Stall: true})
	_, err := c.Token(context.Background())
	ce := codeOf(t, err)
	assert.Equal(t, core.CodeNetwork, ce.Code)
	assert.Contains(t, ce.Message, "no answer within")
}

// A caller whose context ends returns ctx.Err() while the body stalls; the
// flight goes on for others, and Close ends it.
func TestCancelledContextReturnsPromptly(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil))
	srv.Inject(core.DQEIDMobile, emulator.Fault{Stall: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Token(ctx)
		done <- err
	}()
	require.Eventually(t, func() bool { return srv.TokenRequests(core.DQEIDMobile) == 1 }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Token did not return after its context was cancelled")
	}
	require.NoError(t, c.Close()) // cancels the stalled flight and waits for it
}
