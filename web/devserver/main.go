// Command devserver serves tokensmith's demo page (web/) together with the
// vendor emulator (internal/emulator), on loopback only: `make web` runs it,
// and so do the browser tests and the browser benchmark.
//
//	devserver [--addr 127.0.0.1:8080] [--root DIR] [--short-lifetime 20s] [--broker URL]
//
// It listens on four loopback ports, so that every call the page makes is
// cross-origin, exactly as a single-page app calling a vendor is:
//
//   - the page: web/, js/ (the package, its .wasm as application/wasm) and
//     testdata/vectors/ from the checkout, plus a small control API under
//     /demo/ (the emulators' addresses and demo configs, fault injection);
//   - the emulator, which answers CORS for loopback origins (cors.go);
//   - a second emulator whose tokens live --short-lifetime, so that a
//     renewal is seen within seconds;
//   - "no CORS": the first emulator behind a front that drops the Origin
//     header, so it answers no CORS at all, as most real vendors do.
//
// It prints "READY <page URL>" on stdout once every port listens and stops on
// SIGINT or SIGTERM, or when stdin closes if --exit-on-stdin-close is set (a
// test harness that dies takes the server with it).
//
// Test and demo tooling only: nothing here ships in the JS package.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tokensmith/tokensmith/internal/emulator"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the page's listen `address` (port 0: any free port)")
	root := flag.String("root", "", "the checkout to serve (default: the nearest directory above the working directory with a go.mod)")
	short := flag.Duration("short-lifetime", 20*time.Second, "token lifetime of the short-lived emulator")
	broker := flag.String("broker", "", "`URL` of a running edge broker, told to the page")
	stdinExit := flag.Bool("exit-on-stdin-close", false, "stop when stdin closes (for test harnesses)")
	flag.Parse()

	dir := *root
	if dir == "" {
		var err error
		if dir, err = findRoot(); err != nil {
			log.Fatal("devserver: ", err)
		}
	}
	d, err := start(config{Addr: *addr, Root: dir, ShortLifetime: *short, Broker: *broker})
	if err != nil {
		log.Fatal("devserver: ", err)
	}
	fmt.Printf("tokensmith demo page: %s\n", d.PageURL)
	fmt.Printf("  emulator %s, short-lived tokens %s, without CORS %s\n", d.env.Emulator, d.env.Short, d.env.NoCORS)
	if d.env.Broker != "" {
		fmt.Printf("  edge broker %s\n", d.env.Broker)
	}
	fmt.Printf("READY %s\n", d.PageURL)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdinExit {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	<-ctx.Done()
	d.Close()
}

// findRoot walks up from the working directory to the module root.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory: pass --root")
		}
		dir = up
	}
}

type config struct {
	Addr          string
	Root          string
	ShortLifetime time.Duration
	Broker        string
}

// env is what the page reads from /demo/env.json: where everything is, and a
// config per provider that works against the emulator (demo credentials,
// fake but shaped like real ones).
type env struct {
	Emulator string                     `json:"emulator"`
	Short    string                     `json:"short"`
	NoCORS   string                     `json:"nocors"`
	Broker   string                     `json:"broker,omitempty"`
	ShortTTL int64                      `json:"short_lifetime_s"`
	Configs  map[string]json.RawMessage `json:"configs"`
}

type devServer struct {
	PageURL string
	mu      sync.Mutex // guards env.Broker
	env     env
	emu     *emulator.Server
	short   *emulator.Server
	servers []*http.Server
	files   *files
}

