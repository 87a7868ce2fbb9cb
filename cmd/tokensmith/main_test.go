package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// bin is the tokensmith binary, built once for the package's tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokensmith-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "tokensmith")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// allSecrets are every demo credential; none may appear in any output,
// except the DQE licence inside a printed DQE token's attach parameters.
var allSecrets = []string{
	emulator.MoversPassword, emulator.DQEClientSecret, emulator.ByDesignPassword,
	emulator.CRMKey, emulator.CRMAuthCode, emulator.CRMPassCode, emulator.CRMJWT,
	"Wrong-Passw0rd-77",
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the binary with only the given environment (plus PATH/HOME).
func runCLI(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	r := result{code, out.String(), errb.String()}
	for _, s := range allSecrets {
		assert.NotContains(t, r.stdout, s, "secret on stdout")
		assert.NotContains(t, r.stderr, s, "secret on stderr")
	}
	return r
}

// requireFailure checks the failure contract: status, the wire error on
// stdout, one sentence on stderr.
func requireFailure(t *testing.T, r result, exit int, code string) {
	t.Helper()
	require.Equal(t, exit, r.code, "stdout=%s stderr=%s", r.stdout, r.stderr)
	require.True(t, gjson.Valid(r.stdout), r.stdout)
	assert.Equal(t, code, gjson.Get(r.stdout, "error.code").String(), r.stdout)
	assert.True(t, gjson.Get(r.stdout, "error.status").Exists())
	assert.True(t, gjson.Get(r.stdout, "error.message").Exists())
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	assert.Len(t, lines, 1, "one sentence on stderr: %q", r.stderr)
	assert.True(t, strings.HasSuffix(lines[0], "."), lines[0])
}

func startEmulator(t *testing.T, opts emulator.Options) *emulator.Server {
	t.Helper()
	srv := emulator.New(opts)
	require.NoError(t, srv.Start(""))
	t.Cleanup(func() { srv.Close() })
	return srv
}

// writeConfig writes p's demo config with fields replaced (nil deletes).
func writeConfig(t *testing.T, srv *emulator.Server, p string, set map[string]any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), p+".json")
	require.NoError(t, os.WriteFile(path, []byte(srv.ConfigWith(p, set)), 0o600))
	return path
}

func parseToken(t *testing.T, stdout string) core.Token {
	t.Helper()
	tok, err := core.ParseToken([]byte(stdout))
	require.NoError(t, err, stdout)
	return tok
}

func TestTokenEachProvider(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	for _, p := range emulator.Providers {
		t.Run(p, func(t *testing.T) {
			r := runCLI(t, "", nil, "token", "--config", writeConfig(t, srv, p, nil))
			require.Equal(t, 0, r.code, r.stderr)
			assert.Empty(t, r.stderr)
			tok := parseToken(t, r.stdout)
			assert.Equal(t, p, tok.Provider)
			assert.NotEmpty(t, tok.AccessToken)
			assert.Greater(t, tok.ExpiresAt, time.Now().Unix())
			assert.True(t, strings.HasSuffix(r.stdout, "}\n"))
		})
	}
}

func TestTokenConfigFromStdin(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	r := runCLI(t, srv.Config(core.CRMCOM), nil, "token", "--config", "-")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, core.CRMCOM, parseToken(t, r.stdout).Provider)
}

