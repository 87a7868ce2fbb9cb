package redisstore_test

// The fleet tests of issue 11: several processes (redisstore/internal/fleetproc,
// built once per test binary) share one token through a real redis-server,
// against the emulator, which counts the grants and renewals it saw and the
// API calls it refused.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/emulator"
	"github.com/tokensmith/tokensmith/internal/redistest"
	"github.com/tokensmith/tokensmith/redisstore"
)

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// fleetBinary builds fleetproc (with the race detector when the test has it).
func fleetBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fleetproc")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "fleetproc")
		args := []string{"build", "-o", buildBin}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "./internal/fleetproc")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building fleetproc: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

type result struct {
	Instance string `json:"instance"`
	OK       int    `json:"ok"`
	Failed   int    `json:"failed"`
	FirstErr string `json:"first_error"`
	Distinct int    `json:"distinct"`
	Final    string `json:"final"`
	APIOK    int    `json:"api_ok"`
	APIFail  int    `json:"api_failed"`
}

// proc is one running fleetproc.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	out   *bufio.Reader
	write func(string) error
	res   chan result
	err   chan error
	mu    sync.Mutex
	log   strings.Builder
}

type fleet struct {
	t     testing.TB
	procs []*proc
}

// startFleet starts n processes with config cfg and the given flags, and
// waits until each has its Client; go() then starts them all at once.
func startFleet(t testing.TB, n int, cfg string, redisURL string, flags ...string) *fleet {
	t.Helper()
	bin := fleetBinary(t)
	f := &fleet{t: t}
	for i := range n {
		p := &proc{name: fmt.Sprintf("p%d", i), res: make(chan result, 1), err: make(chan error, 1)}
		args := append([]string{"-redis", redisURL, "-instance", p.name}, flags...)
		p.cmd = exec.Command(bin, args...)
		p.cmd.Env = append(os.Environ(), "FLEET_CONFIG="+cfg)
		stdin, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := p.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.cmd.Stderr = &lockedBuilder{mu: &p.mu, b: &p.log}
		p.stdin = stdin
		p.write = func(s string) error { _, err := stdin.Write([]byte(s)); return err }
		p.out = bufio.NewReader(stdout)
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
		f.procs = append(f.procs, p)
	}
	for _, p := range f.procs {
		line, err := p.out.ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			t.Fatalf("%s did not start: %q %v\n%s", p.name, line, err, p.stderr())
		}
	}
	return f
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// goAll releases every process and collects results in the background.
func (f *fleet) goAll() {
	for _, p := range f.procs {
		if err := p.write("go\n"); err != nil {
			f.t.Fatal(err)
		}
		go func() {
			line, err := p.out.ReadString('\n')
			if err != nil {
				p.err <- fmt.Errorf("%s: %v (stderr: %s)", p.name, err, p.stderr())
				return
			}
			var r result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				p.err <- fmt.Errorf("%s: %q: %v", p.name, line, err)
				return
			}
			_ = p.cmd.Wait()
			p.res <- r
		}()
	}
}

// results waits for the processes not in skip.
func (f *fleet) results(skip ...string) []result {
	f.t.Helper()
	var out []result
	for _, p := range f.procs {
		if contains(skip, p.name) {
			continue
		}
		select {
		case r := <-p.res:
			out = append(out, r)
		case err := <-p.err:
			f.t.Fatal(err)
		case <-time.After(3 * time.Minute): // a hang, not a speed check
			f.t.Fatalf("%s never finished:\n%s", p.name, p.stderr())
		}
	}
	return out
}

