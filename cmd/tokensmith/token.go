package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
)

const tokenUsage = `Usage: tokensmith token --config FILE [--state FILE] [--runtime native|wasm]

Prints an access token as wire-format JSON on stdout.

The config is a JSON object (see README.md, "Config"); "--config -" reads it
from stdin. Any field can come from the environment instead, as
TOKENSMITH_<FIELD IN UPPER CASE> (TOKENSMITH_PASSWORD, TOKENSMITH_CLIENT_SECRET,
TOKENSMITH_KEY…): a variable that is set and not empty overrides the file.
With TOKENSMITH_PROVIDER set, --config may be left out.

With --state FILE the token is kept between runs (mode 0600): reused while
fresh, renewed when stale (MoversConnect: activated), and a new grant is made
only when the renewal is refused.

Exit status: 0 token printed; 1 the vendor refused or failed; 2 usage or
configuration error. On failure stdout carries {"error":{"code",...}} and
stderr one sentence. No secret is ever printed.
`

const tokenExample = `  tokensmith emulate &          # prints the path of its demo configs
  tokensmith token --config /tmp/tokensmith-emulate-123/dqe-idmobile.json --state ~/.dqe-token.json
  TOKENSMITH_PASSWORD="$PW" tokensmith token --config movers.json
`

func cmdToken(args []string, e env) int {
	cmd := newFlags("token", tokenUsage, tokenExample)
	fs := cmd.fs
	configPath := fs.String("config", "", "config `FILE` (JSON); - reads stdin")
	statePath := fs.String("state", "", "keep the token in `FILE` between runs")
	rtName := fs.String("runtime", "native", "where the core runs: native or wasm")
	timeout := fs.Duration("timeout", hostshim.DefaultTimeout, "bound on each token request")
	attempts := fs.Int("max-attempts", hostshim.DefaultRetry.MaxAttempts, "token requests per run, retries included (network, 5xx, 429 only)")
	if code, done := parseFlags(cmd, args, e); done {
		return code
	}
	rt, err := parseRuntime(*rtName)
	if err != nil {
		return fail(e, err)
	}
	if *attempts < 1 {
		return fail(e, &core.Error{Code: core.CodeUsage, Message: "--max-attempts must be at least 1"})
	}
	file, err := readConfigFile(*configPath, e.stdin)
	if err != nil {
		return fail(e, err)
	}
	cfg, err := buildConfig(file, e.getenv)
	if err != nil {
		return fail(e, err)
	}
	opts := []hostshim.Option{
		hostshim.WithRuntime(rt),
		hostshim.WithTimeout(*timeout),
		hostshim.WithRetry(hostshim.RetryPolicy{MaxAttempts: *attempts}),
	}
	var store *checkedStore
	if *statePath != "" {
		store = &checkedStore{Store: hostshim.NewFileStore(*statePath)}
		opts = append(opts, hostshim.WithStore(store))
	}
	c, err := hostshim.New(cfg, opts...)
	if err != nil {
		return fail(e, err)
	}
	defer c.Close()
	tok, err := c.FreshToken(e.ctx)
	if err != nil {
		return fail(e, err)
	}
	e.stdout.Write(append(tok.MarshalWire(), '\n'))
	if store != nil {
		if err := store.failed(); err != nil {
			// The token is good and printed; only its keeping failed.
			e.stderr.Write([]byte("tokensmith: warning: cannot write the state file: " + clip(err.Error(), 200) + ".\n"))
		}
	}
	return exitOK
}

// readConfigFile reads the config file, or stdin for "-"; nil for "".
func readConfigFile(path string, stdin io.Reader) ([]byte, error) {
	var data []byte
	var err error
	switch path {
	case "":
		return nil, nil
	case "-":
		data, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	default:
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, &core.Error{Code: core.CodeConfig, Field: "config", Message: "cannot read the config: " + clip(err.Error(), 200)}
	}
	return data, nil
}

// checkedStore remembers a failed Save, which the Client only logs, so the
// command can say so.
type checkedStore struct {
	hostshim.Store
	mu  sync.Mutex
	err error
}

func (s *checkedStore) Save(ctx context.Context, t core.Token) error {
	err := s.Store.Save(ctx, t)
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	return err
}

func (s *checkedStore) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// expiresIn is a short human duration: "2h00m", "4m59s".
func expiresIn(expiresAt int64, now time.Time) string {
	if expiresAt == 0 {
		return "unknown"
	}
	d := time.Duration(expiresAt-now.Unix()) * time.Second
	if d < 0 {
		return "expired"
	}
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}
