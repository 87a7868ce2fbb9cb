package hostshim

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/tokensmith/tokensmith/core"
)

// wasmBinary is the core built by `make wasm` (see wasm/ABI.md). It is
// committed so that `go get` users need no WebAssembly toolchain step;
// TestWASMModuleIsFresh fails when it no longer matches the sources.
//
//go:embed tokensmith.wasm
var wasmBinary []byte

// WASMABIVersion is the only module ABI this host speaks (wasm/ABI.md).
const WASMABIVersion = 1

// wasmPoolSize bounds the instances the WASM runtime keeps. Each costs about
// 4.5 MB; sessions are spread over them and calls into one are serialised.
const wasmPoolSize = 4

// wasmExports are the functions an instance must export besides abi_version.
var wasmExports = [...]string{
	"buf_alloc", "buf_free", "session_new", "session_next", "session_feed", "session_restore",
	"session_token", "session_attach", "session_invalidate", "session_cancel", "session_free",
	"session_acquire",
}

const (
	fnAlloc = iota
	fnFree
	fnNew
	fnNext
	fnFeed
	fnRestore
	fnToken
	fnAttach
	fnInvalidate
	fnCancel
	fnSessionFree
	fnAcquire
)

// wasmRuntime is one wazero runtime with the module compiled once; every
// instance is made from it.
type wasmRuntime struct {
	rt wazero.Runtime
	cm wazero.CompiledModule
}

var (
	wasmRTOnce sync.Once
	wasmRT     *wasmRuntime
	wasmRTErr  error
)

// sharedWASM compiles the embedded module once per process. The first call
// costs ~0.5 s without a warm on-disk cache, ~30 ms with one.
func sharedWASM() (*wasmRuntime, error) {
	wasmRTOnce.Do(func() {
		ctx := context.Background()
		wasmRT, wasmRTErr = newWASMRuntime(ctx, wasmBinary, wasmCache())
		if wasmRTErr != nil {
			// A full or read-only cache directory fails the compile itself;
			// compiling without it still works.
			wasmRT, wasmRTErr = newWASMRuntime(ctx, wasmBinary, nil)
		}
	})
	return wasmRT, wasmRTErr
}

// wasmCache keeps compiled code under the user cache directory so later
// processes skip the compiler; any problem there falls back to memory.
func wasmCache() wazero.CompilationCache {
	if dir, err := os.UserCacheDir(); err == nil {
		if c, err := wazero.NewCompilationCacheWithDir(filepath.Join(dir, "tokensmith", "wazero")); err == nil {
			return c
		}
	}
	return wazero.NewCompilationCache()
}

func newWASMRuntime(ctx context.Context, bin []byte, cache wazero.CompilationCache) (*wasmRuntime, error) {
	cfg := wazero.NewRuntimeConfig()
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	fail := func(what string, err error) (*wasmRuntime, error) {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("hostshim: wasm: %s: %w", what, err)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail("WASI", err)
	}
	i32 := api.ValueTypeI32
	_, err := rt.NewHostModuleBuilder("tokensmith").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(wasmHostFetch), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("req_ptr", "req_len").Export("fetch").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(wasmHostFetchRead), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "len").Export("fetch_read").
		Instantiate(ctx)
	if err != nil {
		return fail("tokensmith host module", err)
	}
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return fail("compile", err)
	}
	return &wasmRuntime{rt: rt, cm: cm}, nil
}

func (r *wasmRuntime) close(ctx context.Context) error { return r.rt.Close(ctx) }

// wasmInstance is one instantiated module: one Go runtime with its own
// session table. wazero functions are not safe for concurrent calls, and Go
// would corrupt its stack if two calls interleaved, so mu serialises every
// call.
type wasmInstance struct {
	mu       sync.Mutex
	mod      api.Module
	mem      api.Memory
	fn       [len(wasmExports)]api.Function
	stack    [4]uint64
	inPtr    uint32 // reusable input buffer in guest memory, from buf_alloc
	inCap    uint32
	broken   atomic.Bool // a call trapped: the Go runtime inside is gone
	sessions int         // live sessions, guarded by the pool's mutex
}