func TestTokenErrors(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	t.Run("config: missing field", func(t *testing.T) {
		r := runCLI(t, "", nil, "token", "--config", writeConfig(t, srv, core.ByDesign, map[string]any{"password": nil}))
		requireFailure(t, r, 2, core.CodeConfig)
		assert.Equal(t, "password", gjson.Get(r.stdout, "error.field").String())
	})
	t.Run("config: not JSON", func(t *testing.T) {
		r := runCLI(t, "{nope", nil, "token", "--config", "-")
		requireFailure(t, r, 2, core.CodeConfig)
	})
	t.Run("config: no such file", func(t *testing.T) {
		r := runCLI(t, "", nil, "token", "--config", filepath.Join(t.TempDir(), "none.json"))
		requireFailure(t, r, 2, core.CodeConfig)
	})
	t.Run("usage: no config at all", func(t *testing.T) {
		requireFailure(t, runCLI(t, "", nil, "token"), 2, core.CodeUsage)
	})
	t.Run("usage: bad flag", func(t *testing.T) {
		requireFailure(t, runCLI(t, "", nil, "token", "--nope"), 2, core.CodeUsage)
	})
	t.Run("usage: bad runtime", func(t *testing.T) {
		requireFailure(t, runCLI(t, "", nil, "token", "--runtime", "jvm", "--config", writeConfig(t, srv, core.CRMCOM, nil)), 2, core.CodeUsage)
	})
	t.Run("invalid_grant", func(t *testing.T) {
		r := runCLI(t, "", nil, "token", "--config", writeConfig(t, srv, core.ByDesign, map[string]any{"password": "Wrong-Passw0rd-77"}))
		requireFailure(t, r, 1, core.CodeInvalidGrant)
		assert.Equal(t, int64(400), gjson.Get(r.stdout, "error.status").Int())
	})
	t.Run("invalid_client", func(t *testing.T) {
		r := runCLI(t, "", nil, "token", "--config", writeConfig(t, srv, core.DQEIDMobile, map[string]any{"licence": "000000"}))
		requireFailure(t, r, 1, core.CodeInvalidClient)
	})
	t.Run("server_error", func(t *testing.T) {
		srv.Inject(core.CRMCOM, emulator.Fault{Status: 503}, emulator.Fault{Status: 503})
		r := runCLI(t, "", nil, "token", "--max-attempts", "2", "--config", writeConfig(t, srv, core.CRMCOM, nil))
		requireFailure(t, r, 1, core.CodeServerError)
		assert.Equal(t, int64(503), gjson.Get(r.stdout, "error.status").Int())
	})
	t.Run("network", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		r := runCLI(t, "", nil, "token", "--max-attempts", "1", "--config", writeConfig(t, srv, core.DQEIDMobile, map[string]any{"base_url": "http://" + addr}))
		requireFailure(t, r, 1, core.CodeNetwork)
	})
}

// --state: reused while fresh, activated when stale, a new grant when the
// activation is refused.
func TestTokenStateMoversConnect(t *testing.T) {
	var mu sync.Mutex
	offset := time.Duration(0)
	srv := startEmulator(t, emulator.Options{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}})
	cfg := writeConfig(t, srv, core.MoversConnect, nil)
	state := filepath.Join(t.TempDir(), "movers-state.json")

	r := runCLI(t, "", nil, "token", "--config", cfg, "--state", state)
	require.Equal(t, 0, r.code, r.stderr)
	first := parseToken(t, r.stdout)
	fi, err := os.Stat(state)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Equal(t, 1, srv.TokenRequests(core.MoversConnect))

	// Fresh: reused, no request.
	r = runCLI(t, "", nil, "token", "--config", cfg, "--state", state)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, first.AccessToken, parseToken(t, r.stdout).AccessToken)
	assert.Equal(t, 1, srv.TokenRequests(core.MoversConnect), "fresh token reused without a request")

	// Stale (as if days had passed): activated, same token, later expiry.
	makeStale(t, state)
	r = runCLI(t, "", nil, "token", "--config", cfg, "--state", state)
	require.Equal(t, 0, r.code, r.stderr)
	act := parseToken(t, r.stdout)
	assert.Equal(t, first.AccessToken, act.AccessToken, "activation keeps the token")
	assert.Equal(t, 2, srv.TokenRequests(core.MoversConnect))
	assert.Greater(t, act.ExpiresAt, time.Now().Add(80*24*time.Hour).Unix(), "activation extends to the refresh life")

	// The vendor's clock passes the refresh token's 90 days: the activation
	// is refused and a new Password grant follows.
	mu.Lock()
	offset = 91 * 24 * time.Hour
	mu.Unlock()
	makeStale(t, state)
	r = runCLI(t, "", nil, "token", "--config", cfg, "--state", state)
	require.Equal(t, 0, r.code, r.stderr)
	regrant := parseToken(t, r.stdout)
	assert.NotEqual(t, first.AccessToken, regrant.AccessToken)
	assert.Equal(t, 4, srv.TokenRequests(core.MoversConnect), "refused activation, then a grant")
	onDisk, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, regrant.AccessToken, parseToken(t, string(onDisk)).AccessToken)
}

