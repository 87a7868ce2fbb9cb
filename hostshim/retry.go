package hostshim

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// RetryPolicy bounds how a Client retries a token request the core calls
// retryable (network failures, 5xx, 429). A 4xx is final and never retried:
// sending the same wrong password again only locks accounts.
//
// Delays use "full jitter" (a random wait between 0 and min(Cap, Base·2ⁿ)),
// which spreads many clients that failed together better than a fixed
// backoff. A Retry-After the vendor sent is honoured as a minimum.
type RetryPolicy struct {
	MaxAttempts int           // token requests per flight, the first included; 1 = no retry
	Base        time.Duration // first backoff ceiling
	Cap         time.Duration // largest backoff ceiling
	Budget      time.Duration // no retry starts later than this after the first attempt
}

// DefaultRetry is the policy New uses.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, Base: 200 * time.Millisecond, Cap: 10 * time.Second, Budget: 30 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.Base <= 0 {
		p.Base = DefaultRetry.Base
	}
	if p.Cap <= 0 {
		p.Cap = DefaultRetry.Cap
	}
	if p.Cap < p.Base {
		p.Cap = p.Base
	}
	if p.Budget <= 0 {
		p.Budget = DefaultRetry.Budget
	}
	return p
}

// delay is how long to wait before attempt number attempt+1 (attempt counts
// the tries made so far, from 1), and whether to retry at all. elapsed is the
// time spent since the first attempt started.
func (p RetryPolicy) delay(attempt int, e *core.Error, elapsed time.Duration) (time.Duration, bool) {
	if e == nil || !e.Retryable || attempt >= p.MaxAttempts {
		return 0, false
	}
	ceiling := p.Base << min(attempt-1, 30)
	if ceiling > p.Cap || ceiling <= 0 {
		ceiling = p.Cap
	}
	d := rand.N(ceiling + 1)
	if ra := time.Duration(e.RetryAfter) * time.Second; ra > d {
		d = ra
	}
	if elapsed+d > p.Budget {
		// Waiting would end past the budget: the caller is better served by
		// the error now than by a retry that starts too late to matter.
		return 0, false
	}
	return d, true
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