// wasmMaxKeptInput is the largest input buffer kept between calls; a 1 MiB
// response body is rare and should not pin a megabyte per instance.
const wasmMaxKeptInput = 64 << 10

func (r *wasmRuntime) instantiate(ctx context.Context) (*wasmInstance, error) {
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances per runtime
		WithStartFunctions("_initialize").
		WithSysWalltime().WithSysNanotime().
		WithRandSource(rand.Reader)
	mod, err := r.rt.InstantiateModule(ctx, r.cm, cfg)
	if err != nil {
		return nil, fmt.Errorf("hostshim: wasm: instantiate: %w", err)
	}
	in := &wasmInstance{mod: mod, mem: mod.Memory()}
	if err := in.check(ctx); err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	return in, nil
}

// check refuses a module that is not ours or speaks another ABI: calling an
// export with the wrong signature or buffer protocol would corrupt memory
// silently instead of failing.
func (in *wasmInstance) check(ctx context.Context) error {
	v := in.mod.ExportedFunction("abi_version")
	if v == nil {
		return errors.New("hostshim: wasm: not a tokensmith module (no abi_version export)")
	}
	res, err := v.Call(ctx)
	if err != nil || len(res) != 1 {
		return fmt.Errorf("hostshim: wasm: abi_version failed: %v", err)
	}
	if got := uint32(res[0]); got != WASMABIVersion {
		return fmt.Errorf("hostshim: wasm: module speaks ABI version %d, this host speaks %d: "+
			"use the tokensmith.wasm built from the same tokensmith release (make wasm)", got, WASMABIVersion)
	}
	if in.mem == nil {
		return errors.New("hostshim: wasm: module exports no memory")
	}
	for i, name := range wasmExports {
		if in.fn[i] = in.mod.ExportedFunction(name); in.fn[i] == nil {
			return fmt.Errorf("hostshim: wasm: module lacks the %s export of ABI version %d", name, WASMABIVersion)
		}
	}
	return nil
}

func (in *wasmInstance) close(ctx context.Context) error { return in.mod.Close(ctx) }

// call runs export fn with params and copies its output out of guest memory.
// The output buffer belongs to the guest and is only valid until the next
// call, hence the copy. in.mu must be held.
func (in *wasmInstance) call(ctx context.Context, fn int, params ...uint64) ([]byte, error) {
	if in.broken.Load() {
		return nil, errWASMBroken
	}
	st := in.stack[:]
	copy(st, params)
	if err := in.fn[fn].CallWithStack(ctx, st); err != nil {
		in.broken.Store(true)
		return nil, fmt.Errorf("hostshim: wasm: %s: %w", wasmExports[fn], err)
	}
	ptr, n := uint32(st[0]>>32), uint32(st[0])
	out, ok := in.mem.Read(ptr, n)
	if !ok {
		in.broken.Store(true)
		return nil, fmt.Errorf("hostshim: wasm: %s answered out-of-bounds output", wasmExports[fn])
	}
	return bytes.Clone(out), nil
}

var errWASMBroken = errors.New("hostshim: wasm: the instance failed earlier and holds no sessions any more")

// input copies data into the guest's input buffer, growing it as needed.
// in.mu must be held.
func (in *wasmInstance) input(ctx context.Context, data []byte) (ptr, n uint32, err error) {
	n = uint32(len(data))
	if n > in.inCap || in.inPtr == 0 {
		if err := in.dropInput(ctx); err != nil {
			return 0, 0, err
		}
		size := max(n, 4096)
		in.stack[0] = uint64(size)
		if err := in.callRaw(ctx, fnAlloc); err != nil {
			return 0, 0, err
		}
		in.inPtr, in.inCap = uint32(in.stack[0]), size
	}
	if !in.mem.Write(in.inPtr, data) {
		in.broken.Store(true)
		return 0, 0, errors.New("hostshim: wasm: input buffer out of bounds")
	}
	return in.inPtr, n, nil
}

// release frees an oversized input buffer after the call that needed it.
func (in *wasmInstance) release(ctx context.Context) {
	if in.inCap > wasmMaxKeptInput {
		_ = in.dropInput(ctx)
	}
}

