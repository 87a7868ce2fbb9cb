package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
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
		if err := writeFileSafely(path, []byte(srv.Config(p)+"\n")); err != nil {
			return nil, err
		}
		paths[p] = path
	}
	return paths, nil
}

// writeFileSafely writes data at path, mode 0600, never through a symlink
// (issue 8 item 15: a symlink planted in --config-dir had the configs
// written to its target, mode 0644). The data goes into a new file created
// with O_EXCL|O_NOFOLLOW, which is then renamed over path: a rename
// replaces a name, it never follows one.
func writeFileSafely(path string, data []byte) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file (a symlink?): refusing to write there", path)
	}
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
