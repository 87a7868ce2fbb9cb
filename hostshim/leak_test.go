package hostshim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// Secrets with pieces a test can look for in any encoding: "Zq9", "Wx7"…
// survive form encoding, JSON and HTML escaping, and a cut anywhere.
const (
	leakLicence = "lic-Zq9@Wx7 Kp!"
	leakSecret  = "cs-Yv3@Rt5 Nm!"
)

var leakPieces = []string{"Zq9", "Wx7", "Kp!", "Kp%21", "Yv3", "Rt5", "Nm!", "Nm%21"}

func assertNoPiece(t *testing.T, out, what string) {
	t.Helper()
	for _, p := range leakPieces {
		assert.NotContains(t, out, p, what)
	}
}

// echoServer answers every request with its own request line as a header
// line without a colon: net/http's error then quotes it, query included,
// as a broken proxy or a misconfigured vendor would make it do.
func echoServer(t *testing.T, echo func(requestLine string) string) string {
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
				conn.Write([]byte("HTTP/1.1 200 OK\r\n" + echo(strings.TrimRight(line, "\r\n")) + "\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// logBuffer is a Debug-level slog sink safe for the Client's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func debugLoggers(w *logBuffer) []*slog.Logger {
	o := &slog.HandlerOptions{Level: slog.LevelDebug, AddSource: true}
	return []*slog.Logger{slog.New(slog.NewJSONHandler(w, o)), slog.New(slog.NewTextHandler(w, o))}
}

func TestLeakNetworkErrorQuotingTheRequest(t *testing.T) {
	shapes := map[string]func(string) string{
		"request line": func(l string) string { return l },
		"query only": func(l string) string {
			path, q, _ := strings.Cut(strings.TrimSuffix(l, " HTTP/1.1"), "?")
			return strings.Repeat("#", len(path)-len("GET /ACCESS_TOKEN/")) + " " + q // the offset varies with the path
		},
	}
	for name, echo := range shapes {
		base := echoServer(t, echo)
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			// Every offset of the secrets against any cut in the text.
			for pad := 0; pad < 40; pad++ {
				cfg, err := core.ParseConfig([]byte(`{"provider":"dqe-idmobile","base_url":"` + base + "/" + strings.Repeat("p", pad) +
					`","licence":"` + leakLicence + `","client_secret":"` + leakSecret + `","method":"GET"}`))
				require.NoError(t, err)
				for _, l := range debugLoggers(&logs) {
					c, _ := newTestClient(t, cfg, WithLogger(l), WithRetry(RetryPolicy{MaxAttempts: 2}))
					_, err := c.Token(context.Background())
					require.Error(t, err)
					var ce *core.Error
					require.True(t, errors.As(err, &ce))
					assert.Equal(t, core.CodeNetwork, ce.Code)
					assert.Contains(t, ce.Message, "net/http")
					assertNoPiece(t, err.Error(), "error")
					assertNoPiece(t, string(ce.MarshalWire()), "wire error")
					c.Close()
				}
			}
			assertNoPiece(t, logs.String(), "debug log")
		})
	}
}

func TestLeakTransportErrorQuotingTheRequest(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	cfg := configFor(t, srv, core.DQEIDMobile, nil)
	api := echoServer(t, func(l string) string { return l })
	c, _ := newTestClient(t, cfg)
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, "query", tok.Attach.In, "DQE puts token and licence in the URL of a GET")

	req, err := http.NewRequest(http.MethodGet, api+"/IDMOBILE/?number=%2B33600000000", nil)
	require.NoError(t, err)
	_, err = (&http.Client{Transport: c.Transport(nil)}).Do(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "malformed", "the API's broken answer is still reported")
	assert.NotContains(t, err.Error(), tok.AccessToken)
	assert.NotContains(t, err.Error(), cfg.Licence)
	assert.NotContains(t, fmt.Sprintf("%+v", err), tok.AccessToken)
	var ue *url.Error
	require.True(t, errors.As(err, &ue), "http.Client's own wrapping is kept")
	assert.False(t, ue.Timeout())

	// A failure that quotes nothing keeps its identity.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req2, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/IDMOBILE/", nil)
	require.NoError(t, err)
	_, err = (&http.Client{Transport: c.Transport(nil)}).Do(req2)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestLeakDebugLogs logs everything a Client does at Debug, with source, in
// both slog formats: grants, retries on 5xx/429 with Retry-After, an HTML
// error page, a 401 from the API, a renewal and a store that cannot write.
func TestLeakDebugLogs(t *testing.T) {
	for _, p := range emulator.Providers {
		t.Run(p, func(t *testing.T) {
			clock := newFakeClock()
			srv := startEmulator(t, emulator.Options{Now: clock.Now})
			cfg := configFor(t, srv, p, nil)
			var logs logBuffer
			var seen []string
			for _, l := range debugLoggers(&logs) {
				srv.Inject(p, emulator.Fault{Status: 503, RetryAfter: "1"}, emulator.Fault{HTML: true}, emulator.Fault{Status: 429, RetryAfter: "2"})
				store := &flakyStore{Store: NewFileStore(t.TempDir() + "/token.json"), fail: 1}
				c, _ := newClockClient(t, cfg, clock, WithLogger(l), WithStore(store))
				_, err := c.Token(context.Background())
				require.NoError(t, err, "the first commit fails: logged, the token served")
				tok, err := c.Token(context.Background())
				require.NoError(t, err)
				seen = append(seen, tok.AccessToken, tok.RefreshToken)
				c.Invalidate(tok.AccessToken)
				tok2, err := c.FreshToken(context.Background())
				require.NoError(t, err)
				seen = append(seen, tok2.AccessToken, tok2.RefreshToken)
				clock.Advance(24 * time.Hour) // expired: renew (or log in again)
				tok3, err := c.Token(context.Background())
				require.NoError(t, err)
				seen = append(seen, tok3.AccessToken, tok3.RefreshToken)
				_, _ = c.TokenSource(context.Background()).Token()
				c.Close()
			}
			out := logs.String()
			require.Contains(t, out, "retrying", "the retries were logged")
			require.Contains(t, out, "cannot store the token", "the store failure was logged")
			for _, s := range append(seen, cfg.Password, cfg.ClientSecret, cfg.Licence, cfg.Key, cfg.AuthenticationCode, cfg.PassCode, cfg.JWT) {
				if len(s) >= 4 {
					assert.NotContains(t, out, s)
					assert.NotContains(t, out, url.QueryEscape(s))
				}
			}
		})
	}
}