func start(c config) (*devServer, error) {
	root, err := os.OpenRoot(c.Root)
	if err != nil {
		return nil, err
	}
	d := &devServer{files: &files{root: root, gz: map[string]gzEntry{}}}
	lifetimes := map[string]time.Duration{}
	for _, p := range emulator.Providers {
		lifetimes[p] = c.ShortLifetime
	}
	d.emu = emulator.New(emulator.Options{})
	d.short = emulator.New(emulator.Options{TokenLifetime: lifetimes})

	listen := func(addr string, h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", err
		}
		tcp, ok := ln.Addr().(*net.TCPAddr)
		if !ok || !tcp.IP.IsLoopback() {
			ln.Close()
			return "", fmt.Errorf("%s is not a loopback address: the demo serves fake credentials and must stay on this machine", addr)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		d.servers = append(d.servers, srv)
		go func() { _ = srv.Serve(ln) }()
		return "http://" + ln.Addr().String(), nil
	}
	fail := func(err error) (*devServer, error) {
		d.Close()
		return nil, err
	}
	if d.env.Emulator, err = listen("127.0.0.1:0", d.emu.Handler()); err != nil {
		return fail(err)
	}
	d.emu.SetURL(d.env.Emulator)
	if d.env.Short, err = listen("127.0.0.1:0", d.short.Handler()); err != nil {
		return fail(err)
	}
	d.short.SetURL(d.env.Short)
	if d.env.NoCORS, err = listen("127.0.0.1:0", noCORS(d.emu.Handler())); err != nil {
		return fail(err)
	}
	d.env.Broker = strings.TrimRight(c.Broker, "/")
	d.env.ShortTTL = int64(c.ShortLifetime / time.Second)
	d.env.Configs = map[string]json.RawMessage{}
	for _, p := range emulator.Providers {
		d.env.Configs[p] = json.RawMessage(d.emu.Config(p))
	}
	// Compress the module before the first browser asks for it (about half
	// a second for 2.8 MB here), so that no page load pays for it.
	d.files.warm("js/tokensmith.wasm")
	if d.PageURL, err = listen(c.Addr, d.pageHandler()); err != nil {
		return fail(err)
	}
	return d, nil
}

func (d *devServer) Close() {
	for _, s := range d.servers {
		_ = s.Close()
	}
	_ = d.emu.Close()
	_ = d.short.Close()
	_ = d.files.root.Close()
}

// noCORS makes the emulator look like a vendor that has never heard of CORS:
// without an Origin it sends no CORS headers and answers a preflight (an
// OPTIONS) with 405, so the browser refuses the call.
func noCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Origin")
		h.ServeHTTP(w, r)
	})
}

func (d *devServer) pageHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/web/", http.StatusFound)
	})
	mux.HandleFunc("GET /demo/env.json", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		e := d.env
		d.mu.Unlock()
		writeJSON(w, http.StatusOK, e)
	})
	mux.HandleFunc("POST /demo/fault", d.fault)
	// The launcher (web/stack.mjs) starts the broker once the emulator's
	// address is known and tells the page here.
	mux.HandleFunc("POST /demo/broker", func(w http.ResponseWriter, r *http.Request) {
		u := r.URL.Query().Get("url")
		if !loopbackURL(u) {
			http.Error(w, "want ?url=http://127.0.0.1:PORT", http.StatusBadRequest)
			return
		}
		d.mu.Lock()
		d.env.Broker = strings.TrimRight(u, "/")
		d.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /demo/reset", func(w http.ResponseWriter, r *http.Request) {
		d.emu.Reset()
		d.short.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /demo/count", func(w http.ResponseWriter, r *http.Request) {
		e := d.target(r.URL.Query().Get("target"))
		if e == nil {
			http.Error(w, "unknown target", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"count": e.TokenRequests(r.URL.Query().Get("provider"))})
	})
	mux.HandleFunc("GET /testdata/vectors/index.json", d.vectorIndex)
	mux.Handle("GET /web/", d.files)
	mux.Handle("GET /js/", d.files)
	mux.Handle("GET /testdata/vectors/", d.files)
	return sameOriginOnly(mux)
}

// sameOriginOnly refuses a state-changing call that comes from another
// origin: another page open in the same browser must not be able to drive
// the demo's fault injection.
func sameOriginOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
				http.Error(w, "cross-origin control call refused", http.StatusForbidden)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (d *devServer) target(name string) *emulator.Server {
	switch name {
	case "", "emulator", "nocors":
		return d.emu
	case "short":
		return d.short
	}
	return nil
}