func (in *wasmInstance) dropInput(ctx context.Context) error {
	if in.inPtr == 0 {
		return nil
	}
	in.stack[0] = uint64(in.inPtr)
	in.inPtr, in.inCap = 0, 0
	return in.callRaw(ctx, fnFree)
}

func (in *wasmInstance) callRaw(ctx context.Context, fn int) error {
	if in.broken.Load() {
		return errWASMBroken
	}
	if err := in.fn[fn].CallWithStack(ctx, in.stack[:]); err != nil {
		in.broken.Store(true)
		return fmt.Errorf("hostshim: wasm: %s: %w", wasmExports[fn], err)
	}
	return nil
}

// Typed entry points. Each takes in.mu.

func (in *wasmInstance) newSession(ctx context.Context, cfg []byte) (int32, []byte, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	ptr, n, err := in.input(ctx, cfg)
	if err != nil {
		return 0, nil, err
	}
	defer in.release(ctx)
	out, err := in.call(ctx, fnNew, uint64(ptr), uint64(n))
	if err != nil {
		return 0, nil, err
	}
	return wasmSessionOf(out), out, nil
}

// wasmSessionOf reads the handle from {"session":N}; 0 means creation failed.
func wasmSessionOf(out []byte) int32 {
	const prefix = `{"session":`
	if !bytes.HasPrefix(out, []byte(prefix)) || !bytes.HasSuffix(out, []byte("}")) {
		return 0
	}
	h, err := strconv.ParseInt(string(out[len(prefix):len(out)-1]), 10, 32)
	if err != nil {
		return 0
	}
	return int32(h)
}

// withHandle runs an export taking (h) or (h, now).
func (in *wasmInstance) withHandle(ctx context.Context, fn int, params ...uint64) ([]byte, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.call(ctx, fn, params...)
}

// withInput runs an export taking (h, [now,] ptr, len).
func (in *wasmInstance) withInput(ctx context.Context, fn int, data []byte, params ...uint64) ([]byte, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	ptr, n, err := in.input(ctx, data)
	if err != nil {
		return nil, err
	}
	defer in.release(ctx)
	var p [4]uint64
	k := copy(p[:], params)
	p[k], p[k+1] = uint64(ptr), uint64(n)
	return in.call(ctx, fn, p[:k+2]...)
}

func (in *wasmInstance) next(ctx context.Context, h int32, now int64) ([]byte, error) {
	return in.withHandle(ctx, fnNext, api.EncodeI32(h), api.EncodeI64(now))
}

func (in *wasmInstance) feed(ctx context.Context, h int32, now int64, resp []byte) ([]byte, error) {
	return in.withInput(ctx, fnFeed, resp, api.EncodeI32(h), api.EncodeI64(now))
}

func (in *wasmInstance) restore(ctx context.Context, h int32, tok []byte) ([]byte, error) {
	return in.withInput(ctx, fnRestore, tok, api.EncodeI32(h))
}

func (in *wasmInstance) attach(ctx context.Context, h int32, req []byte) ([]byte, error) {
	return in.withInput(ctx, fnAttach, req, api.EncodeI32(h))
}

// acquire runs the module's own next → fetch → feed loop; do answers its
// fetch imports.
func (in *wasmInstance) acquire(ctx context.Context, h int32, now int64, do wasmFetchFunc) ([]byte, error) {
	fc := &wasmFetchCall{do: do}
	ctx = context.WithValue(ctx, wasmFetchKey{}, fc)
	return in.withHandle(ctx, fnAcquire, api.EncodeI32(h), api.EncodeI64(now))
}

// wasmPool spreads sessions over a few instances, created on demand.
type wasmPool struct {
	rt    *wasmRuntime
	max   int
	mu    sync.Mutex
	insts []*wasmInstance
}

var (
	wasmPoolOnce   sync.Once
	wasmSharedPool *wasmPool
	wasmPoolErr    error
)

