// Command nativesize is the smallest native-only tokensmith program: it
// creates a hostshim.Client from a config on stdin and prints a token. It
// exists to measure what a native program links (bench/run.sh prints its
// stripped size); it must never link wazero or the embedded WASM module.
package main

import (
	"context"
	"io"
	"os"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
)

func main() {
	data, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		os.Exit(2)
	}
	cfg, err := core.ParseConfig(data)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	c, err := hostshim.New(cfg)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(2)
	}
	defer c.Close()
	tok, err := c.Token(context.Background())
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.Write(append(tok.MarshalWire(), '\n'))
}
