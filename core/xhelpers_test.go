package core_test

import "github.com/tokensmith/tokensmith/core"

// The same helpers for the tests in package core_test. Times are unix seconds,
// as the vendors' answers are; the helpers turn them into the session's
// milliseconds and play the trivial host (docs/protocol.md) for the store
// steps, so a test reads as "next → request, feed → token".

// testOptions make every failure final at once (one attempt) with a 1 ms
// hold-off, so a test sees the provider's error rather than a wait.
var testOptions = core.Options{Seed: 1, MaxAttempts: 1, HoldOffMs: 1}

func newTestSession(c core.Config) (*core.Session, error) { return core.NewSession(c, testOptions) }

// trivialStore is the memory store of a host with no shared store.
type trivialStore struct{ tok *core.Token }

func (ts *trivialStore) answer(s *core.Session, nowMs int64, st core.Step) core.Step {
	for i := 0; i < 16; i++ {
		switch st.Kind {
		case core.StepLease:
			st = s.Leased(nowMs, core.LeaseResult{Acquired: true, Token: ts.tok})
		case core.StepCommit:
			t := st.Token
			ts.tok = &t
			st = s.Committed(nowMs, core.CommitResult{OK: true})
		case core.StepRelease:
			st = s.Released(nowMs)
		default:
			return st
		}
	}
	return st
}

var stores = map[*core.Session]*trivialStore{}

func storeOf(s *core.Session) *trivialStore {
	if stores[s] == nil {
		stores[s] = &trivialStore{}
	}
	return stores[s]
}

// nextS is s.Next at now seconds, store steps answered.
func nextS(s *core.Session, now int64) core.Step {
	return storeOf(s).answer(s, now*1000, s.Next(now*1000))
}

// feedS is s.Feed at now seconds, store steps answered.
func feedS(s *core.Session, now int64, r core.Response) core.Step {
	return storeOf(s).answer(s, now*1000, s.Feed(now*1000, r))
}
