// Package wasmrun runs the tokensmith WebAssembly module (ABI v2,
// wasm/ABI.md) in wazero: one compiled Runtime, and Instances made from it,
// each one Go runtime with its own session table. It is the minimal host the
// conformance tests compare with the native core, and the base the Go
// host's instance pool is built on.
//
// An Instance is one module instance and is not safe for concurrent use:
// the Go runtime inside would corrupt its stack if two calls interleaved.
// Callers serialise (a pool hands an instance to one caller at a time).
//
// Every failure of the instance itself (a trap, an out-of-bounds output, an
// output that is not JSON) is a *TrapError and marks the instance dead: a Go
// module that trapped may keep answering, but its state is undefined, so
// every later call fails with ErrDead and the caller makes a new instance
// (restoring its stored tokens into it). Nothing here panics.
package wasmrun

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ABIVersion is the only module ABI this package speaks.
const ABIVersion = 2

// DefaultMemoryLimitPages bounds an instance's linear memory: 1024 pages of
// 64 KiB = 64 MiB. An instance needs about 5 MiB; the limit turns a runaway
// allocation into a trap of that instance instead of the host's memory.
const DefaultMemoryLimitPages = 1024

// maxInput mirrors the module's buf_alloc limit (16 MiB): a larger input is
// refused here, without a call.
const maxInput = 16 << 20

// exports the module must have, in the order of the fn* indices.
var exports = [...]string{
	"buf_alloc", "buf_free", "out_ptr", "session_new", "session_next", "session_feed", "session_restore",
	"session_token", "session_attach", "session_invalidate", "session_refused", "session_redact",
	"session_cancel", "session_free",
}

const (
	fnAlloc = iota
	fnFree
	fnOutPtr
	fnNew
	fnNext
	fnFeed
	fnRestore
	fnToken
	fnAttach
	fnInvalidate
	fnRefused
	fnRedact
	fnCancel
	fnSessionFree
)

// Config tunes NewRuntime. The zero value is usable.
type Config struct {
	Cache            wazero.CompilationCache // nil: compile in memory
	MemoryLimitPages uint32                  // 0: DefaultMemoryLimitPages
}

// Runtime is a wazero runtime with the module compiled once.
type Runtime struct {
	rt wazero.Runtime
	cm wazero.CompiledModule
}