// The faults the page offers, each a short script of emulator answers.
var faultKinds = map[string][]emulator.Fault{
	// The core retries a 503 (up to four requests in all), honouring
	// Retry-After: a hiccup ends in a token, an outage in an error.
	"hiccup":   {{Status: 503, RetryAfter: "1"}},
	"down":     {{Status: 503, RetryAfter: "1"}, {Status: 503, RetryAfter: "1"}, {Status: 503, RetryAfter: "1"}, {Status: 503, RetryAfter: "1"}},
	"oversize": {{Oversize: true}},
}

func (d *devServer) fault(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e := d.target(q.Get("target"))
	f, ok := faultKinds[q.Get("kind")]
	p := q.Get("provider")
	if e == nil || !ok || e.BaseURL(p) == "" {
		http.Error(w, "want ?provider=…&kind=hiccup|down|oversize[&target=emulator|short]", http.StatusBadRequest)
		return
	}
	e.Inject(p, f...)
	writeJSON(w, http.StatusOK, map[string]int{"queued": len(f)})
}

// vectorIndex lists testdata/vectors/*/*.json, so that a page can fetch
// every vector (a static server has no directory listing to rely on).
func (d *devServer) vectorIndex(w http.ResponseWriter, r *http.Request) {
	var names []string
	err := fs.WalkDir(d.files.root.FS(), "testdata/vectors", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(p, ".json") && p != "testdata/vectors/index.json" {
			names = append(names, strings.TrimPrefix(p, "testdata/vectors/"))
		}
		return nil
	})
	if err != nil {
		http.Error(w, "cannot list the vectors", http.StatusInternalServerError)
		return
	}
	sort.Strings(names)
	writeJSON(w, http.StatusOK, map[string][]string{"vectors": names})
}

// loopbackURL accepts http://127.0.0.1:PORT or http://localhost:PORT only.
func loopbackURL(u string) bool {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(strings.TrimRight(rest, "/"))
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// files serves the checkout's static files under /web/, /js/ and
// /testdata/vectors/. os.Root keeps every path (symlinks included) inside
// the checkout; dot files and node_modules are never served.
type files struct {
	root *os.Root
	mu   sync.Mutex
	gz   map[string]gzEntry // path → gzip -6 of the version with that ETag
}

type gzEntry struct {
	etag string
	data []byte
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".wasm": "application/wasm", // compileStreaming accepts nothing else
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// maxStatic bounds what one file may be: the .wasm is about 3 MB.
const maxStatic = 32 << 20

func (f *files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if strings.HasSuffix(r.URL.Path, "/") {
		name += "/index.html"
	}
	ctype, known := contentTypes[path.Ext(name)]
	if !known || refused(name) {
		http.NotFound(w, r)
		return
	}
	data, mod, err := f.read(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	etag := etagOf(data)
	h := w.Header()
	h.Set("Content-Type", ctype)
	// Cached, but revalidated on every use (a 304 when unchanged): an edited
	// file shows at once, and a cached .wasm still keeps V8's compiled code.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if len(data) > 1024 && acceptsGzip(r) {
		data = f.gzipped(name, etag, data)
		etag = etag[:len(etag)-1] + `-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", mod, bytes.NewReader(data))
}

func (f *files) warm(name string) {
	data, _, err := f.read(name)
	if err != nil {
		return // not built yet: the first request compresses it
	}
	f.gzipped(name, etagOf(data), data)
}

func etagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func refused(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || part == "node_modules" {
			return true
		}
	}
	return false
}

func (f *files) read(name string) ([]byte, time.Time, error) {
	fh, err := f.root.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil || st.IsDir() {
		return nil, time.Time{}, fs.ErrNotExist
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxStatic+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(data) > maxStatic {
		return nil, time.Time{}, errors.New("too large")
	}
	return data, st.ModTime(), nil
}

func (f *files) gzipped(name, etag string, data []byte) []byte {
	f.mu.Lock()
	e, ok := f.gz[name]
	f.mu.Unlock()
	if ok && e.etag == etag {
		return e.data
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression) // a valid level never errs
	_, _ = zw.Write(data)
	_ = zw.Close()
	f.mu.Lock()
	f.gz[name] = gzEntry{etag: etag, data: b.Bytes()}
	f.mu.Unlock()
	return b.Bytes()
}

// acceptsGzip reads Accept-Encoding well enough for browsers: gzip listed
// and not with q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}
