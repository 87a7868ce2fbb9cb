// Package core is tokensmith's sans-IO token engine: it builds each vendor's
// token request, parses every answer the vendor can give, computes expiry,
// decides between a new grant and a refresh, and owns the whole lifecycle
// policy: retries with jittered backoff, hold-off after a failure,
// stale-while-renew, the lease/commit protocol for shared stores and
// invalidation of refused tokens (docs/protocol.md).
//
// The package performs no I/O of its own. It opens no connection, reads no
// file, never reads the clock, draws no randomness of its own and starts no
// goroutine. The caller passes the current time in as unix milliseconds,
// performs every step the session answers and feeds the outcome back. The
// same code therefore runs natively, inside wazero, in a browser and in an
// edge worker, and one set of conformance vectors (testdata/vectors) pins
// its behaviour everywhere.
//
// A host serves a fresh token from its cache ([Token.FreshAt]) and otherwise
// runs this loop, one effect per step:
//
//	s, err := core.NewSession(cfg, core.Options{Seed: randomSeed()})
//	st := s.Next(nowMs())
//	for {
//		switch st.Kind {
//		case core.StepToken:
//			return st.Token, nil // committed already: serve it
//		case core.StepError:
//			return st.Usable, st.Err // final for this renewal; Usable may still serve
//		case core.StepRequest:
//			st = s.Feed(nowMs(), send(st.Request)) // Feed's answer is the next step
//		case core.StepWait:
//			sleep(st.UntilMs)
//			st = s.Next(nowMs())
//		case core.StepLease:
//			st = s.Leased(nowMs(), store.lease(st.LeaseTTLMs))
//		case core.StepCommit:
//			st = s.Committed(nowMs(), store.commit(st.Token, st.BaseRev))
//		case core.StepRelease:
//			store.release()
//			st = s.Released(nowMs())
//		case core.StepPending:
//			return nil, errBusy // the host let two callers drive one session
//		}
//	}
//
// Values cross the package boundary (CLI, WASM, JS) as the JSON wire format
// of docs/protocol.md; see [Config], [Options], [Token], [Request],
// [Response], [Step], [LeaseResult], [CommitResult] and [Error].
package core