// NewRuntime compiles module (wasm.Module in production).
func NewRuntime(ctx context.Context, module []byte, c Config) (*Runtime, error) {
	limit := c.MemoryLimitPages
	if limit == 0 {
		limit = DefaultMemoryLimitPages
	}
	// No WithCloseOnContextDone: no export waits on anything (the module
	// has no imports that block), so a call cannot hang, and the check it
	// adds cost about 30 µs per call on this project's machine.
	cfg := wazero.NewRuntimeConfig().WithMemoryLimitPages(limit)
	if c.Cache != nil {
		cfg = cfg.WithCompilationCache(c.Cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, errors.New("wasmrun: WASI: " + err.Error())
	}
	cm, err := rt.CompileModule(ctx, module)
	if err != nil {
		_ = rt.Close(ctx)
		return nil, errors.New("wasmrun: compile: " + err.Error())
	}
	for _, imp := range cm.ImportedFunctions() {
		if mod, name, _ := imp.Import(); mod != wasi_snapshot_preview1.ModuleName {
			_ = rt.Close(ctx)
			return nil, errors.New("wasmrun: the module imports " + mod + "." + name + ": not an ABI v2 module")
		}
	}
	return &Runtime{rt: rt, cm: cm}, nil
}

// Close releases the runtime and every instance made from it.
func (r *Runtime) Close(ctx context.Context) error { return r.rt.Close(ctx) }

// Instance is one instantiated module. Not safe for concurrent use.
type Instance struct {
	mod   api.Module
	mem   api.Memory
	fn    [len(exports)]api.Function
	stack [4]uint64
	inPtr uint32 // kept input buffer from buf_alloc
	inCap uint32
	dead  bool
}

// keptInput is the largest input buffer kept between calls.
const keptInput = 64 << 10

// ErrDead is returned by every call into an instance that failed before.
var ErrDead = errors.New("wasmrun: the instance failed earlier; make a new one")

// TrapError is a failure of the instance itself: it is dead afterwards.
type TrapError struct {
	Export string // the export that failed
	Reason string // what happened, without any input or output bytes
}

func (e *TrapError) Error() string { return "wasmrun: " + e.Export + ": " + e.Reason }

// Is makes errors.Is(err, ErrDead) true for a trap: the instance is dead.
func (e *TrapError) Is(target error) bool { return target == ErrDead }

// Instantiate makes a new instance, runs _initialize and checks the ABI.
func (r *Runtime) Instantiate(ctx context.Context) (*Instance, error) {
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances per runtime
		WithStartFunctions("_initialize").
		WithSysWalltime().WithSysNanotime().
		WithRandSource(rand.Reader)
	mod, err := r.rt.InstantiateModule(ctx, r.cm, cfg)
	if err != nil {
		return nil, errors.New("wasmrun: instantiate: " + err.Error())
	}
	in := &Instance{mod: mod, mem: mod.Memory()}
	if err := in.check(ctx); err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	return in, nil
}

// check refuses a module that is not ours or speaks another ABI: calling an
// export with the wrong signature or buffer protocol would corrupt memory
// silently instead of failing.
func (in *Instance) check(ctx context.Context) error {
	v := in.mod.ExportedFunction("abi_version")
	if v == nil {
		return errors.New("wasmrun: not a tokensmith module (no abi_version export)")
	}
	res, err := v.Call(ctx)
	if err != nil || len(res) != 1 {
		return errors.New("wasmrun: abi_version failed")
	}
	if got := int32(uint32(res[0])); got != ABIVersion {
		return errors.New("wasmrun: the module speaks ABI version " + strconv.Itoa(int(got)) +
			", this host speaks " + strconv.Itoa(ABIVersion) + ": use the tokensmith.wasm of the same release")
	}
	if in.mem == nil {
		return errors.New("wasmrun: the module exports no memory")
	}
	for i, name := range exports {
		if in.fn[i] = in.mod.ExportedFunction(name); in.fn[i] == nil {
			return errors.New("wasmrun: the module lacks the " + name + " export of ABI version 2")
		}
	}
	return nil
}

// Dead reports whether the instance failed and must be discarded.
func (in *Instance) Dead() bool { return in.dead }

// Close releases the instance.
func (in *Instance) Close(ctx context.Context) error { return in.mod.Close(ctx) }

func (in *Instance) trap(fn int, reason string) error {
	in.dead = true
	return &TrapError{Export: exports[fn], Reason: reason}
}

// raw calls export fn with in.stack as parameters and results.
func (in *Instance) raw(ctx context.Context, fn int) error {
	if in.dead {
		return ErrDead
	}
	if err := in.fn[fn].CallWithStack(ctx, in.stack[:]); err != nil {
		if ctx.Err() != nil {
			return in.trap(fn, "cancelled: "+ctx.Err().Error())
		}
		return in.trap(fn, "trapped (the module's traceback went to its fd 2)")
	}
	return nil
}

// call runs a session_* export and copies its output out of guest memory
// (the guest's buffer is valid only until the next call). The output must
// be JSON: the ABI promises it, and a host must never act on garbage.
func (in *Instance) call(ctx context.Context, fn int, params ...uint64) ([]byte, error) {
	copy(in.stack[:], params)
	if err := in.raw(ctx, fn); err != nil {
		return nil, err
	}
	n := uint32(in.stack[0])
	if err := in.raw(ctx, fnOutPtr); err != nil {
		return nil, err
	}
	ptr := uint32(in.stack[0])
	out, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, in.trap(fn, "output out of bounds")
	}
	if !json.Valid(out) {
		return nil, in.trap(fn, "output is not JSON")
	}
	return bytes.Clone(out), nil
}

// ErrInputTooLarge is returned, without calling the module, for an input
// above the module's 16 MiB buffer limit. The instance stays usable.
var ErrInputTooLarge = errors.New("wasmrun: input larger than 16 MiB")

// input copies data into a guest buffer from buf_alloc.
func (in *Instance) input(ctx context.Context, data []byte) (ptr, n uint32, err error) {
	if len(data) > maxInput {
		return 0, 0, ErrInputTooLarge
	}
	n = uint32(len(data))
	if n > in.inCap || in.inPtr == 0 {
		if err := in.dropInput(ctx); err != nil {
			return 0, 0, err
		}
		size := max(n, 4096)
		in.stack[0] = api.EncodeI32(int32(size))
		if err := in.raw(ctx, fnAlloc); err != nil {
			return 0, 0, err
		}
		if in.stack[0] == 0 {
			return 0, 0, ErrInputTooLarge
		}
		in.inPtr, in.inCap = uint32(in.stack[0]), size
	}
	if !in.mem.Write(in.inPtr, data) {
		return 0, 0, in.trap(fnAlloc, "input buffer out of bounds")
	}
	return in.inPtr, n, nil
}

// after drops a large input buffer so one big body does not pin memory.
func (in *Instance) after(ctx context.Context) {
	if in.inCap > keptInput {
		_ = in.dropInput(ctx)
	}
}

func (in *Instance) dropInput(ctx context.Context) error {
	if in.inPtr == 0 {
		return nil
	}
	in.stack[0] = uint64(in.inPtr)
	in.inPtr, in.inCap = 0, 0
	return in.raw(ctx, fnFree)
}

