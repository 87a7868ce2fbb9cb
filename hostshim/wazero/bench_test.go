package wazero

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/emulator"
	"github.com/tokensmith/tokensmith/internal/wasmrun"
	"github.com/tokensmith/tokensmith/wasm"
)

// Cold start: what the first WASM session of a process pays, without and
// with the on-disk cache (a new process opens the cache afresh).
func BenchmarkWASMColdStart(b *testing.B) {
	b.Run("no-cache", func(b *testing.B) {
		for range b.N {
			rt := New(Config{CacheDir: "-"}).(*runtime)
			require.NoError(b, rt.compile())
			require.NoError(b, rt.rt.Close(context.Background()))
		}
	})
	b.Run("disk-cache", func(b *testing.B) {
		dir := b.TempDir()
		warm := New(Config{CacheDir: dir}).(*runtime)
		require.NoError(b, warm.compile())
		b.ResetTimer()
		for range b.N {
			rt := New(Config{CacheDir: dir}).(*runtime)
			require.NoError(b, rt.compile())
			require.NoError(b, rt.rt.Close(context.Background()))
		}
	})
}

// Instantiate + _initialize + the ABI check: what a new pool instance costs.
func BenchmarkWASMInstantiate(b *testing.B) {
	ctx := context.Background()
	rt, err := wasmrun.NewRuntime(ctx, wasm.Module, wasmrun.Config{})
	require.NoError(b, err)
	defer rt.Close(ctx)
	b.ResetTimer()
	for range b.N {
		in, err := rt.Instantiate(ctx)
		require.NoError(b, err)
		require.NoError(b, in.Close(ctx))
	}
}

var benchCfg = []byte(`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-4711","client_secret":"s3cret-pass"}`)

const benchBody = `{"access_token":"TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA","token_type":"Bearer","expires_in":"300","refresh_token":"*TK9bdd05f8e9d3c905834bdeqaUlGFll2iRaplll29mZmtkZQ"}`

// The Client's view of one engine call (Next on a fresh token, the step
// parsed back), native against WASM. The Client itself never makes this
// call for a fresh token: that is an atomic load (hostshim's
// BenchmarkCachedToken).
func BenchmarkWASMEngineNextFresh(b *testing.B) {
	cfg, err := core.ParseConfig(benchCfg)
	require.NoError(b, err)
	for _, rt := range []hostshim.Runtime{hostshim.Native, New(Config{CacheDir: b.TempDir()})} {
		b.Run(rt.String(), func(b *testing.B) {
			e, err := rt.NewEngine(cfg, core.Options{Seed: 1})
			require.NoError(b, err)
			defer e.Close()
			const now = 1_700_000_000_000
			st, _ := e.Next(now)
			require.Equal(b, core.StepLease, st.Kind)
			_, _ = e.Leased(now, core.LeaseResult{Acquired: true})
			st, _ = e.Feed(now, core.Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(benchBody)})
			require.Equal(b, core.StepCommit, st.Kind)
			_, _ = e.Committed(now, core.CommitResult{OK: true})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_, _ = e.Next(now + 10_000)
			}
		})
	}
}

// A full token round trip over loopback on each runtime.
func BenchmarkWASMTokenRoundTrip(b *testing.B) {
	srv := startEmulator(b, emulator.Options{})
	cfg := configFor(b, srv, core.DQEIDMobile, nil)
	for _, rt := range []hostshim.Runtime{hostshim.Native, New(Config{CacheDir: b.TempDir()})} {
		b.Run(rt.String(), func(b *testing.B) {
			c := newClient(b, rt, cfg)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tok, err := c.Token(ctx)
				if err != nil {
					b.Fatal(err)
				}
				c.Invalidate(tok.AccessToken)
			}
		})
	}
}
