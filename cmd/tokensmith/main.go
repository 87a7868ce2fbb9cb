// Command tokensmith obtains access tokens from MoversConnect, DQE IDMobile,
// ByDesign and CRM.COM, and serves an emulator of all four.
//
//	tokensmith token --config FILE [--state FILE] [--runtime native|wasm]
//	tokensmith emulate [--addr 127.0.0.1:8787]
//	tokensmith demo [--runtime native|wasm]
//	tokensmith version
//
// Exit status: 0 success, 1 the vendor or the token failed, 2 usage or
// configuration. On failure stdout carries the wire-format error
// ({"error":{"code",…}}) and stderr one sentence; no secret is printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	tswazero "github.com/tokensmith/tokensmith/hostshim/wazero"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

// Exit statuses.
const (
	exitOK     = 0
	exitVendor = 1 // the vendor or the token failed
	exitUsage  = 2 // bad flags or configuration
)

// env is everything a command touches outside itself, so tests can run
// commands in process.
type env struct {
	ctx    context.Context // ends on SIGINT/SIGTERM
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) (string, bool)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels everything (requests, waits, reads);
		// a second one gets the default behaviour: the process ends.
		<-ctx.Done()
		stop()
	}()
	code := run(os.Args[1:], env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.LookupEnv})
	stop()
	os.Exit(code)
}

const mainUsage = `tokensmith obtains, caches and renews access tokens for MoversConnect,
DQE IDMobile, ByDesign and CRM.COM.

Usage:
  tokensmith token   --config FILE [--state FILE] [--runtime native|wasm]
  tokensmith emulate [--addr 127.0.0.1:8787] [--config-dir DIR]
  tokensmith demo    [--runtime native|wasm]
  tokensmith version

Run "tokensmith COMMAND --help" for a command's flags and an example.
`

func run(args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, mainUsage)
		return exitUsage
	}
	switch args[0] {
	case "token":
		return cmdToken(args[1:], e)
	case "emulate":
		return cmdEmulate(args[1:], e)
	case "demo":
		return cmdDemo(args[1:], e)
	case "version", "--version", "-version":
		fmt.Fprintln(e.stdout, "tokensmith", versionString())
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(e.stdout, mainUsage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "tokensmith: unknown command %q; run tokensmith --help.\n", clip(args[0], 40))
	return exitUsage
}

func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if v == "" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "devel"
	}
	if ok {
		v += " (" + bi.GoVersion + ")"
	}
	return v
}

// command is a subcommand's flags and help text.
type command struct {
	fs             *flag.FlagSet
	usage, example string
}

// newFlags makes a FlagSet that prints nothing itself: --help and errors
// are reported by parseFlags.
func newFlags(name, usage, example string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{fs: fs, usage: usage, example: example}
}

// help prints usage, the flags and an example.
func (c *command) help(w io.Writer) {
	fmt.Fprint(w, c.usage)
	fmt.Fprintln(w, "\nFlags:")
	c.fs.SetOutput(w)
	c.fs.PrintDefaults()
	c.fs.SetOutput(io.Discard)
	fmt.Fprint(w, "\nExample:\n"+c.example)
}

// parseFlags parses args; done is true when the command must stop with code
// (after --help, or a bad flag reported as a usage error).
func parseFlags(c *command, args []string, e env) (code int, done bool) {
	fs := c.fs
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.help(e.stdout)
		return exitOK, true
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", clip(fs.Arg(0), 40))
	}
	if err != nil {
		return fail(e, &core.Error{Code: core.CodeUsage, Message: err.Error() + "; run tokensmith " + fs.Name() + " --help"}), true
	}
	return exitOK, false
}

// fail reports err: the wire-format error on stdout, one sentence on stderr.
// The exit status says whose fault it is.
func fail(e env, err error) int {
	ce := toCoreError(err)
	e.stdout.Write(append(ce.MarshalWire(), '\n'))
	fmt.Fprintln(e.stderr, sentence(ce))
	if ce.Code == core.CodeConfig || ce.Code == core.CodeUsage {
		return exitUsage
	}
	return exitVendor
}

func toCoreError(err error) *core.Error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &core.Error{Code: core.CodeUsage, Message: "interrupted"}
	case errors.Is(err, context.DeadlineExceeded):
		return &core.Error{Code: core.CodeNetwork, Message: "timed out", Retryable: true}
	}
	return &core.Error{Code: core.CodeUsage, Message: err.Error()}
}

// sentence is core.Error's own one-line text, closed with a full stop.
func sentence(e *core.Error) string {
	s := strings.ReplaceAll(e.Error(), "\n", " ")
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func parseRuntime(s string) (hostshim.Runtime, error) {
	switch strings.ToLower(s) {
	case "", "native":
		return hostshim.Native, nil
	case "wasm":
		return tswazero.Runtime(), nil
	}
	return nil, &core.Error{Code: core.CodeUsage, Message: "--runtime must be native or wasm"}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