func (in *Instance) withInput(ctx context.Context, fn int, data []byte, params ...uint64) ([]byte, error) {
	ptr, n, err := in.input(ctx, data)
	if err != nil {
		return nil, err
	}
	defer in.after(ctx)
	var p [4]uint64
	k := copy(p[:], params)
	p[k], p[k+1] = uint64(ptr), uint64(n)
	return in.call(ctx, fn, p[:k+2]...)
}

func i32(h int32) uint64 { return api.EncodeI32(h) }

// nowParam is the f64 unix-ms parameter of ABI v2.
func nowParam(nowMs int64) uint64 { return api.EncodeF64(float64(nowMs)) }

// New creates a session; h is 0 when out is an error.
func (in *Instance) New(ctx context.Context, config, options []byte) (h int32, out []byte, err error) {
	cp, cn, err := in.input(ctx, config)
	if err != nil {
		return 0, nil, err
	}
	// Both inputs need a buffer: the options go in a second one.
	op, on, err := in.second(ctx, options)
	if err != nil {
		return 0, nil, err
	}
	out, err = in.call(ctx, fnNew, uint64(cp), uint64(cn), uint64(op), uint64(on))
	in.freeSecond(ctx, op)
	in.after(ctx)
	if err != nil {
		return 0, nil, err
	}
	return SessionOf(out), out, nil
}

// second allocates a one-off buffer for a second input.
func (in *Instance) second(ctx context.Context, data []byte) (ptr, n uint32, err error) {
	if len(data) == 0 {
		return 0, 0, nil
	}
	if len(data) > maxInput {
		return 0, 0, ErrInputTooLarge
	}
	in.stack[0] = api.EncodeI32(int32(len(data)))
	if err := in.raw(ctx, fnAlloc); err != nil {
		return 0, 0, err
	}
	if in.stack[0] == 0 {
		return 0, 0, ErrInputTooLarge
	}
	ptr = uint32(in.stack[0])
	if !in.mem.Write(ptr, data) {
		return 0, 0, in.trap(fnAlloc, "input buffer out of bounds")
	}
	return ptr, uint32(len(data)), nil
}

func (in *Instance) freeSecond(ctx context.Context, ptr uint32) {
	if ptr != 0 && !in.dead {
		in.stack[0] = uint64(ptr)
		_ = in.raw(ctx, fnFree)
	}
}

// SessionOf reads the handle out of {"session":N}; 0 for anything else.
func SessionOf(out []byte) int32 {
	const prefix = `{"session":`
	if !bytes.HasPrefix(out, []byte(prefix)) || !bytes.HasSuffix(out, []byte("}")) {
		return 0
	}
	h, err := strconv.ParseInt(string(out[len(prefix):len(out)-1]), 10, 32)
	if err != nil || h <= 0 {
		return 0
	}
	return int32(h)
}

// Next is session_next.
func (in *Instance) Next(ctx context.Context, h int32, nowMs int64) ([]byte, error) {
	return in.call(ctx, fnNext, i32(h), nowParam(nowMs))
}

// Feed is session_feed with one input ({"response"|"lease"|"commit"|"release":…}).
func (in *Instance) Feed(ctx context.Context, h int32, nowMs int64, input []byte) ([]byte, error) {
	return in.withInput(ctx, fnFeed, input, i32(h), nowParam(nowMs))
}

// Restore is session_restore.
func (in *Instance) Restore(ctx context.Context, h int32, tok []byte) ([]byte, error) {
	return in.withInput(ctx, fnRestore, tok, i32(h))
}

// Token is session_token.
func (in *Instance) Token(ctx context.Context, h int32) ([]byte, error) {
	return in.call(ctx, fnToken, i32(h))
}

// Attach is session_attach.
func (in *Instance) Attach(ctx context.Context, h int32, req []byte) ([]byte, error) {
	return in.withInput(ctx, fnAttach, req, i32(h))
}

// Invalidate is session_invalidate ({"access_token":"…"}).
func (in *Instance) Invalidate(ctx context.Context, h int32, input []byte) ([]byte, error) {
	return in.withInput(ctx, fnInvalidate, input, i32(h))
}

// Refused is session_refused (a wire response).
func (in *Instance) Refused(ctx context.Context, h int32, resp []byte) ([]byte, error) {
	return in.withInput(ctx, fnRefused, resp, i32(h))
}

// Redact is session_redact (raw text).
func (in *Instance) Redact(ctx context.Context, h int32, text []byte) ([]byte, error) {
	return in.withInput(ctx, fnRedact, text, i32(h))
}

// Cancel is session_cancel.
func (in *Instance) Cancel(ctx context.Context, h int32) ([]byte, error) {
	return in.call(ctx, fnCancel, i32(h))
}

// Free is session_free.
func (in *Instance) Free(ctx context.Context, h int32) ([]byte, error) {
	return in.call(ctx, fnSessionFree, i32(h))
}
