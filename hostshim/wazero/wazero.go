// Package wazero runs the tokensmith core as WebAssembly (wasm/tokensmith.wasm,
// ABI v2) inside wazero, as a hostshim.Runtime. It is opt-in: a program that
// does not import it links neither wazero nor the module.
//
//	import tswazero "github.com/tokensmith/tokensmith/hostshim/wazero"
//
//	c, err := hostshim.New(cfg, hostshim.WithRuntime(tswazero.Runtime()))
//
// The module is compiled once per process (the compiled code is cached on
// disk, under the user cache directory, so later processes skip the
// compiler) into a small pool of instances. Each session is pinned to one
// instance; an instance runs one call at a time; its linear memory is
// bounded. An instance that traps is discarded: each session that lived in
// it moves to a new instance and gets back the last token it served (a
// committed token), so a trap costs one failed call, not the Client.
//
// Every output of the module is parsed as JSON; every failure is a
// *core.Error. Nothing here panics on what the module answers.
package wazero

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/wasmrun"
	"github.com/tokensmith/tokensmith/wasm"
)

// Config tunes New. The zero value is the default.
type Config struct {
	// PoolSize bounds the instances kept (about 5 MB each); 0 = 4.
	PoolSize int
	// CacheDir keeps compiled code between processes; "" = the user cache
	// directory's tokensmith/wazero, "-" = compile in memory only.
	CacheDir string
	// MemoryLimitPages bounds each instance's memory in 64 KiB pages;
	// 0 = 1024 (64 MiB).
	MemoryLimitPages uint32
	// Module replaces the embedded module (tests: a module that traps).
	Module []byte
}

// DefaultPoolSize is the pool size of Runtime().
const DefaultPoolSize = 4

var shared = New(Config{})

// Runtime is the process-wide WebAssembly runtime with the default Config.
// The module is compiled at the first session, not before.
func Runtime() hostshim.Runtime { return shared }

// New returns a runtime of its own, with its own pool.
func New(c Config) hostshim.Runtime {
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.Module == nil {
		c.Module = wasm.Module
	}
	return &runtime{cfg: c}
}

// runtime is a compiled module and its pool of instances.
type runtime struct {
	cfg  Config
	once sync.Once
	rt   *wasmrun.Runtime
	err  error

	mu    sync.Mutex
	insts []*instance
}

// instance is one pooled module instance: one call at a time.
type instance struct {
	mu       sync.Mutex
	in       *wasmrun.Instance
	dead     atomic.Bool // it trapped: no new session goes there
	sessions int         // guarded by runtime.mu
}

func (r *runtime) String() string { return "wasm" }

// compile compiles the module once; a cache directory that cannot be used
// (read-only, full) falls back to compiling in memory.
func (r *runtime) compile() error {
	r.once.Do(func() {
		ctx := context.Background()
		cfg := wasmrun.Config{MemoryLimitPages: r.cfg.MemoryLimitPages}
		if cache := r.cache(); cache != nil {
			cfg.Cache = cache
			if r.rt, r.err = wasmrun.NewRuntime(ctx, r.cfg.Module, cfg); r.err == nil {
				return
			}
			cfg.Cache = nil
		}
		r.rt, r.err = wasmrun.NewRuntime(ctx, r.cfg.Module, cfg)
	})
	return r.err
}

func (r *runtime) cache() wazero.CompilationCache {
	dir := r.cfg.CacheDir
	if dir == "-" {
		return nil
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil
		}
		dir = filepath.Join(base, "tokensmith", "wazero")
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil
	}
	return c
}

