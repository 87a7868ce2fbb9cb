package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
)

const tokenUsage = `Usage: tokensmith token --config FILE [--state FILE|redis://…] [--runtime native|wasm]

Prints an access token as wire-format JSON on stdout.

The config is a JSON object (see README.md, "Config"); "--config -" reads it
from stdin. Any field can come from the environment instead, as
TOKENSMITH_<FIELD IN UPPER CASE> (TOKENSMITH_PASSWORD, TOKENSMITH_CLIENT_SECRET,
TOKENSMITH_KEY…): a variable that is set and not empty overrides the file.
With TOKENSMITH_PROVIDER set, --config may be left out.

With --state FILE the token is kept between runs (mode 0600): reused while
fresh, renewed when stale (MoversConnect: activated), and a new grant is made
only when the renewal is refused. Runs sharing FILE at the same time make one
vendor request between them (an exclusive lock on FILE.lock) and print the
same token. A FILE that is not this provider's token (corrupt, unreadable,
another provider's) is refused with exit status 2 and never overwritten.

With --state redis://[USER:PASSWORD@]HOST:PORT/DB (rediss:// for TLS, or
env:NAME to read that URL from the environment variable NAME, keeping the
password off the command line) the token lives in Redis, shared by every
process and machine with the same configuration: runs at the same time make
one vendor request between them. Add ?namespace=NAME for configs that name
their account by secrets only (DQE IDMobile, CRM.COM by key). See
docs/fleet.md.

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
	statePath := fs.String("state", "", "keep the token in `FILE` (or a redis:// URL, or env:NAME) between runs")
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
	file, err := readConfigFile(e.ctx, *configPath, e.stdin)
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
	if *statePath != "" {
		st, err := openState(*statePath, cfg, e.getenv)
		if err != nil {
			return fail(e, err)
		}
		if err := checkState(e.ctx, *statePath, st, cfg.Provider); err != nil {
			return fail(e, err)
		}
		// A run is one shot: renewing alone whenever the store is down
		// would make every run a grant (at MoversConnect, voiding the
		// fleet's token). Fail and say so instead.
		opts = append(opts, hostshim.WithStore(st), hostshim.WithStoreRequired())
	}
	c, err := hostshim.New(cfg, opts...)
	if err != nil {
		return fail(e, err)
	}
	defer c.Close()
	tok, err := c.FreshToken(e.ctx)
	if err != nil {
		if e.ctx.Err() != nil {
			err = e.ctx.Err() // "interrupted", not what the cancellation caused
		}
		return fail(e, err)
	}
	e.stdout.Write(append(tok.MarshalWire(), '\n'))
	return exitOK
}

// maxConfigBytes bounds the config read, from a file or stdin alike.
const maxConfigBytes = 1 << 20

// readConfigFile reads the config file, or stdin for "-"; nil for "". The
// read is bounded (a config is a few hundred bytes; --config /dev/zero must
// not eat the machine) and ends when ctx does (a FIFO or a terminal that
// never delivers must not outlive SIGTERM).
func readConfigFile(ctx context.Context, path string, stdin io.Reader) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r io.Reader = stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				done <- result{nil, err}
				return
			}
			defer f.Close()
			r = f
		}
		data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
		done <- result{data, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.err != nil {
		msg := res.err.Error()
		if pe, ok := res.err.(*fs.PathError); ok {
			msg = pe.Op + " " + pe.Path + ": " + pe.Err.Error()
		}
		return nil, &core.Error{Code: core.CodeConfig, Field: "config", Message: "cannot read the config: " + clip(msg, 200)}
	}
	if len(res.data) > maxConfigBytes {
		return nil, &core.Error{Code: core.CodeConfig, Field: "config", Message: "the config is larger than 1 MiB: not a tokensmith config"}
	}
	return res.data, nil
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
