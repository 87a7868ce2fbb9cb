// Package core is tokensmith's sans-IO token engine: it builds each vendor's
// token request, parses every answer the vendor can give, computes expiry and
// decides between a new grant and a refresh.
//
// The package performs no I/O of its own. It opens no connection, reads no
// file, never reads the clock and starts no goroutine. The caller passes the
// current time in as unix seconds, sends every [Request] the core asks for and
// feeds the [Response] back. The same code therefore runs natively, inside
// wazero, in a browser and in an edge worker, and one set of conformance
// vectors (testdata/vectors) pins its behaviour everywhere.
//
// A typical host loop:
//
//	s, err := core.NewSession(cfg)
//	for {
//		step := s.Next(now)
//		switch step.Kind {
//		case core.StepToken:
//			return step.Token // persist first when step.Changed
//		case core.StepRequest:
//			resp := send(step.Request) // the host's own HTTP client
//			step = s.Feed(now, resp)   // token, follow-up request or error
//		...
//		}
//	}
//
// Values cross the package boundary (CLI, WASM, JS) as the JSON wire format
// documented in README.md; see [Config], [Token], [Request], [Response],
// [Step] and [Error].
package core
