package hostshim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
	"github.com/tokensmith/tokensmith/internal/vectors"
)

var _ vectors.Engine = (*WASMHandles)(nil)

func wtVectors(t testing.TB) []vectors.Vector {
	dir, err := vectors.Dir()
	require.NoError(t, err)
	vs, err := vectors.Load(dir)
	require.NoError(t, err)
	require.NotEmpty(t, vs)
	return vs
}

func wtHandles(t testing.TB) *WASMHandles {
	w, err := NewWASMHandles(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// TestWASMVectors runs every conformance vector against the module in
// wazero. One instance serves them all, so sessions also have to be created
// and freed cleanly one after another.
func TestWASMVectors(t *testing.T) {
	w := wtHandles(t)
	for _, v := range wtVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			res := vectors.Run(w, v)
			if len(res.Failures) > 0 {
				t.Errorf("%s:\n  %s", v.File, strings.Join(res.Failures, "\n  "))
			}
		})
	}
}

// TestWASMVectorTranscriptsMatchNative holds the module to byte-for-byte
// equality with the Go core, beyond what the vectors' subset matching sees.
func TestWASMVectorTranscriptsMatchNative(t *testing.T) {
	// Both sides keep one table across all vectors, so session numbers
	// line up too.
	w, n := wtHandles(t), &core.Handles{}
	for _, v := range wtVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			native := vectors.Run(n, v)
			wasm := vectors.Run(w, v)
			require.Len(t, wasm.Transcript, len(native.Transcript))
			for i := range native.Transcript {
				if !bytes.Equal(native.Transcript[i], wasm.Transcript[i]) {
					t.Errorf("output %d differs\nnative: %.400s\nwasm:   %.400s", i, native.Transcript[i], wasm.Transcript[i])
				}
			}
		})
	}
}

// TestWASMHandlesErrors covers outputs no vector reaches: unknown handles,
// garbage input, and the session handle counter.
func TestWASMHandlesErrors(t *testing.T) {
	w := wtHandles(t)
	for _, out := range [][]byte{w.Next(99, 1), w.Token(99), w.Free(99), w.Cancel(99), w.Invalidate(99),
		w.Feed(99, 1, []byte(`{}`)), w.Restore(99, []byte(`{}`)), w.Attach(99, []byte(`{}`))} {
		assert.Equal(t, string((&core.Handles{}).Next(99, 1)), string(out))
	}
	h, out := w.New([]byte(`not json`))
	assert.Zero(t, h)
	assert.Equal(t, "config", gjson.GetBytes(out, "error.code").String())
	h, out = w.New(nil)
	assert.Zero(t, h)
	assert.Equal(t, "config", gjson.GetBytes(out, "error.code").String(), "%s", out)

	cfg := []byte(`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-1","client_secret":"s3cret-pass"}`)
	h1, _ := w.New(cfg)
	h2, _ := w.New(cfg)
	assert.Equal(t, int32(1), h1)
	assert.Equal(t, int32(2), h2)
	assert.JSONEq(t, `{"ok":true}`, string(w.Free(h1)))
	assert.Equal(t, "usage", gjson.GetBytes(w.Next(h1, 1), "error.code").String())
	assert.Equal(t, "usage", gjson.GetBytes(w.Feed(h2, 1, []byte(`nope`)), "error.code").String())
	assert.JSONEq(t, `{"token":null}`, string(w.Token(h2)))
	assert.True(t, gjson.GetBytes(w.Next(h2, 1), "request").Exists())
	assert.JSONEq(t, `{"ok":true}`, string(w.Free(h2)))
}