// makeStale moves a stored token into its refresh window, which is what
// the passing of real time would do between two runs.
func makeStale(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	now := time.Now().Unix()
	m["refresh_at"] = now - 10
	m["expires_at"] = now + 3600
	data, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

func TestTokenStateReuseEveryProvider(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	for _, p := range emulator.Providers {
		t.Run(p, func(t *testing.T) {
			cfg := writeConfig(t, srv, p, nil)
			state := filepath.Join(t.TempDir(), "state.json")
			before := srv.TokenRequests(p)
			r1 := runCLI(t, "", nil, "token", "--config", cfg, "--state", state)
			r2 := runCLI(t, "", nil, "token", "--config", cfg, "--state", state)
			require.Equal(t, 0, r1.code, r1.stderr)
			require.Equal(t, 0, r2.code, r2.stderr)
			assert.Equal(t, parseToken(t, r1.stdout).AccessToken, parseToken(t, r2.stdout).AccessToken)
			assert.Equal(t, before+1, srv.TokenRequests(p))
		})
	}
}

func TestTokenSecretsFromEnvironment(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	t.Run("fills a missing secret", func(t *testing.T) {
		cfg := writeConfig(t, srv, core.MoversConnect, map[string]any{"password": nil})
		r := runCLI(t, "", []string{"TOKENSMITH_PASSWORD=" + emulator.MoversPassword}, "token", "--config", cfg)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, core.MoversConnect, parseToken(t, r.stdout).Provider)
	})
	t.Run("overrides the file", func(t *testing.T) {
		cfg := writeConfig(t, srv, core.ByDesign, nil)
		r := runCLI(t, "", []string{"TOKENSMITH_PASSWORD=Wrong-Passw0rd-77"}, "token", "--config", cfg)
		requireFailure(t, r, 1, core.CodeInvalidGrant)
	})
	t.Run("whole config from the environment", func(t *testing.T) {
		env := []string{
			"TOKENSMITH_PROVIDER=crmcom",
			"TOKENSMITH_BASE_URL=" + srv.BaseURL(core.CRMCOM),
			"TOKENSMITH_KEY=" + emulator.CRMKey,
			"TOKENSMITH_IDENTIFIER=" + emulator.CRMIdentifier,
			"TOKENSMITH_PASS_CODE=" + emulator.CRMPassCode,
			"TOKENSMITH_LEEWAY_SECONDS=120",
		}
		r := runCLI(t, "", env, "token")
		require.Equal(t, 0, r.code, r.stderr)
		tok := parseToken(t, r.stdout)
		assert.Equal(t, tok.ExpiresAt-120, tok.RefreshAt)
	})
	t.Run("empty variable is unset", func(t *testing.T) {
		cfg := writeConfig(t, srv, core.DQEIDMobile, nil)
		r := runCLI(t, "", []string{"TOKENSMITH_CLIENT_SECRET="}, "token", "--config", cfg)
		require.Equal(t, 0, r.code, r.stderr)
	})
	t.Run("a key given twice in the file is refused", func(t *testing.T) {
		r := runCLI(t, `{"provider":"dqe-idmobile","licence":"1","licence":"2"}`, []string{"TOKENSMITH_CLIENT_SECRET=x-secret"}, "token", "--config", "-")
		requireFailure(t, r, 2, core.CodeConfig)
	})
}

func TestHelpAndVersion(t *testing.T) {
	for _, cmd := range []string{"token", "emulate", "demo"} {
		r := runCLI(t, "", nil, cmd, "--help")
		assert.Equal(t, 0, r.code, cmd)
		assert.Contains(t, r.stdout, "Usage: tokensmith "+cmd)
		assert.Contains(t, r.stdout, "Example:")
		assert.Contains(t, r.stdout, "-runtime"[:0]+"Flags:")
	}
	r := runCLI(t, "", nil, "--help")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "tokensmith token")
	r = runCLI(t, "", nil, "version")
	assert.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stdout, "tokensmith "))
	r = runCLI(t, "", nil, "frobnicate")
	assert.Equal(t, 2, r.code)
	r = runCLI(t, "", nil)
	assert.Equal(t, 2, r.code)
}

// syncBuffer is a bytes.Buffer safe to read while a command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(ctx context.Context, out, errw *syncBuffer) env {
	return env{ctx: ctx, stdin: strings.NewReader(""), stdout: out, stderr: errw, getenv: func(string) (string, bool) { return "", false }}
}

func TestDemo(t *testing.T) {
	var out, errw syncBuffer
	code := run([]string{"demo"}, testEnv(context.Background(), &out, &errw))
	require.Equal(t, 0, code, out.String()+errw.String())
	s := out.String()
	for _, want := range []string{"header Token", "query token+licence", "header Authorization: Bearer", "query token", "200 OK"} {
		assert.Contains(t, s, want)
	}
	for _, p := range emulator.Providers {
		assert.Contains(t, s, p)
	}
	assert.Equal(t, 4, strings.Count(s, "200 OK"))
	assert.Equal(t, 4, strings.Count(s, "…"), "tokens shortened")
}