func sharedWASMPool() (*wasmPool, error) {
	wasmPoolOnce.Do(func() {
		var rt *wasmRuntime
		if rt, wasmPoolErr = sharedWASM(); wasmPoolErr == nil {
			wasmSharedPool = &wasmPool{rt: rt, max: wasmPoolSize}
		}
	})
	return wasmSharedPool, wasmPoolErr
}

// take returns the instance with the fewest sessions, instantiating a new
// one while the pool is below its size and every instance is in use.
func (p *wasmPool) take(ctx context.Context) (*wasmInstance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	live := p.insts[:0]
	for _, in := range p.insts {
		if in.broken.Load() && in.sessions == 0 {
			_ = in.close(ctx)
			continue
		}
		live = append(live, in)
	}
	p.insts = live
	var best *wasmInstance
	for _, in := range p.insts {
		if !in.broken.Load() && (best == nil || in.sessions < best.sessions) {
			best = in
		}
	}
	if best == nil || best.sessions > 0 && len(p.insts) < p.max {
		in, err := p.rt.instantiate(ctx)
		if err != nil {
			if best == nil {
				return nil, err
			}
		} else {
			p.insts = append(p.insts, in)
			best = in
		}
	}
	best.sessions++
	return best, nil
}

func (p *wasmPool) give(in *wasmInstance) {
	p.mu.Lock()
	in.sessions--
	p.mu.Unlock()
}

// wasmEngine is one core session inside a pooled instance.
type wasmEngine struct {
	pool *wasmPool
	in   *wasmInstance
	h    int32
}

func newWASMEngine(c core.Config) (engine, error) {
	p, err := sharedWASMPool()
	if err != nil {
		return nil, err
	}
	return p.newEngine(context.Background(), c)
}

func (p *wasmPool) newEngine(ctx context.Context, c core.Config) (*wasmEngine, error) {
	in, err := p.take(ctx)
	if err != nil {
		return nil, err
	}
	h, out, err := in.newSession(ctx, c.MarshalWire())
	if err == nil && h == 0 {
		err = wasmWireError(out)
	}
	if err != nil {
		p.give(in)
		return nil, err
	}
	return &wasmEngine{pool: p, in: in, h: h}, nil
}

// wasmWireError turns an {"error":…} output into the *core.Error it carries.
func wasmWireError(out []byte) error {
	e, err := core.ParseError(out)
	if err != nil {
		return fmt.Errorf("hostshim: wasm: unexpected output %.100q", out)
	}
	return e
}

// wasmOK maps {"ok":true} to nil and anything else to its error.
func wasmOK(out []byte, err error) error {
	if err != nil {
		return err
	}
	if string(out) == `{"ok":true}` {
		return nil
	}
	return wasmWireError(out)
}

func (e *wasmEngine) step(out []byte, err error) (core.Step, error) {
	if err != nil {
		return core.Step{}, err
	}
	return core.ParseStep(out)
}

func (e *wasmEngine) next(now int64) (core.Step, error) {
	return e.step(e.in.next(context.Background(), e.h, now))
}

func (e *wasmEngine) feed(now int64, r core.Response) (core.Step, error) {
	return e.step(e.in.feed(context.Background(), e.h, now, r.MarshalWire()))
}

func (e *wasmEngine) restore(t core.Token) error {
	return wasmOK(e.in.restore(context.Background(), e.h, t.MarshalWire()))
}

func (e *wasmEngine) invalidate() error {
	return wasmOK(e.in.withHandle(context.Background(), fnInvalidate, api.EncodeI32(e.h)))
}

func (e *wasmEngine) cancel() error {
	return wasmOK(e.in.withHandle(context.Background(), fnCancel, api.EncodeI32(e.h)))
}

func (e *wasmEngine) close() error {
	if e.in == nil {
		return nil
	}
	err := wasmOK(e.in.withHandle(context.Background(), fnSessionFree, api.EncodeI32(e.h)))
	e.pool.give(e.in)
	e.in = nil
	if errors.Is(err, errWASMBroken) {
		return nil // the session died with its instance
	}
	return err
}