// wtFakeModule hand-assembles a minimal module exporting memory, _initialize
// and, when withABI, abi_version answering version: enough to exercise the
// host's refusals without a second Go build.
func wtFakeModule(withABI bool, version int32) []byte {
	sleb := func(v int32) []byte {
		var out []byte
		for {
			b := byte(v & 0x7f)
			v >>= 7
			if v == 0 && b&0x40 == 0 || v == -1 && b&0x40 != 0 {
				return append(out, b)
			}
			out = append(out, b|0x80)
		}
	}
	section := func(id byte, body ...byte) []byte { return append([]byte{id, byte(len(body))}, body...) }
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	m := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	m = append(m, section(1, 2, 0x60, 0, 1, 0x7f, 0x60, 0, 0)...) // types: ()->i32, ()->()
	m = append(m, section(3, 2, 0, 1)...)                         // functions
	m = append(m, section(5, 1, 0, 1)...)                         // one page of memory
	exp := []byte{2}
	exp = append(append(exp, name("_initialize")...), 0, 1)
	exp = append(append(exp, name("memory")...), 2, 0)
	if withABI {
		exp[0] = 3
		exp = append(append(exp, name("abi_version")...), 0, 0)
	}
	m = append(m, section(7, exp...)...)
	body0 := append(append([]byte{0, 0x41}, sleb(version)...), 0x0b)
	code := append([]byte{2, byte(len(body0))}, body0...)
	code = append(code, 2, 0, 0x0b)
	return append(m, section(10, code...)...)
}

func TestWASMABIVersionRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		bin     []byte
		wantErr string
	}{
		{"future version", wtFakeModule(true, 2), "module speaks ABI version 2, this host speaks 1"},
		{"negative version", wtFakeModule(true, -1), "module speaks ABI version 4294967295"},
		{"no version export", wtFakeModule(false, 0), "not a tokensmith module"},
		{"right version, missing exports", wtFakeModule(true, 1), "lacks the buf_alloc export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := newWASMRuntime(ctx, tc.bin, nil)
			require.NoError(t, err)
			defer rt.close(ctx)
			in, err := rt.instantiate(ctx)
			require.Error(t, err)
			assert.Nil(t, in)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	_, err := newWASMRuntime(ctx, []byte("not wasm"), nil)
	assert.ErrorContains(t, err, "compile")
}

// TestWASMAcquireEmulator drives the module's own fetch loop against the
// vendor emulator over loopback for every provider both know.
func TestWASMAcquireEmulator(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	require.NoError(t, emu.Start(""))
	t.Cleanup(func() { _ = emu.Close() })
	w := wtHandles(t)
	ctx := context.Background()
	for _, p := range core.Providers() {
		cfg := emu.Config(p)
		if cfg == "" {
			continue
		}
		t.Run(p, func(t *testing.T) {
			h, out := w.New([]byte(cfg))
			require.NotZero(t, h, "%s", out)
			defer w.Free(h)
			now := time.Now().Unix()
			out, err := w.Acquire(ctx, h, now)
			require.NoError(t, err)
			tok := gjson.GetBytes(out, "token")
			require.True(t, tok.Exists(), "%s", out)
			assert.True(t, gjson.GetBytes(out, "changed").Bool())
			assert.Equal(t, p, tok.Get("provider").String())
			assert.NotEmpty(t, tok.Get("access_token").String())
			assert.Greater(t, tok.Get("expires_at").Int(), now)
			assert.Equal(t, 1, emu.TokenRequests(p))

			// A fresh token is answered without another round trip.
			again, err := w.Acquire(ctx, h, now+1)
			require.NoError(t, err)
			assert.Equal(t, tok.Raw, gjson.GetBytes(again, "token").Raw)
			assert.False(t, gjson.GetBytes(again, "changed").Bool())
			assert.Equal(t, 1, emu.TokenRequests(p))

			// A 503 is the module's answer, retryable, not a Go error.
			w.Invalidate(h)
			emu.Inject(p, emulator.Fault{Status: 503, RetryAfter: "7"})
			out, err = w.AcquireOnce(ctx, h, now+2)
			require.NoError(t, err)
			assert.Equal(t, "server_error", gjson.GetBytes(out, "error.code").String(), "%s", out)
			assert.True(t, gjson.GetBytes(out, "error.retryable").Bool())
			assert.Equal(t, int64(7), gjson.GetBytes(out, "error.retry_after").Int())

			// And the next acquire recovers.
			out, err = w.AcquireOnce(ctx, h, now+3)
			require.NoError(t, err)
			assert.True(t, gjson.GetBytes(out, "token.access_token").Exists(), "%s", out)

			// Acquire retries as the native Client does: a 503 with
			// Retry-After then success costs one wait of Retry-After.
			var waits []time.Duration
			w.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			defer func() { w.sleep = sleepCtx }()
			w.Invalidate(h)
			before := emu.TokenRequests(p)
			emu.Inject(p, emulator.Fault{Status: 503, RetryAfter: "2"})
			out, err = w.Acquire(ctx, h, now+4)
			require.NoError(t, err)
			assert.True(t, gjson.GetBytes(out, "token.access_token").Exists(), "%s", out)
			assert.Equal(t, []time.Duration{2 * time.Second}, waits)
			assert.Equal(t, before+2, emu.TokenRequests(p))

			// A 4xx is never retried (MoversConnect's refused activation
			// falls back to a grant inside the core: no wait either).
			waits = nil
			w.Invalidate(h)
			emu.Inject(p, emulator.Fault{Status: 400})
			out, err = w.Acquire(ctx, h, now+5)
			require.NoError(t, err)
			assert.False(t, gjson.GetBytes(out, "error.retryable").Bool(), "%s", out)
			assert.Empty(t, waits)

			// Retries stop at their bound.
			w.Invalidate(h)
			emu.Inject(p, emulator.Fault{Status: 503}, emulator.Fault{Status: 503}, emulator.Fault{Status: 503},
				emulator.Fault{Status: 503}, emulator.Fault{Status: 503})
			before = emu.TokenRequests(p)
			out, err = w.Acquire(ctx, h, now+6)
			require.NoError(t, err)
			assert.Equal(t, "server_error", gjson.GetBytes(out, "error.code").String(), "%s", out)
			assert.Equal(t, before+DefaultRetry.MaxAttempts, emu.TokenRequests(p), "%s waits=%v", out, waits)
			emu.Reset()
		})
	}
}

// wtDQEServer is a minimal DQE token endpoint for tests that need to control
// the answer.
func wtDQEServer(t testing.TB, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return `{"provider":"dqe-idmobile","base_url":"` + srv.URL + `","licence":"LIC-4711","client_secret":"s3cret-pass"}`
}

const wtDQETokenBody = `{"access_token":"TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA","token_type":"Bearer","expires_in":"300"}`

func TestWASMAcquireFetch(t *testing.T) {
	ctx := context.Background()
	t.Run("request reaches the server as the core built it", func(t *testing.T) {
		var got *http.Request
		var body []byte
		cfg := wtDQEServer(t, func(w http.ResponseWriter, r *http.Request) {
			got = r
			body = make([]byte, r.ContentLength)
			_, _ = r.Body.Read(body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(wtDQETokenBody))
		})
		w := wtHandles(t)
		h, _ := w.New([]byte(cfg))
		out, err := w.Acquire(ctx, h, 1700000000)
		require.NoError(t, err)
		assert.Equal(t, int64(1700000300), gjson.GetBytes(out, "token.expires_at").Int(), "%s", out)
		require.NotNil(t, got)
		assert.Equal(t, "POST", got.Method)
		assert.Equal(t, "/ACCESS_TOKEN/", got.URL.Path)
		assert.Equal(t, "application/x-www-form-urlencoded", got.Header.Get("Content-Type"))
		assert.Equal(t, "licence=LIC-4711&client_secret=s3cret-pass&grant_type=client_idmobile", string(body))
	})
	t.Run("connection refused is a network error without secrets", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		w := wtHandles(t)
		h, _ := w.New([]byte(`{"provider":"dqe-idmobile","base_url":"` + url + `","licence":"LIC-4711","client_secret":"s3cret-pass","method":"GET"}`))
		out, err := w.Acquire(ctx, h, 1700000000)
		require.NoError(t, err)
		assert.Equal(t, "network", gjson.GetBytes(out, "error.code").String(), "%s", out)
		assert.True(t, gjson.GetBytes(out, "error.retryable").Bool())
		assert.NotContains(t, string(out), "s3cret-pass")
		// The failed exchange is over: the next step is a fresh request.
		assert.True(t, gjson.GetBytes(w.Next(h, 1700000001), "request").Exists())
	})
	t.Run("oversized body", func(t *testing.T) {
		cfg := wtDQEServer(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(bytes.Repeat([]byte(" "), 3<<20))
		})
		w := wtHandles(t)
		h, _ := w.New([]byte(cfg))
		out, err := w.Acquire(ctx, h, 1700000000)
		require.NoError(t, err)
		assert.Equal(t, "malformed_response", gjson.GetBytes(out, "error.code").String(), "%s", out)
	})
	t.Run("cancelled context", func(t *testing.T) {
		release := make(chan struct{})
		cfg := wtDQEServer(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		defer close(release)
		w := wtHandles(t)
		h, _ := w.New([]byte(cfg))
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		out, err := w.Acquire(cctx, h, 1700000000)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, "network", gjson.GetBytes(out, "error.code").String(), "%s", out)
	})
	t.Run("pending when a request is already in flight", func(t *testing.T) {
		w := wtHandles(t)
		h, _ := w.New([]byte(wtDQEServer(t, http.NotFound)))
		require.True(t, gjson.GetBytes(w.Next(h, 1700000000), "request").Exists())
		out, err := w.Acquire(ctx, h, 1700000000)
		require.NoError(t, err)
		assert.JSONEq(t, `{"pending":true}`, string(out))
	})
	t.Run("unknown session", func(t *testing.T) {
		w := wtHandles(t)
		out, err := w.Acquire(ctx, 42, 1)
		require.NoError(t, err)
		assert.Equal(t, "usage", gjson.GetBytes(out, "error.code").String())
	})
}