// take returns the live instance with the fewest sessions, instantiating a
// new one while the pool is below its size and every instance is in use.
func (r *runtime) take(ctx context.Context) (*instance, error) {
	if err := r.compile(); err != nil {
		return nil, runtimeError("cannot compile the module", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	live := r.insts[:0]
	for _, in := range r.insts {
		if !in.dead.Load() {
			live = append(live, in)
		}
	}
	clear(r.insts[len(live):])
	r.insts = live
	var best *instance
	for _, in := range r.insts {
		if best == nil || in.sessions < best.sessions {
			best = in
		}
	}
	if best == nil || (best.sessions > 0 && len(r.insts) < r.cfg.PoolSize) {
		wi, err := r.rt.Instantiate(ctx)
		if err != nil {
			if best == nil {
				return nil, runtimeError("cannot instantiate the module", err)
			}
		} else {
			best = &instance{in: wi}
			r.insts = append(r.insts, best)
		}
	}
	best.sessions++
	return best, nil
}

// give ends a session's stay in an instance; a dead one is closed once no
// session is left in it.
func (r *runtime) give(in *instance) {
	r.mu.Lock()
	in.sessions--
	closeIt := in.sessions == 0 && in.dead.Load()
	r.mu.Unlock()
	if closeIt {
		in.mu.Lock()
		_ = in.in.Close(context.Background())
		in.mu.Unlock()
	}
}

func runtimeError(what string, err error) *core.Error {
	return &core.Error{Code: core.CodeUsage, Message: "wasm runtime: " + what + ": " + err.Error()}
}

// NewEngine implements hostshim.Runtime.
func (r *runtime) NewEngine(c core.Config, o core.Options) (hostshim.Engine, error) {
	e := &engine{rt: r, cfg: c.MarshalWire(), opts: o.MarshalWire()}
	if err := e.open(); err != nil {
		return nil, err
	}
	return e, nil
}

// engine is one session in a pooled instance. The Client serialises calls.
type engine struct {
	rt        *runtime
	cfg, opts []byte
	inst      *instance
	h         int32
	last      *core.Token // the last token step: committed, restored after a trap
	replaced  int         // instances lost to traps so far
}

// open creates the session in an instance from the pool, restoring the
// last token served when it replaces one lost with a trapped instance.
func (e *engine) open() error {
	ctx := context.Background()
	inst, err := e.rt.take(ctx)
	if err != nil {
		return err
	}
	inst.mu.Lock()
	h, out, err := inst.in.New(ctx, e.cfg, e.opts)
	if err == nil && h != 0 && e.last != nil {
		var rout []byte
		if rout, err = inst.in.Restore(ctx, h, e.last.MarshalWire()); err == nil {
			err = okOrError(rout)
		}
	}
	inst.mu.Unlock()
	if err == nil && h == 0 {
		err = wireError(out)
	}
	if err != nil {
		e.trapped(inst, err)
		e.rt.give(inst)
		return asCore(err)
	}
	e.inst, e.h = inst, h
	return nil
}

// trapped marks inst dead when err says the instance failed.
func (e *engine) trapped(inst *instance, err error) bool {
	if errors.Is(err, wasmrun.ErrDead) {
		inst.dead.Store(true)
		return true
	}
	return false
}

// call runs f in the session's instance. After a trap the session moves to
// a new instance (restoring the last token) and the call fails.
func (e *engine) call(f func(ctx context.Context, in *wasmrun.Instance, h int32) ([]byte, error)) ([]byte, error) {
	if e.inst == nil {
		if err := e.open(); err != nil {
			return nil, err
		}
	}
	ctx := context.Background()
	inst := e.inst
	inst.mu.Lock()
	out, err := f(ctx, inst.in, e.h)
	inst.mu.Unlock()
	if err == nil {
		return out, nil
	}
	if e.trapped(inst, err) {
		e.replaced++
		e.inst = nil
		e.rt.give(inst)
		if oerr := e.open(); oerr != nil {
			return nil, runtimeError("the instance failed and no new one could be made", oerr)
		}
		return nil, runtimeError("the instance failed (it was replaced; the stored token is kept)", err)
	}
	return nil, asCore(err)
}

// step parses a step output and remembers the token it serves.
func (e *engine) step(out []byte, err error) (core.Step, error) {
	if err != nil {
		return core.Step{}, err
	}
	st, perr := core.ParseStep(out)
	if perr != nil {
		return core.Step{}, asCore(perr)
	}
	if st.Kind == core.StepToken {
		t := st.Token
		e.last = &t
	}
	return st, nil
}

// again is call for the calls that hold no state a trap could lose (next,
// invalidate, cancel, redact): after a replacement they are asked again,
// once, of the new instance.
func (e *engine) again(f func(ctx context.Context, in *wasmrun.Instance, h int32) ([]byte, error)) ([]byte, error) {
	n := e.replaced
	out, err := e.call(f)
	if err != nil && e.replaced != n && e.inst != nil {
		out, err = e.call(f)
	}
	return out, err
}

func (e *engine) Next(nowMs int64) (core.Step, error) {
	return e.step(e.again(func(ctx context.Context, in *wasmrun.Instance, h int32) ([]byte, error) {
		return in.Next(ctx, h, nowMs)
	}))
}

func (e *engine) feed(nowMs int64, input []byte) (core.Step, error) {
	return e.step(e.call(func(ctx context.Context, in *wasmrun.Instance, h int32) ([]byte, error) {
		return in.Feed(ctx, h, nowMs, input)
	}))
}

func (e *engine) Feed(nowMs int64, r core.Response) (core.Step, error) {
	return e.feed(nowMs, r.MarshalInput())
}

func (e *engine) Leased(nowMs int64, r core.LeaseResult) (core.Step, error) {
	return e.feed(nowMs, r.MarshalWire())
}

func (e *engine) Committed(nowMs int64, r core.CommitResult) (core.Step, error) {
	return e.feed(nowMs, r.MarshalWire())
}

func (e *engine) Released(nowMs int64) (core.Step, error) {
	return e.feed(nowMs, core.ReleaseInput)
}

func (e *engine) Invalidate(accessToken string) (bool, error) {
	in, _ := json.Marshal(struct {
		AccessToken string `json:"access_token"`
	}{accessToken})
	out, err := e.again(func(ctx context.Context, wi *wasmrun.Instance, h int32) ([]byte, error) {
		return wi.Invalidate(ctx, h, in)
	})
	if err != nil {
		return false, err
	}
	var a struct {
		OK      bool `json:"ok"`
		Dropped bool `json:"dropped"`
	}
	if json.Unmarshal(out, &a) != nil || !a.OK {
		return false, wireError(out)
	}
	if a.Dropped && e.last != nil && e.last.AccessToken == accessToken {
		e.last = nil // never restore a token the API refused
	}
	return a.Dropped, nil
}

func (e *engine) Cancel() (bool, error) {
	out, err := e.again(func(ctx context.Context, in *wasmrun.Instance, h int32) ([]byte, error) {
		return in.Cancel(ctx, h)
	})
	if err != nil {
		return false, err
	}
	var a struct {
		OK      bool `json:"ok"`
		Release bool `json:"release"`
	}
	if json.Unmarshal(out, &a) != nil || !a.OK {
		return false, wireError(out)
	}
	return a.Release, nil
}

// withheld replaces text the module could not redact: unredacted host text
// (it may quote a secret) is never handed back.
const withheld = "(text withheld: the wasm runtime could not redact it)"

func (e *engine) Redact(text string) string {
	out, err := e.again(func(ctx context.Context, in *wasmrun.Instance, h int32) ([]byte, error) {
		return in.Redact(ctx, h, []byte(text))
	})
	if err != nil {
		return withheld
	}
	var a struct {
		Text *string `json:"text"`
	}
	if json.Unmarshal(out, &a) != nil || a.Text == nil {
		return withheld
	}
	return *a.Text
}

func (e *engine) Close() error {
	inst := e.inst
	if inst == nil {
		return nil
	}
	e.inst = nil
	inst.mu.Lock()
	out, err := inst.in.Free(context.Background(), e.h)
	inst.mu.Unlock()
	e.trapped(inst, err)
	e.rt.give(inst)
	if errors.Is(err, wasmrun.ErrDead) {
		return nil // the session died with its instance
	}
	if err != nil {
		return asCore(err)
	}
	return okOrError(out)
}

// okOrError maps {"ok":true} to nil and anything else to its error.
func okOrError(out []byte) error {
	var a struct {
		OK bool `json:"ok"`
	}
	if json.Unmarshal(out, &a) == nil && a.OK {
		return nil
	}
	return wireError(out)
}

// wireError is the *core.Error an {"error":…} output carries, or a usage
// error for an output that is not one.
func wireError(out []byte) *core.Error {
	if e, err := core.ParseError(out); err == nil && e != nil {
		return e
	}
	return &core.Error{Code: core.CodeUsage, Message: "wasm runtime: unexpected output from the module"}
}

func asCore(err error) *core.Error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce
	}
	return runtimeError("call failed", err)
}
