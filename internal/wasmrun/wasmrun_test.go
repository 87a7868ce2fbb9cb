package wasmrun

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/vectors"
	"github.com/tokensmith/tokensmith/wasm"
)

var (
	rtOnce sync.Once
	rt     *Runtime
	rtErr  error
	// cache shares compiled code between the tests' runtimes: compiling the
	// module takes seconds under the race detector.
	cache = wazero.NewCompilationCache()
)

func testRuntime(t testing.TB) *Runtime {
	t.Helper()
	rtOnce.Do(func() { rt, rtErr = NewRuntime(context.Background(), wasm.Module, Config{Cache: cache}) })
	require.NoError(t, rtErr)
	return rt
}

// TestVectorsNativeAndWASM runs every conformance vector on the native core
// and on a wazero instance, and requires both to pass and to produce
// byte-identical transcripts. One native table and one instance serve the
// whole run (an instance costs seconds under the race detector): both see the
// same sequence of calls, so session numbers agree too.
func TestVectorsNativeAndWASM(t *testing.T) {
	r := testRuntime(t)
	dir, err := vectors.Dir()
	require.NoError(t, err)
	vs, err := vectors.Load(dir)
	require.NoError(t, err)
	require.NotEmpty(t, vs)
	ctx := context.Background()
	in, err := r.Instantiate(ctx)
	require.NoError(t, err)
	defer in.Close(ctx)
	e := &Engine{In: in}
	nat := &core.Handles{}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			native := vectors.Run(nat, v)
			wasmRes := vectors.Run(e, v)
			require.NoError(t, e.Err, "the instance failed; later vectors cannot run")
			assert.Empty(t, native.Failures, "native")
			assert.Empty(t, wasmRes.Failures, "wasm")
			require.Equal(t, len(native.Transcript), len(wasmRes.Transcript), "transcript lengths")
			for i := range native.Transcript {
				if !bytes.Equal(native.Transcript[i], wasmRes.Transcript[i]) {
					t.Fatalf("output %d differs:\nnative: %.400s\nwasm:   %.400s", i, native.Transcript[i], wasmRes.Transcript[i])
				}
			}
		})
	}
}

func TestBufAllocRefusesHugeLengths(t *testing.T) {
	in, err := testRuntime(t).Instantiate(context.Background())
	require.NoError(t, err)
	defer in.Close(context.Background())
	for _, n := range []int32{-1, 16<<20 + 1, 0x7FFFFFFF} {
		in.stack[0] = uint64(uint32(n))
		require.NoError(t, in.raw(context.Background(), fnAlloc))
		assert.Zero(t, in.stack[0], "buf_alloc(%d) answers 0", n)
	}
	assert.False(t, in.Dead(), "a refused buf_alloc is not a trap")
	_, err = in.Feed(context.Background(), 1, core.MinNowMs, make([]byte, 16<<20+1))
	assert.ErrorIs(t, err, ErrInputTooLarge)
	assert.False(t, in.Dead())
}

// TestInputOutsideBuffersIsRefused passes pointers and lengths the host
// never got from buf_alloc: the guest answers a usage error, never reads
// past a buffer, never traps.
func TestInputOutsideBuffersIsRefused(t *testing.T) {
	ctx := context.Background()
	in, err := testRuntime(t).Instantiate(ctx)
	require.NoError(t, err)
	defer in.Close(ctx)
	ptr, _, err := in.input(ctx, []byte(`{}`))
	require.NoError(t, err)
	for _, c := range []struct{ p, n uint32 }{{ptr, 4097}, {ptr + 1, 2}, {8, 100}, {0xFFFFFFF0, 0x7FFFFFFF}, {ptr, 0x80000000}} {
		out, err := in.call(ctx, fnRestore, i32(1), uint64(c.p), uint64(c.n))
		require.NoError(t, err)
		assert.Contains(t, string(out), `"code":"usage"`)
	}
	assert.False(t, in.Dead())
}

// TestTrapMarksTheInstanceDead makes the guest run out of memory under a
// small memory limit: the call fails with a *TrapError, and every later
// call with ErrDead, without a panic.
func TestTrapMarksTheInstanceDead(t *testing.T) {
	ctx := context.Background()
	small, err := NewRuntime(ctx, wasm.Module, Config{MemoryLimitPages: 80, Cache: cache}) // 5 MiB
	require.NoError(t, err)
	defer small.Close(ctx)
	in, err := small.Instantiate(ctx)
	require.NoError(t, err)
	var trap error
	for i := 0; i < 8 && trap == nil; i++ {
		_, _, trap = in.New(ctx, bytes.Repeat([]byte(" "), 4<<20), nil)
		if errors.Is(trap, ErrInputTooLarge) {
			trap = nil // buf_alloc refused: not the trap we want yet
		}
	}
	var te *TrapError
	require.ErrorAs(t, trap, &te)
	assert.True(t, in.Dead())
	_, err = in.Next(ctx, 1, core.MinNowMs)
	assert.ErrorIs(t, err, ErrDead)
}

func TestABIVersionIsChecked(t *testing.T) {
	// A minimal module whose abi_version answers 1: (module (memory (export
	// "memory") 1) (func (export "abi_version") (result i32) i32.const 1)).
	mod := []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
		1, 5, 1, 0x60, 0, 1, 0x7f, // type: () -> i32
		3, 2, 1, 0, // func 0: type 0
		5, 3, 1, 0, 1, // memory: min 1
		7, 0x18, 2, 6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0, 11, 'a', 'b', 'i', '_', 'v', 'e', 'r', 's', 'i', 'o', 'n', 0, 0,
		10, 6, 1, 4, 0, 0x41, 1, 0x0b, // code: i32.const 1
	}
	ctx := context.Background()
	r, err := NewRuntime(ctx, mod, Config{})
	require.NoError(t, err)
	defer r.Close(ctx)
	_, err = r.Instantiate(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ABI version 1")
}

// TestModuleIsFresh rebuilds the module exactly as `make wasm` does and
// fails when the committed copy differs: the module must be the current core.
func TestModuleIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the module; skipped with -short")
	}
	if v := strings.TrimSpace(wasm.GoVersion); v != runtime.Version() {
		t.Skipf("tokensmith.wasm was built with %s, this is %s: builds are only byte-identical with the same toolchain", v, runtime.Version())
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out := filepath.Join(t.TempDir(), "tokensmith.wasm")
	// Keep in step with WASM_FLAGS in the Makefile.
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, "./wasm/")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWASM=", "GOFLAGS=", "CGO_ENABLED=0")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	fresh, err := os.ReadFile(out)
	require.NoError(t, err)
	if !bytes.Equal(fresh, wasm.Module) {
		t.Fatalf("wasm/tokensmith.wasm is stale (%d bytes committed, %d bytes built from the current sources): run `make wasm` and commit the result", len(wasm.Module), len(fresh))
	}
}
