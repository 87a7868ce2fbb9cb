package hostshim

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/vectors"
)

// Cold start: what the first WASM session of a process pays.

func BenchmarkWASMCompileNoCache(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		rt, err := newWASMRuntime(ctx, wasmBinary, nil)
		require.NoError(b, err)
		require.NoError(b, rt.close(ctx))
	}
}

// BenchmarkWASMCompileDiskCache opens the on-disk cache afresh each time, as
// a new process would.
func BenchmarkWASMCompileDiskCache(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	open := func() wazero.CompilationCache {
		c, err := wazero.NewCompilationCacheWithDir(dir)
		require.NoError(b, err)
		return c
	}
	rt, err := newWASMRuntime(ctx, wasmBinary, open()) // fill the cache
	require.NoError(b, err)
	require.NoError(b, rt.close(ctx))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := open()
		rt, err := newWASMRuntime(ctx, wasmBinary, c)
		require.NoError(b, err)
		require.NoError(b, rt.close(ctx))
		require.NoError(b, c.Close(ctx))
	}
}

// BenchmarkWASMInstantiate is instantiate + _initialize + the ABI check.
func BenchmarkWASMInstantiate(b *testing.B) {
	ctx := context.Background()
	rt, err := sharedWASM()
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, err := rt.instantiate(ctx)
		require.NoError(b, err)
		require.NoError(b, in.close(ctx))
	}
}

// Per step, on the JSON wire format both sides speak: core.Handles natively
// against the same calls through wazero (copying in and out of guest memory).

var wbConfig = []byte(`{"provider":"dqe-idmobile","base_url":"https://dqe.example","licence":"LIC-4711","client_secret":"s3cret-pass"}`)

var wbResponse = []byte(`{"status":200,"headers":{"Content-Type":"application/json"},"body":"{\"access_token\":\"TK948869a6f873adb622enhoaGeVY2iRaptqlmpplGeWZA\",\"token_type\":\"Bearer\",\"expires_in\":\"300\",\"refresh_token\":\"*TK9bdd05f8e9d3c905834bdeqaUlGFll2iRaplll29mZmtkZQ\"}"}`)

func wbEngines(b *testing.B) map[string]vectors.Engine {
	return map[string]vectors.Engine{"native": &core.Handles{}, "wasm": wtHandles(b)}
}

func BenchmarkWASMStepNextFresh(b *testing.B) {
	for _, name := range []string{"native", "wasm"} {
		e := wbEngines(b)[name]
		b.Run(name, func(b *testing.B) {
			h, _ := e.New(wbConfig)
			e.Next(h, 1700000000)
			e.Feed(h, 1700000000, wbResponse)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Next(h, 1700000010)
			}
		})
	}
}

func BenchmarkWASMStepFeedToken(b *testing.B) {
	for _, name := range []string{"native", "wasm"} {
		e := wbEngines(b)[name]
		b.Run(name, func(b *testing.B) {
			h, _ := e.New(wbConfig)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e.Cancel(h)
				e.Invalidate(h)
				e.Next(h, 1700000000)
				b.StartTimer()
				e.Feed(h, 1700000000, wbResponse)
			}
		})
	}
}

// BenchmarkWASMEngineNextFresh is the Client's view: the engine interface,
// step parsed back into a core.Step.
func BenchmarkWASMEngineNextFresh(b *testing.B) {
	for _, rt := range []Runtime{Native, WASM} {
		b.Run(rt.String(), func(b *testing.B) {
			e, err := newEngine(rt, wtDQEConfig)
			require.NoError(b, err)
			defer e.close()
			_, _ = e.next(1700000000)
			_, err = e.feed(1700000000, core.Response{Status: 200, Body: []byte(wtDQETokenBody)})
			require.NoError(b, err)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _ = e.next(1700000010)
			}
		})
	}
}
