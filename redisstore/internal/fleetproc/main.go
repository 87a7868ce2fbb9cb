// Command fleetproc is one instance of a fleet in the redisstore tests: a
// hostshim.Client sharing its token through Redis, called by many
// goroutines at once. The tests build it and run several copies against one
// emulator and one redis-server, then compare what the emulator counted.
//
// It reads the config from $FLEET_CONFIG, prints "ready" once its Client
// exists, waits for a line on stdin (so that all copies start together),
// runs, and prints one JSON line: how many calls succeeded and failed, how
// many distinct tokens it saw, and a hash of the token it ended with (never
// the token itself).
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/emulator"
	"github.com/tokensmith/tokensmith/redisstore"
)

// Result is the JSON line fleetproc prints.
type Result struct {
	Instance string `json:"instance"`
	OK       int    `json:"ok"`
	Failed   int    `json:"failed"`
	FirstErr string `json:"first_error,omitempty"`
	Distinct int    `json:"distinct"` // distinct access tokens the calls returned
	Final    string `json:"final"`    // hash of the token held at the end
	APIOK    int    `json:"api_ok"`
	APIFail  int    `json:"api_failed"`
}

func main() {
	redisURL := flag.String("redis", "", "Redis URL")
	instance := flag.String("instance", "", "name sent in the emulator's instance header")
	goroutines := flag.Int("goroutines", 50, "concurrent callers")
	mode := flag.String("mode", "token", "token: each goroutine calls Token once; hold: they call Token (and the API with -api) until -duration ends")
	duration := flag.Duration("duration", 10*time.Second, "hold mode: how long to call")
	api := flag.Bool("api", false, "also call the provider's API through the Client's Transport")
	timeoutMs := flag.Int64("timeout-ms", 0, "core timeout_ms (the lease TTL is 2*timeout+budget)")
	budgetMs := flag.Int64("budget-ms", 0, "core budget_ms")
	holdOffMs := flag.Int64("hold-off-ms", 0, "core hold_off_ms")
	pollMs := flag.Int64("poll-ms", 0, "core lease_poll_ms")
	namespace := flag.String("namespace", "", "redisstore namespace")
	storeKind := flag.String("store", "redis", "redis: share the token through -redis; memory: keep it to this process (the fleet without Redis, for the benchmark)")
	flag.Parse()

	cfg, err := core.ParseConfig([]byte(os.Getenv("FLEET_CONFIG")))
	if err != nil {
		fail("config: %v", err)
	}
	var store hostshim.Store = hostshim.NewMemoryStore()
	if *storeKind == "redis" {
		rs, err := redisstore.Open(*redisURL, cfg, redisstore.WithNamespace(*namespace))
		if err != nil {
			fail("store: %v", err)
		}
		defer rs.Close()
		store = rs
	}
	hc := &http.Client{Transport: instanceHeader{*instance, http.DefaultTransport}}
	c, err := hostshim.New(cfg,
		hostshim.WithStore(store),
		hostshim.WithHTTPClient(hc),
		hostshim.WithOptions(core.Options{TimeoutMs: *timeoutMs, BudgetMs: *budgetMs, HoldOffMs: *holdOffMs, LeasePollMs: *pollMs}),
	)
	if err != nil {
		fail("client: %v", err)
	}
	defer c.Close()
	// API calls get connections of their own, never reused: a POST on a
	// keep-alive connection the server is closing fails without a retry
	// ("server closed idle connection"), a network race that says nothing
	// about tokens.
	apiTransport := &http.Transport{DisableKeepAlives: true}
	apiClient := &http.Client{Transport: c.Transport(instanceHeader{*instance, apiTransport}), Timeout: 30 * time.Second}

	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fail("waiting for the start line: %v", err)
	}

	var (
		mu  sync.Mutex
		res = Result{Instance: *instance}
		tok = map[string]bool{}
	)
	record := func(t core.Token, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.Failed++
			if res.FirstErr == "" {
				res.FirstErr = err.Error()
			}
			return
		}
		res.OK++
		tok[t.AccessToken] = true
	}
	recordAPI := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.APIFail++
			if res.FirstErr == "" {
				res.FirstErr = "api: " + err.Error()
			}
			return
		}
		res.APIOK++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	end := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for range *goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				record(c.Token(ctx))
				if *api {
					recordAPI(callAPI(ctx, apiClient, cfg.Provider, cfg.BaseURL))
				}
				if *mode != "hold" || time.Now().After(end) {
					return
				}
				// Callers of a real service do other work between calls;
				// a spinning loop would only starve the other processes.
				time.Sleep(time.Duration(5+rand.IntN(10)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	// FreshToken waits for a renewal the calls started, so that the token
	// compared across processes is the one the fleet settled on.
	final, err := c.FreshToken(ctx)
	if err == nil {
		res.Final = hash(final.AccessToken)
	}
	res.Distinct = len(tok)
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// callAPI calls the provider's protected resource on the emulator; a non-2xx
// answer (after the Transport's one retry with a new token) is an error.
func callAPI(ctx context.Context, c *http.Client, provider, base string) error {
	var req *http.Request
	var err error
	switch provider {
	case core.MoversConnect:
		req, err = http.NewRequestWithContext(ctx, "POST", base+"/mobileapi/localservicesinquiry", nil)
	case core.ByDesign:
		req, err = http.NewRequestWithContext(ctx, "GET", base+"/api/user/profile", nil)
	case core.DQEIDMobile:
		req, err = http.NewRequestWithContext(ctx, "GET", base+"/IDMOBILE/", nil)
	default:
		req, err = http.NewRequestWithContext(ctx, "GET", base+"/contacts/contact_information/show", nil)
	}
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("API answered %d", resp.StatusCode)
	}
	return nil
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

func hash(s string) string {
	if s == "" {
		return ""
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "fleetproc: "+format+"\n", a...)
	os.Exit(2)
}