// wtDrive runs one token life through e and returns every step's wire form,
// so native and WASM engines can be compared. It reports instead of failing
// the test: it runs in goroutines.
func wtDrive(e engine) ([]string, error) {
	var log []string
	var failed error
	rec := func(st core.Step, err error) core.Step {
		if err != nil && failed == nil {
			failed = err
		}
		log = append(log, string(st.MarshalWire()))
		return st
	}
	expect := func(st core.Step, k core.StepKind) {
		if st.Kind != k && failed == nil {
			failed = fmt.Errorf("step %d: got %s, want %s", len(log), st.Kind, k)
		}
	}
	check := func(err error) {
		if err != nil && failed == nil {
			failed = err
		}
	}
	expect(rec(e.next(1700000000)), core.StepRequest)
	expect(rec(e.next(1700000000)), core.StepPending)
	st := rec(e.feed(1700000001, core.Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(wtDQETokenBody)}))
	expect(st, core.StepToken)
	tok := st.Token
	expect(rec(e.next(1700000100)), core.StepToken)
	check(e.invalidate())
	expect(rec(e.next(1700000101)), core.StepRequest)
	check(e.cancel())
	expect(rec(e.feed(1700000102, core.Response{Status: 200, Body: []byte(wtDQETokenBody)})), core.StepError) // nothing in flight
	expect(rec(e.next(1700000103)), core.StepRequest)
	expect(rec(e.feed(1700000104, core.Response{Err: &core.Error{Code: core.CodeNetwork, Message: "reset"}})), core.StepError)
	check(e.restore(tok))
	expect(rec(e.next(1700000105)), core.StepToken)
	var cerr *core.Error
	if err := e.restore(core.Token{Provider: "crmcom", AccessToken: "x"}); !errors.As(err, &cerr) || cerr.Code != core.CodeUsage {
		check(fmt.Errorf("restore of a foreign token: got %v, want a usage error", err))
	}
	return log, failed
}

var wtDQEConfig = core.Config{Provider: core.DQEIDMobile, BaseURL: "https://dqe.example", Licence: "LIC-4711", ClientSecret: "s3cret-pass"}

func TestWASMEngineMatchesNative(t *testing.T) {
	native, err := newEngine(Native, wtDQEConfig)
	require.NoError(t, err)
	wasm, err := newEngine(WASM, wtDQEConfig)
	require.NoError(t, err)
	defer func() { assert.NoError(t, wasm.close()) }()
	want, err := wtDrive(native)
	require.NoError(t, err)
	got, err := wtDrive(wasm)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	_, err = newEngine(WASM, core.Config{Provider: "nope"})
	var cerr *core.Error
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, core.CodeConfig, cerr.Code)
}

