package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

const demoUsage = `Usage: tokensmith demo [--runtime native|wasm]

Starts the emulator on a random loopback port, obtains a token from each of
the four providers through hostshim.Client, calls each provider's protected
resource with it through Client.Transport, and prints what happened.
`

const demoExample = `  tokensmith demo
  tokensmith demo --runtime wasm
`

func cmdDemo(args []string, e env) int {
	cmd := newFlags("demo", demoUsage, demoExample)
	fs := cmd.fs
	rtName := fs.String("runtime", "native", "where the core runs: native or wasm")
	if code, done := parseFlags(cmd, args, e); done {
		return code
	}
	rt, err := parseRuntime(*rtName)
	if err != nil {
		return fail(e, err)
	}
	srv := emulator.New(emulator.Options{})
	if err := srv.Start(""); err != nil {
		return fail(e, &core.Error{Code: core.CodeUsage, Message: "cannot start the emulator: " + clip(err.Error(), 200)})
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	rows, err := runDemo(ctx, srv, rt, time.Now)
	fmt.Fprintf(e.stdout, "tokensmith demo: emulator at %s, runtime %s\n\n", srv.URL(), rt)
	printDemo(e.stdout, rows)
	if err != nil {
		fmt.Fprintln(e.stdout)
		return fail(e, err)
	}
	return exitOK
}

type demoRow struct {
	provider, token, expiresIn, attach, resource string
}

// runDemo does the demo's work; it stops at the first failure and returns
// the rows done so far.
func runDemo(ctx context.Context, srv *emulator.Server, rt hostshim.Runtime, now func() time.Time) ([]demoRow, error) {
	var rows []demoRow
	for _, p := range emulator.Providers {
		row, err := demoProvider(ctx, srv, p, rt, now)
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func demoProvider(ctx context.Context, srv *emulator.Server, p string, rt hostshim.Runtime, now func() time.Time) (demoRow, error) {
	cfg, err := core.ParseConfig([]byte(srv.Config(p)))
	if err != nil {
		return demoRow{}, err
	}
	c, err := hostshim.New(cfg, hostshim.WithRuntime(rt), hostshim.WithClock(now))
	if err != nil {
		return demoRow{}, err
	}
	defer c.Close()
	tok, err := c.Token(ctx)
	if err != nil {
		return demoRow{}, err
	}
	req, err := protectedRequest(ctx, srv, p)
	if err != nil {
		return demoRow{}, err
	}
	resp, err := (&http.Client{Transport: c.Transport(nil)}).Do(req)
	if err != nil {
		return demoRow{}, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	row := demoRow{
		provider:  p,
		token:     shorten(tok.AccessToken),
		expiresIn: expiresIn(tok.ExpiresAt, now()),
		attach:    describeAttach(tok.Attach),
		resource:  fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)),
	}
	if resp.StatusCode != http.StatusOK {
		return row, &core.Error{Code: core.CodeInvalidToken, Status: resp.StatusCode, Message: p + ": the protected resource refused the token"}
	}
	return row, nil
}

// protectedRequest is a call to provider's emulated API, without the token:
// Client.Transport adds it.
func protectedRequest(ctx context.Context, srv *emulator.Server, p string) (*http.Request, error) {
	base := srv.BaseURL(p)
	switch p {
	case emulator.MoversConnect:
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/mobileapi/localservicesinquiry", strings.NewReader(`{"ZipCode":"10001"}`))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	case emulator.DQEIDMobile:
		return http.NewRequestWithContext(ctx, http.MethodGet, base+"/IDMOBILE/?number=%2B33600000000", nil)
	case emulator.ByDesign:
		return http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/user/profile", nil)
	case emulator.CRMCOM:
		return http.NewRequestWithContext(ctx, http.MethodGet, base+"/contacts/contact_information/show", nil)
	}
	return nil, &core.Error{Code: core.CodeUsage, Message: "no protected resource for " + p}
}

// shorten shows the first 6 characters of a token, never the whole.
func shorten(t string) string {
	if len(t) <= 6 {
		return "…"
	}
	return t[:6] + "…"
}

// describeAttach says how the token travels: "header Token",
// "query token+licence", "header Authorization: Bearer", "query token".
func describeAttach(a core.Attach) string {
	if a.In == "header" {
		if scheme, _, ok := strings.Cut(a.Value, " "); ok && strings.EqualFold(scheme, "bearer") {
			return "header " + a.Name + ": Bearer"
		}
		return "header " + a.Name
	}
	names := []string{a.Name}
	var more []string
	for k := range a.Params {
		more = append(more, k)
	}
	sort.Strings(more)
	return a.In + " " + strings.Join(append(names, more...), "+")
}

func printDemo(w io.Writer, rows []demoRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "provider\ttoken\texpires in\tattached as\tprotected resource")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.provider, r.token, r.expiresIn, r.attach, r.resource)
	}
	tw.Flush()
}
