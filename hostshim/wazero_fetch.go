package hostshim

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/tokensmith/tokensmith/core"
)

// wasmFetchFunc sends one core request; httpDoer.do in production.
type wasmFetchFunc func(context.Context, core.Request) core.Response

// wasmFetchCall is the state of one session_acquire call: the module's fetch
// imports find it in the call's context. The response waits here between
// fetch and fetch_read because a Go module cannot be re-entered (no
// buf_alloc) while it is inside an import.
type wasmFetchCall struct {
	do      wasmFetchFunc
	pending []byte
}

type wasmFetchKey struct{}

// wasmHostFetch implements tokensmith.fetch(req_ptr, req_len) -> i32: send the
// wire-format request and answer the length of the wire-format response now
// held, or -1 when there is no fetcher or the request cannot be read.
func wasmHostFetch(ctx context.Context, m api.Module, stack []uint64) {
	fc, _ := ctx.Value(wasmFetchKey{}).(*wasmFetchCall)
	raw, ok := m.Memory().Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if fc == nil || !ok {
		stack[0] = api.EncodeI32(-1)
		return
	}
	var resp core.Response
	if req, err := core.ParseRequest(raw); err != nil {
		resp = netErr("the module sent an unreadable request")
	} else {
		resp = fc.do(ctx, req)
	}
	fc.pending = resp.MarshalWire()
	stack[0] = api.EncodeI32(int32(len(fc.pending)))
}

// wasmHostFetchRead implements tokensmith.fetch_read(ptr, len) -> i32: copy the
// held response into the guest's buffer, forget it, answer the bytes copied.
func wasmHostFetchRead(ctx context.Context, m api.Module, stack []uint64) {
	fc, _ := ctx.Value(wasmFetchKey{}).(*wasmFetchCall)
	if fc == nil || fc.pending == nil {
		stack[0] = api.EncodeI32(-1)
		return
	}
	b := fc.pending
	if n := int(api.DecodeU32(stack[1])); n < len(b) {
		b = b[:n]
	}
	fc.pending = nil
	if !m.Memory().Write(api.DecodeU32(stack[0]), b) {
		stack[0] = api.EncodeI32(-1)
		return
	}
	stack[0] = api.EncodeI32(int32(len(b)))
}
