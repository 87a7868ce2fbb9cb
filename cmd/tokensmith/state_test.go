package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// Issue 8 item 1: N concurrent runs sharing one state file make ONE grant
// and all print the same live token. MoversConnect voids every earlier
// token on a new grant, so any second grant would leave dead tokens
// printed (before the fix: 42 distinct tokens in 20 runs, and a dead one
// left in the file).
func TestConcurrentRunsShareOneGrant(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	cfg := writeConfig(t, srv, core.MoversConnect, nil)
	state := filepath.Join(t.TempDir(), "movers-state.json")
	const n = 20
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = runCLI(t, "", nil, "token", "--config", cfg, "--state", state)
		}()
	}
	close(start)
	wg.Wait()
	var first core.Token
	for i, r := range results {
		require.Equal(t, 0, r.code, "run %d: %s", i, r.stderr)
		tok := parseToken(t, r.stdout)
		if i == 0 {
			first = tok
		}
		assert.Equal(t, first.AccessToken, tok.AccessToken, "run %d printed another token", i)
	}
	assert.Equal(t, 1, srv.TokenRequests(core.MoversConnect), "one grant for all the runs")
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, parseToken(t, string(data)).AccessToken, "the file holds the printed token")

	// The printed token is live: the vendor's API accepts it.
	req, err := http.NewRequest(http.MethodPost, srv.BaseURL(core.MoversConnect)+"/mobileapi/localservicesinquiry", strings.NewReader(`{"ZipCode":"10001"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(first.Attach.Name, first.Attach.Value)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// Issue 8 item 7: a state file the command cannot use is refused with exit
// status 2 and a sentence saying what to do; it is never overwritten, and
// no vendor request is made.
func TestUnusableStateFileRefusedNotOverwritten(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	cfg := writeConfig(t, srv, core.MoversConnect, nil)
	cases := map[string]func(path string) string{
		"corrupt": func(path string) string {
			require.NoError(t, os.WriteFile(path, []byte(`{"provider":"moversconnect","access_token":`), 0o600))
			return "not a tokensmith token"
		},
		"other provider": func(path string) string {
			require.NoError(t, os.WriteFile(path, []byte(`{"provider":"bydesign","access_token":"AT-other","refresh_token":"RT-precious","expires_at":4102444800}`), 0o600))
			return "holds a bydesign token"
		},
		"unreadable (a directory)": func(path string) string {
			require.NoError(t, os.Mkdir(path, 0o700))
			return "cannot"
		},
	}
	if os.Geteuid() != 0 {
		cases["unreadable (EACCES)"] = func(path string) string {
			require.NoError(t, os.WriteFile(path, []byte(`{}`), 0o000))
			return "permission denied"
		}
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			want := setup(path)
			before, _ := os.ReadFile(path)
			r := runCLI(t, "", nil, "token", "--config", cfg, "--state", path)
			requireFailure(t, r, 2, core.CodeConfig)
			assert.Equal(t, "state", gjson.Get(r.stdout, "error.field").String())
			assert.Contains(t, r.stderr, want)
			assert.Contains(t, r.stderr, "left untouched")
			after, _ := os.ReadFile(path)
			assert.Equal(t, before, after, "the file is unchanged")
			assert.Equal(t, 0, srv.TokenRequests(core.MoversConnect), "no vendor request")
		})
	}
}

// Issue 8 item 8: --config /dev/zero is a bounded read (exit 2), not 80
// MB/s of memory growth.
func TestConfigReadIsBounded(t *testing.T) {
	r := runCLI(t, "", nil, "token", "--config", "/dev/zero")
	requireFailure(t, r, 2, core.CodeConfig)
	assert.Contains(t, r.stderr, "larger than 1 MiB")
	big := strings.Repeat(" ", 2<<20)
	r = runCLI(t, big, nil, "token", "--config", "-")
	requireFailure(t, r, 2, core.CodeConfig)
}

// Issue 8 item 8: a state file that is a FIFO is refused at once (it used
// to hang in Close until SIGKILL).
func TestStateFIFORefused(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	cfg := writeConfig(t, srv, core.DQEIDMobile, nil)
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	r := runCLI(t, "", nil, "token", "--config", cfg, "--state", path)
	requireFailure(t, r, 2, core.CodeConfig)
	assert.Contains(t, r.stderr, "not a regular file")
	assert.Equal(t, 0, srv.TokenRequests(core.DQEIDMobile))
}

// Issue 8 item 8: SIGTERM cancels what the command waits on: a config FIFO
// nobody writes, and a token request the vendor never answers.
func TestSignalEndsEveryWait(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	fifo := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	stalled := writeConfig(t, srv, core.DQEIDMobile, nil)
	for name, args := range map[string][]string{
		"config fifo":     {"token", "--config", fifo},
		"stalled request": {"token", "--config", stalled, "--state", filepath.Join(t.TempDir(), "s.json")},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "stalled request" {
				srv.Inject(core.DQEIDMobile, emulator.Fault{Stall: true})
			}
			before := srv.TokenRequests(core.DQEIDMobile)
			cmd := exec.Command(bin, args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			var out strings.Builder
			cmd.Stdout = &out
			require.NoError(t, cmd.Start())
			// Let it reach the wait (the stalled request is seen by the
			// emulator; the FIFO open blocks at once).
			if name == "stalled request" {
				require.Eventually(t, func() bool { return srv.TokenRequests(core.DQEIDMobile) > before }, 30*time.Second, 5*time.Millisecond)
			} else {
				time.Sleep(200 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("SIGTERM did not end the command")
			}
			assert.Equal(t, 2, cmd.ProcessState.ExitCode())
			assert.Equal(t, "usage", gjson.Get(out.String(), "error.code").String(), out.String())
			assert.Contains(t, gjson.Get(out.String(), "error.message").String(), "interrupted")
		})
	}
}

// Issue 8 item 15: emulate --config-dir never writes through a symlink
// planted there; the target stays as it was.
func TestEmulateRefusesSymlinkInConfigDir(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(target, []byte("precious\n"), 0o644))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, core.DQEIDMobile+".json")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errw syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"emulate", "--addr", "127.0.0.1:0", "--config-dir", dir}, testEnv(ctx, &out, &errw))
	}()
	select {
	case code := <-done:
		assert.Equal(t, 2, code)
	case <-time.After(30 * time.Second):
		t.Fatal("emulate did not refuse the symlink")
	}
	assert.Contains(t, errw.String(), "not a regular file")
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "precious\n", string(got))
	fi, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "the target's mode is untouched")

	// Rewriting its own configs (a second run on the same directory) works.
	dir2 := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir2, core.CRMCOM+".json"), []byte("old"), 0o644))
	srv := emulator.New(emulator.Options{})
	require.NoError(t, srv.Start(""))
	defer srv.Close()
	_, err = writeConfigs(srv, dir2)
	require.NoError(t, err)
	fi, err = os.Stat(filepath.Join(dir2, core.CRMCOM+".json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
