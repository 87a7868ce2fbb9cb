package hostshim

import "github.com/tokensmith/tokensmith/core"

// Runtime selects where the core runs. Everything else about a Client (cache,
// single flight, retries, store, adapters) is the same for both.
type Runtime int

const (
	Native Runtime = iota // the Go core, linked in
	WASM                  // the same core compiled to WebAssembly, run by wazero
)

func (r Runtime) String() string {
	if r == WASM {
		return "wasm"
	}
	return "native"
}

// engine is one core session, wherever it runs. The Client serialises calls
// to it: an engine need not be safe for concurrent use.
type engine interface {
	next(now int64) (core.Step, error)
	feed(now int64, r core.Response) (core.Step, error)
	restore(t core.Token) error
	invalidate() error
	cancel() error
	close() error
}

// nativeEngine runs the core in process.
type nativeEngine struct{ s *core.Session }

func newNativeEngine(c core.Config) (engine, error) {
	s, err := core.NewSession(c)
	if err != nil {
		return nil, err
	}
	return &nativeEngine{s: s}, nil
}

func (e *nativeEngine) next(now int64) (core.Step, error) { return e.s.Next(now), nil }
func (e *nativeEngine) feed(now int64, r core.Response) (core.Step, error) {
	return e.s.Feed(now, r), nil
}
func (e *nativeEngine) restore(t core.Token) error { return e.s.Restore(t) }
func (e *nativeEngine) invalidate() error          { e.s.Invalidate(); return nil }
func (e *nativeEngine) cancel() error              { e.s.Cancel(); return nil }
func (e *nativeEngine) close() error               { return nil }

// newEngine picks the runtime.
func newEngine(rt Runtime, c core.Config) (engine, error) {
	if rt == WASM {
		return newWASMEngine(c)
	}
	return newNativeEngine(c)
}
