package main

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

const emulateUsage = `Usage: tokensmith emulate [--addr 127.0.0.1:8787] [--config-dir DIR]

Serves an emulator of the four vendors' token endpoints and one protected
resource each, with the vendors' documented quirks, until SIGINT or SIGTERM.
It writes a ready-to-use client config per provider (demo credentials) into
--config-dir, or a new temporary directory, and prints their paths.
`

const emulateExample = `  tokensmith emulate --addr 127.0.0.1:8787 --config-dir ./demo-configs &
  tokensmith token --config ./demo-configs/bydesign.json
`

func cmdEmulate(args []string, e env) int {
	cmd := newFlags("emulate", emulateUsage, emulateExample)
	fs := cmd.fs
	addr := fs.String("addr", "127.0.0.1:8787", "listen `address`")
	dir := fs.String("config-dir", "", "write the demo configs into `DIR` (default: a new temporary directory)")
	formOnly := fs.Bool("bydesign-form-only", false, "ByDesign refuses JSON bodies, like the real OWIN server")
	if code, done := parseFlags(cmd, args, e); done {
		return code
	}
	srv := emulator.New(emulator.Options{ByDesignFormOnly: *formOnly})
	if err := srv.Start(*addr); err != nil {
		return fail(e, &core.Error{Code: core.CodeUsage, Message: "cannot listen: " + clip(err.Error(), 200)})
	}
	defer srv.Close()
	cfgDir, cleanup, err := configDir(*dir)
	if err != nil {
		return fail(e, &core.Error{Code: core.CodeUsage, Message: "cannot create the config directory: " + clip(err.Error(), 200)})
	}
	defer cleanup()
	paths, err := writeConfigs(srv, cfgDir)
	if err != nil {
		return fail(e, &core.Error{Code: core.CodeUsage, Message: "cannot write the configs: " + clip(err.Error(), 200)})
	}
	fmt.Fprintf(e.stdout, "tokensmith emulator listening on %s\n\n", srv.URL())
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "provider\tbase_url\tconfig")
	for _, p := range emulator.Providers {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p, srv.BaseURL(p), paths[p])
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "\nTry:  tokensmith token --config %s\nStop: Ctrl-C\n", paths[core.DQEIDMobile])
	<-e.ctx.Done()
	return exitOK
}

// configDir returns dir, created if need be, or a new temporary directory
// that cleanup removes.
func configDir(dir string) (string, func(), error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "tokensmith-emulate-")
		if err != nil {
			return "", nil, err
		}
		return d, func() { os.RemoveAll(d) }, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	return dir, func() {}, nil
}

// writeConfigs writes <provider>.json per provider, mode 0600: demo
// credentials, but shaped like real ones and treated the same way.
func writeConfigs(srv *emulator.Server, dir string) (map[string]string, error) {
	paths := map[string]string{}
	for _, p := range emulator.Providers {
		path := filepath.Join(dir, p+".json")
		if err := os.WriteFile(path, []byte(srv.Config(p)+"\n"), 0o600); err != nil {
			return nil, err
		}
		paths[p] = path
	}
	return paths, nil
}
