package wasmrun

import (
	"context"
	"strconv"
)

// Engine adapts one Instance to the byte-only interface of the conformance
// runner (internal/vectors.Engine) and of core.Handles: a failure of the
// instance is kept in Err (the first one) and answered as a wire error with
// code "wasm", so a runner records it instead of crashing.
type Engine struct {
	In  *Instance
	Ctx context.Context // nil: context.Background()
	Err error
}

func (e *Engine) ctx() context.Context {
	if e.Ctx == nil {
		return context.Background()
	}
	return e.Ctx
}

func (e *Engine) out(b []byte, err error) []byte {
	if err == nil {
		return b
	}
	if e.Err == nil {
		e.Err = err
	}
	return []byte(`{"error":{"code":"wasm","status":0,"message":` + strconv.Quote(err.Error()) + `,"retryable":false,"retry_after":0}}`)
}

func (e *Engine) New(config, options []byte) (int32, []byte) {
	h, b, err := e.In.New(e.ctx(), config, options)
	return h, e.out(b, err)
}
func (e *Engine) Next(h int32, nowMs int64) []byte { return e.out(e.In.Next(e.ctx(), h, nowMs)) }
func (e *Engine) Feed(h int32, nowMs int64, in []byte) []byte {
	return e.out(e.In.Feed(e.ctx(), h, nowMs, in))
}
func (e *Engine) Restore(h int32, t []byte) []byte    { return e.out(e.In.Restore(e.ctx(), h, t)) }
func (e *Engine) Token(h int32) []byte                { return e.out(e.In.Token(e.ctx(), h)) }
func (e *Engine) Attach(h int32, r []byte) []byte     { return e.out(e.In.Attach(e.ctx(), h, r)) }
func (e *Engine) Invalidate(h int32, b []byte) []byte { return e.out(e.In.Invalidate(e.ctx(), h, b)) }
func (e *Engine) Refused(h int32, r []byte) []byte    { return e.out(e.In.Refused(e.ctx(), h, r)) }
func (e *Engine) Redact(h int32, t []byte) []byte     { return e.out(e.In.Redact(e.ctx(), h, t)) }
func (e *Engine) Cancel(h int32) []byte               { return e.out(e.In.Cancel(e.ctx(), h)) }
func (e *Engine) Free(h int32) []byte                 { return e.out(e.In.Free(e.ctx(), h)) }
