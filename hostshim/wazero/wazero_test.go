package wazero

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// testCache is one compile cache for the package's runtimes: compiling
// the module costs seconds under the race detector.
var testCache = func() string {
	d, err := os.MkdirTemp("", "tokensmith-wazero-test-")
	if err != nil {
		return "-"
	}
	return d
}()

func TestMain(m *testing.M) {
	code := m.Run()
	if testCache != "-" {
		os.RemoveAll(testCache)
	}
	os.Exit(code)
}

func startEmulator(t testing.TB, opts emulator.Options) *emulator.Server {
	t.Helper()
	srv := emulator.New(opts)
	require.NoError(t, srv.Start(""))
	t.Cleanup(func() { srv.Close() })
	return srv
}

func configFor(t testing.TB, srv *emulator.Server, p string, set map[string]any) core.Config {
	t.Helper()
	cfg, err := core.ParseConfig([]byte(srv.ConfigWith(p, set)))
	require.NoError(t, err)
	return cfg
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClient(t testing.TB, rt hostshim.Runtime, cfg core.Config, opts ...hostshim.Option) *hostshim.Client {
	t.Helper()
	c, err := hostshim.New(cfg, append([]hostshim.Option{hostshim.WithRuntime(rt)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func protected(t testing.TB, srv *emulator.Server, p string) *http.Request {
	t.Helper()
	base := srv.BaseURL(p)
	var r *http.Request
	var err error
	switch p {
	case core.MoversConnect:
		r, err = http.NewRequest(http.MethodPost, base+"/mobileapi/localservicesinquiry", strings.NewReader(`{"ZipCode":"10001"}`))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
	case core.DQEIDMobile:
		r, err = http.NewRequest(http.MethodGet, base+"/IDMOBILE/?number=%2B33600000000", nil)
	case core.ByDesign:
		r, err = http.NewRequest(http.MethodGet, base+"/api/user/profile", nil)
	case core.CRMCOM:
		r, err = http.NewRequest(http.MethodGet, base+"/contacts/contact_information/show", nil)
	}
	require.NoError(t, err)
	return r
}

func call(t testing.TB, c *hostshim.Client, r *http.Request) int {
	t.Helper()
	resp, err := (&http.Client{Transport: c.Transport(nil)}).Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// Every provider end to end on the WebAssembly runtime: the token is
// obtained, attached, accepted, then served from the cache; a refused token
// (the vendor forgot it) is renewed once by the Transport.
func TestProvidersEndToEnd(t *testing.T) {
	rt := New(Config{CacheDir: testCache})
	for _, p := range emulator.Providers {
		t.Run(p, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			c := newClient(t, rt, configFor(t, srv, p, nil))
			assert.Equal(t, "wasm", c.Runtime().String())
			tok, err := c.Token(context.Background())
			require.NoError(t, err)
			assert.Equal(t, p, tok.Provider)
			assert.NotEmpty(t, tok.AccessToken)
			assert.Equal(t, http.StatusOK, call(t, c, protected(t, srv, p)))
			again, err := c.Token(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tok.AccessToken, again.AccessToken)
			n := srv.TokenRequests(p)
			srv.Reset()
			assert.Equal(t, http.StatusOK, call(t, c, protected(t, srv, p)))
			assert.GreaterOrEqual(t, srv.TokenRequests(p), 1)
			assert.LessOrEqual(t, srv.TokenRequests(p), n+1, "one renewal")
		})
	}
}

// gate holds token requests until opened.
type gate struct {
	ch      chan struct{}
	waiting chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.waiting <- struct{}{}
	select {
	case <-g.ch:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// 1,000 callers of an expired token share one request, on WASM too.
func TestSingleFlight(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	clk := &clock{t: time.Now()}
	g := &gate{ch: make(chan struct{}), waiting: make(chan struct{}, 10)}
	c := newClient(t, New(Config{CacheDir: testCache}), configFor(t, srv, core.DQEIDMobile, nil),
		hostshim.WithClock(clk.Now), hostshim.WithHTTPClient(&http.Client{Transport: g}))
	var wg sync.WaitGroup
	toks := make([]string, 1000)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background())
			assert.NoError(t, err)
			toks[i] = tok.AccessToken
		}()
	}
	<-g.waiting
	close(g.ch)
	wg.Wait()
	for i := range toks {
		require.Equal(t, toks[0], toks[i])
	}
	assert.Equal(t, 1, srv.TokenRequests(core.DQEIDMobile))
	assert.Len(t, g.waiting, 0)
}

// trapRuntime has instances small enough (4 MiB) that feeding a 1 MiB
// answer makes the Go runtime inside run out of memory and trap.
func trapRuntime(pool int) *runtime {
	return New(Config{CacheDir: testCache, MemoryLimitPages: 64, PoolSize: pool}).(*runtime)
}

// Issue 8 item 12: a Client whose instance traps gets a new instance with
// its stored token restored, instead of failing forever (the old host
// answered "the instance failed earlier" to every later call).
func TestTrappedInstanceIsReplacedAndTokenRestored(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	clk := &clock{t: time.Now()}
	rt := trapRuntime(1)
	cfg := configFor(t, srv, core.DQEIDMobile, nil)
	c := newClient(t, rt, cfg, hostshim.WithClock(clk.Now), hostshim.WithOptions(core.Options{MaxAttempts: 1}))
	// Another session in the same (only) instance.
	other := newClient(t, rt, configFor(t, srv, core.CRMCOM, nil))
	otherTok, err := other.Token(context.Background())
	require.NoError(t, err)

	t1, err := c.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, srv.TokenRequests(core.DQEIDMobile))

	clk.Advance(250 * time.Second) // stale: a renewal starts
	srv.Inject(core.DQEIDMobile, emulator.Fault{Oversize: true})
	_, err = c.FreshToken(context.Background())
	var ce *core.Error
	require.ErrorAs(t, err, &ce, "a trap is a *core.Error")
	assert.Contains(t, ce.Message, "replaced")
	rt.mu.Lock()
	insts := len(rt.insts)
	rt.mu.Unlock()
	assert.Equal(t, 1, insts, "the dead instance left the pool, a new one took its place")

	// The new instance holds the restored token: still valid, served at
	// once while the renewal (no fault now) runs.
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, t1.AccessToken, tok.AccessToken, "the stored token was restored")
	fresh, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, t1.AccessToken, fresh.AccessToken)
	assert.Equal(t, http.StatusOK, call(t, c, protected(t, srv, core.DQEIDMobile)))

	// The other session lived in the trapped instance: it moved too, with
	// its token; a refusal reported to it still renews once.
	assert.True(t, other.Invalidate(otherTok.AccessToken), "the moved session knows its token")
	renewed, err := other.Token(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, otherTok.AccessToken, renewed.AccessToken)
	assert.Equal(t, 2, srv.TokenRequests(core.CRMCOM))
}

// The memory limit holds: a 1 MiB answer is refused by the module (in a
// default-sized instance) as malformed, not allocated without bound.
func TestOversizedAnswerInDefaultInstance(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	c := newClient(t, New(Config{CacheDir: testCache}), configFor(t, srv, core.CRMCOM, nil), hostshim.WithOptions(core.Options{MaxAttempts: 1}))
	srv.Inject(core.CRMCOM, emulator.Fault{Oversize: true})
	_, err := c.Token(context.Background())
	var ce *core.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, core.CodeMalformedResponse, ce.Code)
}

