//go:build wasip1

// Command wasm is the tokensmith core as a WebAssembly reactor (wasip1,
// -buildmode=c-shared), ABI v2. It wraps core.Handles one to one: every
// export takes and answers the JSON wire format (docs/protocol.md), so any
// host that can copy bytes in and out of linear memory can drive it. The ABI
// is specified in ABI.md; keep the two in step and bump abiVersion on any
// incompatible change.
//
// The module imports nothing but the WASI functions the Go runtime needs: it
// never calls out to the host. Hosts perform the steps it answers (fetch,
// sleep, store) and call back in, so a host that cannot block (JS) drives it
// the same way as one that can.
//
// Only core and unsafe are imported here on purpose: every package in this
// binary is downloaded by every browser and edge worker, so nothing it links
// may bring in fmt, reflect, time, os, net or encoding/json (make wasm-vet).
package main

import (
	"unsafe"

	"github.com/tokensmith/tokensmith/core"
)

// abiVersion is what abi_version answers. Hosts refuse any other value.
const abiVersion = 2

// maxBuf is the largest buffer buf_alloc hands out (and so the largest
// input): a response body is capped at 1 MiB, so 16 MiB leaves room for
// escaping and headers while a host bug cannot make the instance allocate
// without bound.
const maxBuf = 16 << 20

var (
	handles core.Handles

	// bufs keeps host-requested input buffers reachable (the Go GC does not
	// move objects, but it would free one nothing in Go refers to) and
	// records their size, so an input pointer and length are checked
	// against a buffer the host really got.
	bufs = map[uintptr][]byte{}

	// lastOut keeps the latest output alive until the next export call
	// replaces it; out_ptr answers its address.
	lastOut = []byte(`{}`)
)

func main() {}

//go:wasmexport abi_version
func abiVersionExport() int32 { return abiVersion }

// buf_alloc returns a guest buffer of n bytes (at least 1) for the host to
// write an input into, valid until buf_free. It answers 0, without
// allocating, when n is negative or above 16 MiB.
//
//go:wasmexport buf_alloc
func bufAlloc(n int32) int32 {
	if n < 0 || n > maxBuf {
		return 0
	}
	if n == 0 {
		n = 1
	}
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(&b[0]))
	bufs[p] = b
	return int32(p)
}

// buf_free releases a buffer from buf_alloc; unknown pointers are ignored.
//
//go:wasmexport buf_free
func bufFree(p int32) { delete(bufs, uintptr(uint32(p))) }

// out_ptr answers the address of the latest output; its length is what the
// session_* call returned. Valid until the next session_* call.
//
//go:wasmexport out_ptr
func outPtr() int32 { return int32(uintptr(unsafe.Pointer(&lastOut[0]))) }

var errBadInput = &core.Error{Code: core.CodeUsage, Message: "input is not inside a buffer from buf_alloc"}

// input views the host's bytes without copying (every core entry point
// copies what it keeps). The pointer must be the start of a live buf_alloc
// buffer and the length within it: a host-supplied size is never trusted.
func input(p, n int32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	b, ok := bufs[uintptr(uint32(p))]
	if !ok || n < 0 || int(n) > len(b) {
		return nil, false
	}
	return b[:n], true
}

// output pins b as the current output and answers its length.
func output(b []byte) int32 {
	if len(b) == 0 {
		b = []byte(`{}`)
	}
	lastOut = b
	return int32(len(b))
}

// nowMs converts the host's f64 unix ms. NaN, infinities and values outside
// the core's range become 0, which the core refuses as out of range (a
// float-to-int conversion of such values is not defined).
func nowMs(f float64) int64 {
	if !(f >= float64(core.MinNowMs) && f <= float64(core.MaxNowMs)) {
		return 0
	}
	return int64(f)
}

//go:wasmexport session_new
func sessionNew(cp, cn, op, on int32) int32 {
	cfg, ok1 := input(cp, cn)
	opt, ok2 := input(op, on)
	if !ok1 || !ok2 {
		return output(errBadInput.MarshalWire())
	}
	_, out := handles.New(cfg, opt)
	return output(out)
}

//go:wasmexport session_next
func sessionNext(h int32, now float64) int32 { return output(handles.Next(h, nowMs(now))) }

//go:wasmexport session_feed
func sessionFeed(h int32, now float64, p, n int32) int32 {
	in, ok := input(p, n)
	if !ok {
		return output(errBadInput.MarshalWire())
	}
	return output(handles.Feed(h, nowMs(now), in))
}

// with1 runs f on one checked input.
func with1(p, n int32, f func([]byte) []byte) int32 {
	in, ok := input(p, n)
	if !ok {
		return output(errBadInput.MarshalWire())
	}
	return output(f(in))
}

//go:wasmexport session_restore
func sessionRestore(h, p, n int32) int32 {
	return with1(p, n, func(b []byte) []byte { return handles.Restore(h, b) })
}

//go:wasmexport session_token
func sessionToken(h int32) int32 { return output(handles.Token(h)) }

//go:wasmexport session_attach
func sessionAttach(h, p, n int32) int32 {
	return with1(p, n, func(b []byte) []byte { return handles.Attach(h, b) })
}

//go:wasmexport session_invalidate
func sessionInvalidate(h, p, n int32) int32 {
	return with1(p, n, func(b []byte) []byte { return handles.Invalidate(h, b) })
}

//go:wasmexport session_refused
func sessionRefused(h, p, n int32) int32 {
	return with1(p, n, func(b []byte) []byte { return handles.Refused(h, b) })
}

//go:wasmexport session_redact
func sessionRedact(h, p, n int32) int32 {
	return with1(p, n, func(b []byte) []byte { return handles.Redact(h, b) })
}

//go:wasmexport session_cancel
func sessionCancel(h int32) int32 { return output(handles.Cancel(h)) }

//go:wasmexport session_free
func sessionFree(h int32) int32 { return output(handles.Free(h)) }
