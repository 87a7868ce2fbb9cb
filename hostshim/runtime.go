package hostshim

import (
	"github.com/tokensmith/tokensmith/core"
)

// Runtime is where the core runs. Native (the default) links the Go core;
// the WebAssembly runtime lives in its own package so that a native program
// links neither wazero nor the module:
//
//	import tswazero "github.com/tokensmith/tokensmith/hostshim/wazero"
//	c, err := hostshim.New(cfg, hostshim.WithRuntime(tswazero.Runtime()))
//
// Everything else about a Client (cache, single flight, store, adapters) is
// the same on every runtime.
type Runtime interface {
	// String names the runtime in logs: "native", "wasm".
	String() string
	// NewEngine starts one core session for c with o.
	NewEngine(c core.Config, o core.Options) (Engine, error)
}

// Engine is one core session, wherever it runs: core.Session's methods,
// with an error for a runtime that can fail (a trapped WebAssembly
// instance). The Client serialises calls; an Engine need not be safe for
// concurrent use. Every error is a *core.Error.
type Engine interface {
	Next(nowMs int64) (core.Step, error)
	Feed(nowMs int64, r core.Response) (core.Step, error)
	Leased(nowMs int64, r core.LeaseResult) (core.Step, error)
	Committed(nowMs int64, r core.CommitResult) (core.Step, error)
	Released(nowMs int64) (core.Step, error)
	Invalidate(accessToken string) (dropped bool, err error)
	Cancel() (release bool, err error)
	// Redact masks every secret and token the session knows in text.
	Redact(text string) string
	Close() error
}

// Native runs the core in process: the default Runtime.
var Native Runtime = nativeRuntime{}

type nativeRuntime struct{}

func (nativeRuntime) String() string { return "native" }

func (nativeRuntime) NewEngine(c core.Config, o core.Options) (Engine, error) {
	s, err := core.NewSession(c, o)
	if err != nil {
		return nil, err
	}
	return nativeEngine{s}, nil
}

// nativeEngine is core.Session behind the Engine interface; it never fails.
type nativeEngine struct{ s *core.Session }

func (e nativeEngine) Next(now int64) (core.Step, error) { return e.s.Next(now), nil }
func (e nativeEngine) Feed(now int64, r core.Response) (core.Step, error) {
	return e.s.Feed(now, r), nil
}
func (e nativeEngine) Leased(now int64, r core.LeaseResult) (core.Step, error) {
	return e.s.Leased(now, r), nil
}
func (e nativeEngine) Committed(now int64, r core.CommitResult) (core.Step, error) {
	return e.s.Committed(now, r), nil
}
func (e nativeEngine) Released(now int64) (core.Step, error) { return e.s.Released(now), nil }
func (e nativeEngine) Invalidate(tok string) (bool, error)   { return e.s.Invalidate(tok), nil }
func (e nativeEngine) Cancel() (bool, error)                 { return e.s.Cancel(), nil }
func (e nativeEngine) Redact(text string) string             { return e.s.Redact(text) }
func (e nativeEngine) Close() error                          { return nil }