// echoServer answers with the request line as a broken header: net/http's
// error then quotes it, the GET grant's secret included.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				br := bufio.NewReader(conn)
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				for {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				conn.Write([]byte("HTTP/1.1 200 OK\r\n" + strings.TrimRight(line, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// Host transport errors are cleaned by the session's redactor inside the
// module: no secret in the error, even when net/http quotes the request.
func TestTransportErrorsRedactedInModule(t *testing.T) {
	base := echoServer(t)
	const licence, secret = "lic-Zq9@Wx7 Kp!", "cs-Yv3@Rt5 Nm!"
	cfg, err := core.ParseConfig([]byte(`{"provider":"dqe-idmobile","base_url":"` + base + `","licence":"` + licence + `","client_secret":"` + secret + `","method":"GET"}`))
	require.NoError(t, err)
	c := newClient(t, New(Config{CacheDir: testCache}), cfg, hostshim.WithOptions(core.Options{MaxAttempts: 1}))
	_, err = c.Token(context.Background())
	var ce *core.Error
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, core.CodeNetwork, ce.Code)
	for _, piece := range []string{"Zq9", "Wx7", "Yv3", "Rt5"} {
		assert.NotContains(t, err.Error(), piece)
	}
}

// A cache directory that cannot be used falls back to compiling in memory.
func TestUnusableCacheDirFallsBack(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	srv := startEmulator(t, emulator.Options{})
	c := newClient(t, New(Config{CacheDir: filepath.Join(file, "sub")}), configFor(t, srv, core.CRMCOM, nil))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
}

// What the module answers is parsed, never trusted: garbage gives a
// *core.Error, never a panic.
func FuzzOutputParsers(f *testing.F) {
	for _, s := range []string{`{"ok":true}`, `{"ok":"yes"}`, `{"error":{"code":"usage"}}`, `{"error":7}`, `[]`, `nul`, ``, `{"text":3}`, `{"ok":true,"dropped":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		if err := okOrError(out); err != nil {
			var ce *core.Error
			if !errors.As(err, &ce) {
				t.Fatalf("okOrError: %T", err)
			}
		}
		if wireError(out) == nil {
			t.Fatal("wireError returned nil")
		}
		e := &engine{}
		_, _ = e.step(out, nil)
	})
}