// emulate serves until its context ends; the configs it writes work.
func TestEmulate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	var out, errw syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"emulate", "--addr", "127.0.0.1:0", "--config-dir", dir}, testEnv(ctx, &out, &errw))
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Stop:") }, 30*time.Second, 5*time.Millisecond, errw.String())
	for _, p := range emulator.Providers {
		path := filepath.Join(dir, p+".json")
		assert.Contains(t, out.String(), path)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
	r := runCLI(t, "", nil, "token", "--config", filepath.Join(dir, "bydesign.json"))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, core.ByDesign, parseToken(t, r.stdout).Provider)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(30 * time.Second):
		t.Fatal("emulate did not stop")
	}
}

func TestBuildConfigEnvOverLays(t *testing.T) {
	env := map[string]string{"TOKENSMITH_CLIENT_SECRET": "from-env-secret", "TOKENSMITH_LEEWAY_SECONDS": "30"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := buildConfig([]byte(`{"provider":"dqe-idmobile","base_url":"https://x.example","licence":"l","client_secret":"file"}`), getenv)
	require.NoError(t, err)
	assert.Equal(t, "from-env-secret", cfg.ClientSecret)
	assert.Equal(t, int64(30), cfg.LeewaySeconds)
	assert.NotContains(t, cfg.String(), "from-env-secret")
}

func TestDescribeAttachAndShorten(t *testing.T) {
	assert.Equal(t, "header Token", describeAttach(core.Attach{In: "header", Name: "Token", Value: "abc"}))
	assert.Equal(t, "header Authorization: Bearer", describeAttach(core.Attach{In: "header", Name: "Authorization", Value: "Bearer abc"}))
	assert.Equal(t, "query token+licence", describeAttach(core.Attach{In: "query", Name: "token", Params: map[string]string{"licence": "1"}}))
	assert.Equal(t, "abcdef…", shorten("abcdefghijkl"))
	assert.Equal(t, "…", shorten("abc"))
}

// --runtime wasm prints what native prints: same fields and shapes, and
// byte for byte the same errors.
func TestRuntimesAgree(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	for _, p := range []string{core.DQEIDMobile, core.ByDesign} {
		cfg := writeConfig(t, srv, p, nil)
		n := runCLI(t, "", nil, "token", "--runtime", "native", "--config", cfg)
		w := runCLI(t, "", nil, "token", "--runtime", "wasm", "--config", cfg)
		require.Equal(t, 0, n.code, n.stderr)
		require.Equal(t, 0, w.code, w.stderr)
		assert.Equal(t, shape(t, n.stdout), shape(t, w.stdout), p)
	}
	for _, set := range []map[string]any{{"password": "Wrong-Passw0rd-77"}, {"password": nil}} {
		cfg := writeConfig(t, srv, core.ByDesign, set)
		n := runCLI(t, "", nil, "token", "--runtime", "native", "--config", cfg)
		w := runCLI(t, "", nil, "token", "--runtime", "wasm", "--config", cfg)
		assert.NotEqual(t, 0, n.code)
		// The hold-off's end is a wall-clock time: the only field that
		// may differ between two runs.
		n.stdout, w.stdout = retryAt.ReplaceAllString(n.stdout, "${1}T"), retryAt.ReplaceAllString(w.stdout, "${1}T")
		assert.Equal(t, n, w)
	}
}

var retryAt = regexp.MustCompile(`("retry_at_ms":)[0-9]+`)

// shape is a token's JSON with the random values (token strings) replaced
// by their length and times by their offset from issued_at.
func shape(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &m))
	issued, _ := m["issued_at"].(float64)
	delete(m, "received_at") // the wall clock of each run
	for _, k := range []string{"expires_at", "refresh_at", "refresh_expires_at", "issued_at"} {
		if v, ok := m[k].(float64); ok {
			m[k] = v - issued
		}
	}
	for _, k := range []string{"access_token", "refresh_token"} {
		if v, ok := m[k].(string); ok {
			m[k] = len(v)
		}
	}
	if a, ok := m["attach"].(map[string]any); ok {
		a["value"] = len(a["value"].(string))
	}
	if x, ok := m["extra"].(map[string]any); ok {
		for _, k := range []string{".issued", ".expires"} {
			delete(x, k)
		}
	}
	return m
}
