//go:build wasip1

// Command wasm is the tokensmith core as a WebAssembly reactor (wasip1,
// -buildmode=c-shared). It wraps core.Handles one to one: every export takes
// and answers the JSON wire format, so any host that can copy bytes in and
// out of linear memory can drive it. The ABI is specified in ABI.md; keep the
// two in step and bump abiVersion on any incompatible change.
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
const abiVersion = 1

// maxRounds bounds acquire: a refused refresh falls back to a grant and
// ByDesign may resend a grant as a form, so a healthy exchange needs at most
// three round trips; more means a misbehaving endpoint.
const maxRounds = 8

var (
	handles core.Handles

	// bufs keeps host-requested input buffers reachable: the Go GC does not
	// move objects, but it would free one nothing in Go refers to.
	bufs = map[uintptr][]byte{}

	// lastOut keeps the latest output alive until the next export call
	// replaces it, so hosts copy it out without a free call of their own.
	lastOut []byte
)

func main() {}

//go:wasmexport abi_version
func abiVersionExport() uint32 { return abiVersion }

// buf_alloc returns a guest buffer of n bytes (at least 1) for the host to
// write an input into. It stays valid until buf_free.
//
//go:wasmexport buf_alloc
func bufAlloc(n uint32) unsafe.Pointer {
	if n == 0 {
		n = 1
	}
	b := make([]byte, n)
	p := unsafe.Pointer(&b[0])
	bufs[uintptr(p)] = b
	return p
}

// buf_free releases a buffer from buf_alloc; unknown pointers are ignored.
//
//go:wasmexport buf_free
func bufFree(p unsafe.Pointer) { delete(bufs, uintptr(p)) }

// input views the host's bytes without copying: every core entry point
// copies what it keeps.
func input(p unsafe.Pointer, n uint32) []byte {
	if n == 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

// output pins b as the current output and packs its address and length as
// ptr<<32 | len.
func output(b []byte) uint64 {
	if len(b) == 0 {
		b = []byte(`{}`)
	}
	lastOut = b
	return uint64(uintptr(unsafe.Pointer(&b[0])))<<32 | uint64(len(b))
}

//go:wasmexport session_new
func sessionNew(p unsafe.Pointer, n uint32) uint64 {
	_, out := handles.New(input(p, n))
	return output(out)
}

//go:wasmexport session_next
func sessionNext(h int32, now int64) uint64 { return output(handles.Next(h, now)) }

//go:wasmexport session_feed
func sessionFeed(h int32, now int64, p unsafe.Pointer, n uint32) uint64 {
	return output(handles.Feed(h, now, input(p, n)))
}

//go:wasmexport session_restore
func sessionRestore(h int32, p unsafe.Pointer, n uint32) uint64 {
	return output(handles.Restore(h, input(p, n)))
}

//go:wasmexport session_token
func sessionToken(h int32) uint64 { return output(handles.Token(h)) }

//go:wasmexport session_attach
func sessionAttach(h int32, p unsafe.Pointer, n uint32) uint64 {
	return output(handles.Attach(h, input(p, n)))
}

//go:wasmexport session_invalidate
func sessionInvalidate(h int32) uint64 { return output(handles.Invalidate(h)) }

//go:wasmexport session_cancel
func sessionCancel(h int32) uint64 { return output(handles.Cancel(h)) }

//go:wasmexport session_free
func sessionFree(h int32) uint64 { return output(handles.Free(h)) }

// hostFetch sends a wire-format request and answers the length of the
// wire-format response the host now holds, or a negative value when it could
// not produce one. The host must not call back into the module meanwhile.
//
//go:wasmimport tokensmith fetch
func hostFetch(req unsafe.Pointer, n uint32) int32

// hostFetchRead copies the held response into p (at most n bytes), forgets
// it, and answers the number of bytes copied.
//
//go:wasmimport tokensmith fetch_read
func hostFetchRead(p unsafe.Pointer, n uint32) int32

// session_acquire runs next → fetch → feed until the session answers with a
// token, an error or pending, for hosts that can block in an import. Every
// step uses the same now: the expiry is then computed from the moment before
// the request left, which errs on the early side.
//
//go:wasmexport session_acquire
func sessionAcquire(h int32, now int64) uint64 {
	s := handles.Session(h)
	if s == nil {
		return output(handles.Next(h, now)) // the usual "no such session"
	}
	st := s.Next(now)
	for i := 0; st.Kind == core.StepRequest; i++ {
		if i == maxRounds {
			s.Cancel()
			e := core.Error{Code: core.CodeUsage, Message: "acquire: too many round trips"}
			return output(e.MarshalWire())
		}
		st = s.Feed(now, fetch(&st.Request))
	}
	return output(st.AppendWire(nil))
}

func fetch(r *core.Request) core.Response {
	req := r.MarshalWire()
	n := hostFetch(unsafe.Pointer(&req[0]), uint32(len(req)))
	if n < 0 {
		return core.Response{Err: &core.Error{Code: core.CodeNetwork, Message: "host fetch failed"}}
	}
	buf := make([]byte, n+1) // never empty, so &buf[0] is valid
	got := hostFetchRead(unsafe.Pointer(&buf[0]), uint32(n))
	if got < 0 || got > n {
		return core.Response{Err: &core.Error{Code: core.CodeNetwork, Message: "host fetch_read failed"}}
	}
	resp, err := core.ParseResponse(buf[:got])
	if err != nil {
		return core.Response{Err: &core.Error{Code: core.CodeNetwork, Message: "host answered an unreadable response"}}
	}
	return resp
}