// stop kills what still runs.
func (f *fleet) stop() {
	for _, p := range f.procs {
		_ = p.cmd.Process.Kill()
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkSameToken asserts every call succeeded and every process ended with
// one and the same token.
func checkSameToken(t *testing.T, rs []result, calls int) {
	t.Helper()
	for _, r := range rs {
		if r.Failed != 0 || r.APIFail != 0 || r.OK < calls {
			t.Errorf("%s: %d calls ok, %d failed, %d API calls failed (first error: %s)", r.Instance, r.OK, r.Failed, r.APIFail, r.FirstErr)
		}
		if r.Final == "" || r.Final != rs[0].Final {
			t.Errorf("%s ended with token %q, %s with %q", r.Instance, r.Final, rs[0].Instance, rs[0].Final)
		}
	}
}

// checkVoided asserts that no instance made more than one request with a
// token the emulator had voided, and returns how many were made in all.
func checkVoided(t *testing.T, c emulator.FleetCounts) int {
	t.Helper()
	n := 0
	for inst, k := range c.Refused {
		n += k
		if k > 1 {
			t.Errorf("instance %q made %d requests with a voided token, want at most 1", inst, k)
		}
	}
	return n
}

type env struct {
	emu   *emulator.Server
	redis *redistest.Server
}

func newEnv(t *testing.T, opts emulator.Options) env {
	t.Helper()
	emu := emulator.New(opts)
	if err := emu.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return env{emu: emu, redis: redistest.Start(t)}
}

// seed puts a token into Redis the way one instance would: one Client
// obtains it through the store, then goes away. stale: the stored token is
// then marked as due for renewal (refresh_at in the past, still valid), as
// it would be some time later.
func (e env) seed(t *testing.T, cfgJSON string, stale bool) {
	t.Helper()
	cfg, err := core.ParseConfig([]byte(cfgJSON))
	if err != nil {
		t.Fatal(err)
	}
	s, err := redisstore.Open(e.redis.URL(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := hostshim.New(cfg, hostshim.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if !stale {
		return
	}
	acquired, tok, err := s.Lease(ctx, time.Minute)
	if err != nil || !acquired || tok == nil {
		t.Fatalf("reading the seeded token: acquired=%v tok=%v err=%v", acquired, tok != nil, err)
	}
	base := tok.Rev
	tok.RefreshAt = time.Now().Unix() - 1
	tok.Rev++
	if ok, _, err := s.Commit(ctx, *tok, base); !ok || err != nil {
		t.Fatalf("storing the stale token: ok=%v err=%v", ok, err)
	}
}

const procs, callers = 8, 50

func TestFleetNoTokenOneGrant(t *testing.T) {
	for _, provider := range emulator.Providers {
		t.Run(provider, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			f := startFleet(t, procs, e.emu.Config(provider), e.redis.URL(), "-goroutines", fmt.Sprint(callers), "-namespace", "fleet", "-api")
			f.goAll()
			rs := f.results()
			checkSameToken(t, rs, 1)
			c := e.emu.Fleet(provider)
			voided := checkVoided(t, c)
			t.Logf("%s, %d processes x %d callers, no token: %d grants, %d renewals, %d API calls with a voided token", provider, procs, callers, c.Grants, c.Renewals, voided)
			if c.Grants != 1 || c.Renewals != 0 {
				t.Fatalf("%d grants and %d renewals, want exactly 1 grant (by instance: %v)", c.Grants, c.Renewals, c.GrantsBy)
			}
		})
	}
}

func TestFleetStaleTokenOneRenewal(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	cfg := e.emu.Config(emulator.MoversConnect)
	e.seed(t, cfg, true)
	before := e.emu.Fleet(emulator.MoversConnect)
	f := startFleet(t, procs, cfg, e.redis.URL(), "-goroutines", fmt.Sprint(callers), "-api")
	f.goAll()
	rs := f.results()
	checkSameToken(t, rs, 1)
	after := e.emu.Fleet(emulator.MoversConnect)
	grants, renewals := after.Grants-before.Grants, after.Renewals-before.Renewals
	voided := checkVoided(t, after)
	t.Logf("moversconnect, %d x %d, stale token: %d activations, %d Password grants, %d API calls with a voided token", procs, callers, renewals, grants, voided)
	if renewals != 1 || grants != 0 {
		t.Fatalf("%d activations and %d Password grants, want 1 activation and none (by instance: %v %v)", renewals, grants, after.RenewalsBy, after.GrantsBy)
	}
}

func TestFleetFreshTokenNoRequest(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	cfg := e.emu.Config(emulator.MoversConnect)
	e.seed(t, cfg, false)
	before := e.emu.TokenRequests(emulator.MoversConnect)
	f := startFleet(t, procs, cfg, e.redis.URL(), "-goroutines", fmt.Sprint(callers))
	f.goAll()
	checkSameToken(t, f.results(), 1)
	if n := e.emu.TokenRequests(emulator.MoversConnect) - before; n != 0 {
		t.Fatalf("%d token requests with a fresh token in Redis, want 0", n)
	}
}

// The lease holder is killed while the emulator stalls its grant: its lease
// expires and one other process takes over.
func TestFleetHolderKilledMidGrant(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.emu.Inject(emulator.MoversConnect, emulator.Fault{Stall: true})
	cfg := e.emu.Config(emulator.MoversConnect)
	// TTL = 2*timeout + budget = 6 s; the stalled request would time out
	// after 2 s, so the holder is killed well before it could retry.
	f := startFleet(t, procs, cfg, e.redis.URL(), "-goroutines", fmt.Sprint(callers), "-timeout-ms", "2000", "-budget-ms", "2000")
	f.goAll()
	var holder string
	for i := 0; holder == ""; i++ {
		for inst := range e.emu.Fleet(emulator.MoversConnect).GrantsBy {
			holder = inst
		}
		if i > 30000 {
			t.Fatal("no grant was ever sent")
		}
		time.Sleep(time.Millisecond)
	}
	killed := time.Now()
	for _, p := range f.procs {
		if p.name == holder {
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	rs := f.results(holder)
	took := time.Since(killed)
	checkSameToken(t, rs, 1)
	c := e.emu.Fleet(emulator.MoversConnect)
	t.Logf("holder %s killed mid-grant: %d grants (%v), the others had the token %v after the kill (lease TTL 6 s)", holder, c.Grants, c.GrantsBy, took.Round(10*time.Millisecond))
	if c.Grants != 2 || c.GrantsBy[holder] != 1 {
		t.Fatalf("grants %v, want the killed holder's and exactly one more", c.GrantsBy)
	}
	if len(rs) != procs-1 {
		t.Fatalf("%d results", len(rs))
	}
}

// redis-server stops and comes back (empty) while the fleet calls: no call
// fails while a usable token is held, and after it is back the fleet again
// shares one token.
func TestFleetRedisRestart(t *testing.T) {
	// ByDesign (it refreshes, so every renewal is counted as one): 12 s of
	// life, stale 8 s before the end: fresh for 4 s, then stale but usable
	// for 8 s. Redis is down from 1 s to 6 s of a 10 s run.
	e := newEnv(t, emulator.Options{TokenLifetime: map[string]time.Duration{emulator.ByDesign: 12 * time.Second}})
	cfg := e.emu.ConfigWith(emulator.ByDesign, map[string]any{"leeway_seconds": 8})
	f := startFleet(t, procs, cfg, e.redis.URL(), "-goroutines", "20", "-mode", "hold", "-duration", "10s", "-api",
		"-hold-off-ms", "1000", "-timeout-ms", "2000", "-budget-ms", "2000")
	f.goAll()
	time.Sleep(time.Second)
	e.redis.Stop()
	time.Sleep(5 * time.Second)
	e.redis.Start()
	rs := f.results()
	checkSameToken(t, rs, 1)
	c := e.emu.Fleet(emulator.ByDesign)
	calls, api := 0, 0
	for _, r := range rs {
		calls += r.OK
		api += r.APIOK
	}
	voided := checkVoided(t, c)
	t.Logf("redis down 5 s of 10: %d Token calls and %d API calls, none failed; %d grants, %d refreshes (by instance %v); %d API calls refused", calls, api, c.Grants, c.Renewals, c.RenewalsBy, voided)
	if c.Grants != 1 {
		t.Fatalf("%d grants, want 1", c.Grants)
	}
	// One renewal once Redis is back (the token went stale during the
	// outage), and maybe one more for the token that renewal brought, if it
	// turned stale before the run ended. Eight processes renewing on their
	// own would make many more.
	if c.Renewals < 1 || c.Renewals > 2 {
		t.Fatalf("%d refreshes, want 1 or 2", c.Renewals)
	}
}

// The vendor voids the token every instance holds: 50 instances (Clients
// with their own Store and connections, as 50 replicas would have) see a 401
// for it and make one renewal between them; each makes at most one request
// with the voided token.
func TestFleet401OneRenewal(t *testing.T) {
	for _, tc := range []struct {
		provider       string
		grants, renews int // expected after the void
	}{
		{emulator.ByDesign, 0, 1},      // the refresh token survives: one refresh
		{emulator.MoversConnect, 1, 0}, // a login elsewhere voided both: one Password grant
	} {
		t.Run(tc.provider, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			cfg, err := core.ParseConfig([]byte(e.emu.Config(tc.provider)))
			if err != nil {
				t.Fatal(err)
			}
			const n = 50
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			apis := make([]*http.Client, n)
			for i := range n {
				s, err := redisstore.Open(e.redis.URL(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				name := fmt.Sprintf("i%d", i)
				c, err := hostshim.New(cfg, hostshim.WithStore(s), hostshim.WithHTTPClient(&http.Client{Transport: instanceHeader{name, http.DefaultTransport}}))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				// Fresh connections for API calls (see fleetproc: a POST on a
				// closing keep-alive connection is not retried by net/http).
				apis[i] = &http.Client{Transport: c.Transport(instanceHeader{name, &http.Transport{DisableKeepAlives: true}})}
			}
			callAll := func() {
				var wg sync.WaitGroup
				for i, api := range apis {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if status := callAPI(ctx, api, tc.provider, cfg.BaseURL); status != http.StatusOK {
							t.Errorf("instance %d: API answered %d", i, status)
						}
					}()
				}
				wg.Wait()
			}
			callAll()
			if c := e.emu.Fleet(tc.provider); c.Grants != 1 || c.Renewals != 0 || len(c.Refused) != 0 {
				t.Fatalf("first round: %d grants, %d renewals, refused %v; want 1 grant", c.Grants, c.Renewals, c.Refused)
			}
			before := e.emu.Fleet(tc.provider)
			e.emu.VoidAccessTokens(tc.provider)
			callAll()
			callAll() // and nobody is refused again
			after := e.emu.Fleet(tc.provider)
			grants, renews := after.Grants-before.Grants, after.Renewals-before.Renewals
			voided := checkVoided(t, after)
			t.Logf("%s: %d instances saw a 401 for one token: %d grants, %d renewals; %d requests with the voided token (at most 1 per instance)", tc.provider, n, grants, renews, voided)
			if grants != tc.grants || renews != tc.renews {
				t.Fatalf("after the void: %d grants and %d renewals, want %d and %d", grants, renews, tc.grants, tc.renews)
			}
			if voided != n {
				t.Fatalf("%d requests with the voided token, want one per instance (%d)", voided, n)
			}
		})
	}
}

// callAPI calls the provider's protected resource through a Client's Transport.
func callAPI(ctx context.Context, c *http.Client, provider, base string) int {
	method, path := "GET", "/contacts/contact_information/show"
	switch provider {
	case core.MoversConnect:
		method, path = "POST", "/mobileapi/localservicesinquiry"
	case core.ByDesign:
		path = "/api/user/profile"
	case core.DQEIDMobile:
		path = "/IDMOBILE/"
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return -1
	}
	resp, err := c.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode
}

// instanceHeader tells the emulator which instance sent a request.
type instanceHeader struct {
	name string
	base http.RoundTripper
}

func (h instanceHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(emulator.FleetInstanceHeader, h.name)
	return h.base.RoundTrip(r)
}

type lockedBuilder struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedBuilder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
