// Command emuctl serves the vendor emulator (internal/emulator) for the JS
// tests, plus a small control API under /_ctl/ so that a test written in
// JavaScript can inject faults, read request counts and reset state, as the
// Go tests do through the emulator's methods. Test tooling only: it is never
// part of the package.
//
//	emuctl [--addr 127.0.0.1:0] [--bydesign-form-only] [--lifetime provider=seconds]…
//
// It prints "READY http://127.0.0.1:PORT" on stdout once listening and serves
// until stdin closes (the test process died) or SIGTERM.
//
//	GET  /_ctl/configs                 {"<provider>": {…config…}, …}
//	POST /_ctl/inject?provider=P       [{"status":503,"retry_after":"1","html":false,"delay_ms":0,
//	                                     "stall":false,"truncate":false,"oversize":false,"reset":false}, …]
//	GET  /_ctl/count?provider=P        {"count":N}   token-endpoint requests so far
//	POST /_ctl/reset                   faults, counters and every issued token forgotten
//	POST /_ctl/dqe-legacy?on=true      DQE answers errors the older way (HTTP 200, error_id)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokensmith/tokensmith/internal/emulator"
)

type lifetimes map[string]time.Duration

func (l lifetimes) String() string { return fmt.Sprint(map[string]time.Duration(l)) }
func (l lifetimes) Set(v string) error {
	p, secs, ok := strings.Cut(v, "=")
	n, err := strconv.Atoi(secs)
	if !ok || err != nil || n <= 0 {
		return fmt.Errorf("want provider=seconds, got %q", v)
	}
	l[p] = time.Duration(n) * time.Second
	return nil
}

type fault struct {
	Status     int    `json:"status"`
	RetryAfter string `json:"retry_after"`
	HTML       bool   `json:"html"`
	DelayMs    int    `json:"delay_ms"`
	Stall      bool   `json:"stall"`
	Truncate   bool   `json:"truncate"`
	Oversize   bool   `json:"oversize"`
	Reset      bool   `json:"reset"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	formOnly := flag.Bool("bydesign-form-only", false, "ByDesign refuses JSON bodies, like the real OWIN server")
	lt := lifetimes{}
	flag.Var(lt, "lifetime", "access-token lifetime override, provider=seconds (repeatable)")
	flag.Parse()

	emu := emulator.New(emulator.Options{ByDesignFormOnly: *formOnly, TokenLifetime: lt})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emuctl:", err)
		os.Exit(1)
	}
	url := "http://" + ln.Addr().String()
	emu.SetURL(url)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ctl/configs", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]json.RawMessage{}
		for _, p := range emulator.Providers {
			out[p] = json.RawMessage(emu.Config(p))
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("POST /_ctl/inject", func(w http.ResponseWriter, r *http.Request) {
		var fs []fault
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&fs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, f := range fs {
			emu.Inject(r.URL.Query().Get("provider"), emulator.Fault{
				Status: f.Status, RetryAfter: f.RetryAfter, HTML: f.HTML, Delay: time.Duration(f.DelayMs) * time.Millisecond,
				Stall: f.Stall, Truncate: f.Truncate, Oversize: f.Oversize, Reset: f.Reset,
			})
		}
		writeJSON(w, map[string]int{"queued": len(fs)})
	})
	mux.HandleFunc("GET /_ctl/count", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]int{"count": emu.TokenRequests(r.URL.Query().Get("provider"))})
	})
	mux.HandleFunc("POST /_ctl/reset", func(w http.ResponseWriter, r *http.Request) {
		emu.Reset()
		writeJSON(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_ctl/dqe-legacy", func(w http.ResponseWriter, r *http.Request) {
		emu.SetDQELegacyErrors(r.URL.Query().Get("on") == "true")
		writeJSON(w, map[string]bool{"ok": true})
	})
	mux.Handle("/", emu.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("READY " + url)

	done := make(chan struct{})
	go func() { // the parent test holds our stdin: EOF means it is gone
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sig:
	}
	_ = emu.Close()
	_ = srv.Close()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
