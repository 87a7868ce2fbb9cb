package core

// Test helpers for the unit tests in package core. Times are unix seconds,
// as the vendors' answers are; the helpers turn them into the session's
// milliseconds and play the trivial host (docs/protocol.md) for the store
// steps, so a test reads as "next → request, feed → token".

// testOptions make every failure final at once (one attempt) with a 1 ms
// hold-off, so a test sees the provider's error rather than a wait.
var testOptions = Options{Seed: 1, MaxAttempts: 1, HoldOffMs: 1}

func newTestSession(c Config) (*Session, error) { return NewSession(c, testOptions) }

// trivialStore is the memory store of a host with no shared store.
type trivialStore struct{ tok *Token }

func (ts *trivialStore) answer(s *Session, nowMs int64, st Step) Step {
	for i := 0; i < 16; i++ {
		switch st.Kind {
		case StepLease:
			st = s.Leased(nowMs, LeaseResult{Acquired: true, Token: ts.tok})
		case StepCommit:
			t := st.Token
			ts.tok = &t
			st = s.Committed(nowMs, CommitResult{OK: true})
		case StepRelease:
			st = s.Released(nowMs)
		default:
			return st
		}
	}
	return st
}

var stores = map[*Session]*trivialStore{}

func storeOf(s *Session) *trivialStore {
	if stores[s] == nil {
		stores[s] = &trivialStore{}
	}
	return stores[s]
}

// nextS is s.Next at now seconds, store steps answered.
func nextS(s *Session, now int64) Step {
	return storeOf(s).answer(s, now*1000, s.Next(now*1000))
}

// feedS is s.Feed at now seconds, store steps answered.
func feedS(s *Session, now int64, r Response) Step {
	return storeOf(s).answer(s, now*1000, s.Feed(now*1000, r))
}