// TestWASMPoolConcurrent hammers the shared pool from many goroutines; -race
// and the byte comparison catch any interleaved call into one instance.
func TestWASMPoolConcurrent(t *testing.T) {
	native, err := newEngine(Native, wtDQEConfig)
	require.NoError(t, err)
	want, err := wtDrive(native)
	require.NoError(t, err)

	const goroutines, rounds = 24, 5
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				e, err := newWASMEngine(wtDQEConfig)
				if err != nil {
					errs <- err
					return
				}
				got, err := wtDrive(e)
				if err == nil {
					err = e.close()
				}
				if err != nil {
					errs <- err
					return
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					errs <- errors.New("transcript differs from native")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p, err := sharedWASMPool()
	require.NoError(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.LessOrEqual(t, len(p.insts), wasmPoolSize)
	for _, in := range p.insts {
		assert.Zero(t, in.sessions, "every session was given back")
	}
}

// TestWASMSessionLongLived runs 10k calls through one session and checks
// the guest's memory stops growing: outputs and input buffers are reused or
// collected, not leaked. The bound is loose on purpose (Go's heap grows in
// steps and the GC runs when it likes); a leak of the ~1 KB per call this
// loop moves would add tens of MB.
func TestWASMSessionLongLived(t *testing.T) {
	w := wtHandles(t)
	h, out := w.New([]byte(`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-4711","client_secret":"s3cret-pass"}`))
	require.NotZero(t, h, "%s", out)
	resp := []byte(`{"status":200,"headers":{"Content-Type":"application/json"},"body":` + wtQuote(wtDQETokenBody) + `}`)
	cycle := func(i int) {
		now := int64(1700000000 + i)
		w.Invalidate(h)
		require.True(t, gjson.GetBytes(w.Next(h, now), "request").Exists())
		require.True(t, gjson.GetBytes(w.Feed(h, now, resp), "changed").Bool())
		require.True(t, gjson.GetBytes(w.Next(h, now), "token").Exists())
		require.True(t, gjson.GetBytes(w.Token(h), "token").Exists())
		w.Attach(h, []byte(`{"method":"GET","url":"https://dqe.example/IDMOBILE/","headers":{},"body":""}`))
	}
	const calls = 10000
	const perCycle = 6
	for i := 0; i < 1000/perCycle; i++ {
		cycle(i)
	}
	warm := w.in.mem.Size()
	for i := 0; i < calls/perCycle; i++ {
		cycle(i)
	}
	grown := w.in.mem.Size() - warm
	t.Logf("guest memory: %d KiB after warm-up, +%d KiB over %d calls", warm>>10, grown>>10, calls)
	assert.Less(t, grown, uint32(8<<20))
	assert.Equal(t, uint32(4096), w.in.inCap, "the small input buffer is reused")
}

func wtQuote(s string) string {
	o := core.Response{Status: 200, Body: []byte(s)}
	return gjson.GetBytes(o.MarshalWire(), "body").Raw
}

// TestWASMModuleIsFresh rebuilds the module exactly as `make wasm` does and
// fails when the embedded copy differs: the committed binary must be the
// current core.
func TestWASMModuleIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the module; skipped with -short")
	}
	recorded, err := os.ReadFile("tokensmith.wasm.goversion")
	require.NoError(t, err, "hostshim/tokensmith.wasm.goversion is missing: run make wasm")
	if v := strings.TrimSpace(string(recorded)); v != runtime.Version() {
		t.Skipf("tokensmith.wasm was built with %s, this is %s: builds are only byte-identical with the same toolchain", v, runtime.Version())
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out := filepath.Join(t.TempDir(), "tokensmith.wasm")
	// Keep in step with WASM_FLAGS in the Makefile.
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, "./wasm/")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWASM=", "GOFLAGS=", "CGO_ENABLED=0")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	fresh, err := os.ReadFile(out)
	require.NoError(t, err)
	if !bytes.Equal(fresh, wasmBinary) {
		t.Fatalf("hostshim/tokensmith.wasm is stale (%d bytes embedded, %d bytes built from the current sources): run `make wasm` and commit the result", len(wasmBinary), len(fresh))
	}
}
