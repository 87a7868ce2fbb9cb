package wazero_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/hostshim"
	tswazero "github.com/tokensmith/tokensmith/hostshim/wazero"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// The core as WebAssembly: one option, nothing else about the Client
// changes. The emulator stands in for DQE IDMobile.
func ExampleRuntime() {
	emu := emulator.New(emulator.Options{})
	if err := emu.Start(""); err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	cfg, err := core.ParseConfig([]byte(emu.Config(core.DQEIDMobile)))
	if err != nil {
		log.Fatal(err)
	}
	c, err := hostshim.New(cfg, hostshim.WithRuntime(tswazero.Runtime()))
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
	fmt.Println(c.Runtime(), resp.Status)
	// Output: wasm 200 OK
}