// WASMHandles is the core running in a wazero instance of its own, behind
// the JSON wire format: it mirrors core.Handles method for method (and so
// satisfies internal/vectors.Engine), for conformance tests and for hosts
// that want the raw wire format. Safe for concurrent use; calls are
// serialised. Runtime failures come back as {"error":{"code":"usage",…}}.
type WASMHandles struct {
	in    *wasmInstance
	do    wasmFetchFunc
	retry RetryPolicy
	sleep func(context.Context, time.Duration) error
}

// NewWASMHandles instantiates the shared compiled module once more.
func NewWASMHandles(ctx context.Context) (*WASMHandles, error) {
	rt, err := sharedWASM()
	if err != nil {
		return nil, err
	}
	in, err := rt.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	return &WASMHandles{in: in, do: newHTTPDoer(nil, 0).do, retry: DefaultRetry.withDefaults(), sleep: sleepCtx}, nil
}

// Close releases the instance and every session in it.
func (w *WASMHandles) Close() error {
	w.in.mu.Lock()
	defer w.in.mu.Unlock()
	return w.in.close(context.Background())
}

func wasmFailure(err error) []byte {
	e := core.Error{Code: core.CodeUsage, Message: "wasm runtime failed: " + err.Error()}
	return e.MarshalWire()
}

func wasmWire(out []byte, err error) []byte {
	if err != nil {
		return wasmFailure(err)
	}
	return out
}

func (w *WASMHandles) New(config []byte) (int32, []byte) {
	h, out, err := w.in.newSession(context.Background(), config)
	if err != nil {
		return 0, wasmFailure(err)
	}
	return h, out
}

func (w *WASMHandles) Next(h int32, now int64) []byte {
	return wasmWire(w.in.next(context.Background(), h, now))
}

func (w *WASMHandles) Feed(h int32, now int64, resp []byte) []byte {
	return wasmWire(w.in.feed(context.Background(), h, now, resp))
}

func (w *WASMHandles) Restore(h int32, tok []byte) []byte {
	return wasmWire(w.in.restore(context.Background(), h, tok))
}

func (w *WASMHandles) Token(h int32) []byte {
	return wasmWire(w.in.withHandle(context.Background(), fnToken, api.EncodeI32(h)))
}

func (w *WASMHandles) Attach(h int32, req []byte) []byte {
	return wasmWire(w.in.attach(context.Background(), h, req))
}

func (w *WASMHandles) Invalidate(h int32) []byte {
	return wasmWire(w.in.withHandle(context.Background(), fnInvalidate, api.EncodeI32(h)))
}

func (w *WASMHandles) Cancel(h int32) []byte {
	return wasmWire(w.in.withHandle(context.Background(), fnCancel, api.EncodeI32(h)))
}

func (w *WASMHandles) Free(h int32) []byte {
	return wasmWire(w.in.withHandle(context.Background(), fnSessionFree, api.EncodeI32(h)))
}

// AcquireOnce runs next → request → feed inside the module until it answers
// a token, an error or pending, sending each request with net/http through
// the module's tokensmith.fetch import: one session_acquire call, as any
// synchronous host makes it. The error is non-nil only when the runtime
// failed or ctx ended (then any network error in the output is a
// consequence of ctx).
func (w *WASMHandles) AcquireOnce(ctx context.Context, h int32, now int64) ([]byte, error) {
	out, err := w.in.acquire(ctx, h, now, w.do)
	if err == nil {
		err = ctx.Err()
	}
	return out, err
}

// Acquire is AcquireOnce with the native Client's retry policy: an answer
// the core marks retryable (network, 5xx, 429) is tried again after a
// capped, jittered backoff that honours Retry-After, bounded in attempts and
// total time (DefaultRetry); any other answer returns at once. now advances
// by the time waited.
func (w *WASMHandles) Acquire(ctx context.Context, h int32, now int64) ([]byte, error) {
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		out, err := w.AcquireOnce(ctx, h, now+int64(waited/time.Second))
		if err != nil {
			return out, err
		}
		e, perr := core.ParseError(out)
		if perr != nil {
			return out, nil // a token or pending
		}
		d, ok := w.retry.delay(attempt, e, waited)
		if !ok {
			return out, nil
		}
		if err := w.sleep(ctx, d); err != nil {
			return out, err
		}
		waited += d
	}
}
