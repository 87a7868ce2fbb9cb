package hostshim_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// A Client behind golang.org/x/oauth2: the token is cached, renewed once for
// all callers and kept in a file across restarts. The emulator stands in for
// ByDesign, whose API takes the token as "Authorization: Bearer", the header
// oauth2.Transport sends.
func ExampleClient_TokenSource() {
	emu := emulator.New(emulator.Options{})
	if err := emu.Start(""); err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	// In real use: os.ReadFile("bydesign.json"), secrets from the environment.
	cfg, err := core.ParseConfig([]byte(emu.Config(core.ByDesign)))
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	c, err := hostshim.New(cfg,
		hostshim.WithStore(hostshim.NewFileStore(filepath.Join(dir, "token.json"))),
		// hostshim.WithRuntime(tswazero.Runtime()) would run the core as
		// WebAssembly (package hostshim/wazero); Native is the default.
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := context.Background()
	httpClient := oauth2.NewClient(ctx, c.TokenSource(ctx))
	resp, err := httpClient.Get(emu.BaseURL(core.ByDesign) + "/api/user/profile")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// Client.Transport attaches the token wherever the vendor wants it: here
// DQE IDMobile's token and licence query parameters.
func ExampleClient_Transport() {
	emu := emulator.New(emulator.Options{})
	if err := emu.Start(""); err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	cfg, err := core.ParseConfig([]byte(emu.Config(core.DQEIDMobile)))
	if err != nil {
		log.Fatal(err)
	}
	c, err := hostshim.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	api := &http.Client{Transport: c.Transport(nil)}
	resp, err := api.Get(emu.BaseURL(core.DQEIDMobile) + "/IDMOBILE/?number=%2B33600000000")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}
