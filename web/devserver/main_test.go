package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A checkout in miniature: what is served, and what must never be.
func tree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"web/index.html":              "<!doctype html><title>demo</title>",
		"web/app.js":                  "export {};",
		"js/tokensmith.wasm":          "\x00asm" + strings.Repeat("\x01\x02\x03", 4000),
		"js/node_modules/dep/x.js":    "secret dependency",
		"web/.env.js":                 "secret dot file",
		"testdata/vectors/dqe/a.json": "{}",
		"testdata/vectors/README.md":  "rules",
		"go.mod":                      "module x",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	outside := filepath.Join(t.TempDir(), "outside.js")
	require.NoError(t, os.WriteFile(outside, []byte("outside the checkout"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "web", "escape.js")))
	return dir
}

func serve(t *testing.T) *devServer {
	t.Helper()
	d, err := start(config{Addr: "127.0.0.1:0", Root: tree(t), ShortLifetime: 20 * time.Second})
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, u string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, b
}

func TestServesTheModuleAsWasm(t *testing.T) {
	d := serve(t)
	res, body := get(t, d.PageURL+"/js/tokensmith.wasm")
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "application/wasm", res.Header.Get("Content-Type"), "compileStreaming accepts nothing else")
	assert.True(t, bytes.HasPrefix(body, []byte("\x00asm")))
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))

	// Compressed for a browser, and the same bytes once inflated.
	res, gz := get(t, d.PageURL+"/js/tokensmith.wasm", "Accept-Encoding", "gzip, deflate, br")
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	assert.Less(t, len(gz), len(body))
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, body, plain)

	// A cached copy is revalidated, not downloaded again.
	etag := res.Header.Get("ETag")
	require.NotEmpty(t, etag)
	res, _ = get(t, d.PageURL+"/js/tokensmith.wasm", "Accept-Encoding", "gzip", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, res.StatusCode)

	res, _ = get(t, d.PageURL+"/js/tokensmith.wasm", "Accept-Encoding", "gzip;q=0")
	assert.Empty(t, res.Header.Get("Content-Encoding"))
}

func TestServesOnlyThePageItsPackageAndVectors(t *testing.T) {
	d := serve(t)
	res, body := get(t, d.PageURL+"/web/")
	require.Equal(t, 200, res.StatusCode)
	assert.Contains(t, string(body), "<title>demo</title>")
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	res, _ = get(t, d.PageURL+"/web/app.js")
	assert.Equal(t, "text/javascript; charset=utf-8", res.Header.Get("Content-Type"))
	res, _ = get(t, d.PageURL+"/")
	assert.Equal(t, "/web/", res.Header.Get("Location"))

	for _, p := range []string{
		"/js/node_modules/dep/x.js", // dependencies
		"/web/.env.js",              // dot files
		"/web/escape.js",            // a symlink out of the checkout
		"/go.mod",                   // outside the served folders
		"/web/../go.mod",
		"/web/%2e%2e/go.mod",
		"/testdata/vectors/README.md", // not a type the page needs
		"/web/missing.js",
	} {
		res, body := get(t, d.PageURL+p)
		if loc := res.Header.Get("Location"); res.StatusCode/100 == 3 {
			// The mux cleans ".." away with a redirect: the target is refused too.
			res, body = get(t, d.PageURL+loc)
		}
		assert.Equal(t, http.StatusNotFound, res.StatusCode, p)
		assert.NotContains(t, string(body), "secret", p)
		assert.NotContains(t, string(body), "outside", p)
	}
}

func TestVectorIndex(t *testing.T) {
	d := serve(t)
	res, body := get(t, d.PageURL+"/testdata/vectors/index.json")
	require.Equal(t, 200, res.StatusCode)
	var idx struct{ Vectors []string }
	require.NoError(t, json.Unmarshal(body, &idx))
	assert.Equal(t, []string{"dqe/a.json"}, idx.Vectors)
}

func TestEnvAndEmulators(t *testing.T) {
	d := serve(t)
	res, body := get(t, d.PageURL+"/demo/env.json")
	require.Equal(t, 200, res.StatusCode)
	var e env
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, int64(20), e.ShortTTL)
	require.Len(t, e.Configs, 4)
	var cfg map[string]string
	require.NoError(t, json.Unmarshal(e.Configs["bydesign"], &cfg))
	assert.True(t, strings.HasPrefix(cfg["base_url"], e.Emulator+"/"), cfg["base_url"])

	// The emulator answers the page's origin; the "no CORS" front never does.
	origin := d.PageURL
	for _, c := range []struct {
		base string
		ok   bool
	}{{e.Emulator, true}, {e.Short, true}, {e.NoCORS, false}} {
		req, _ := http.NewRequest(http.MethodOptions, c.base+"/bydesign/Acme/token", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := client.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		if c.ok {
			assert.Equal(t, origin, res.Header.Get("Access-Control-Allow-Origin"), c.base)
		} else {
			assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), c.base)
			assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
		}
	}
}

func post(t *testing.T, u, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := client.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res
}

func TestFaultsAreQueuedAndSameOriginOnly(t *testing.T) {
	d := serve(t)
	u := d.PageURL + "/demo/fault?provider=dqe-idmobile&kind=down"
	assert.Equal(t, http.StatusForbidden, post(t, u, "http://localhost:9999").StatusCode, "another page must not drive the demo")
	assert.Equal(t, http.StatusBadRequest, post(t, d.PageURL+"/demo/fault?provider=nobody&kind=down", "").StatusCode)
	assert.Equal(t, http.StatusBadRequest, post(t, d.PageURL+"/demo/fault?provider=dqe-idmobile&kind=explode", "").StatusCode)
	require.Equal(t, http.StatusOK, post(t, u, d.PageURL).StatusCode)

	// The next token request meets the fault.
	form := "licence=900042&client_secret=demo-idmobile-passphrase&grant_type=client_idmobile"
	res, err := client.Post(d.env.Emulator+"/dqe/ACCESS_TOKEN/", "application/x-www-form-urlencoded", strings.NewReader(form))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 503, res.StatusCode)
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
	_, body := get(t, d.PageURL+"/demo/count?provider=dqe-idmobile")
	assert.JSONEq(t, `{"count":1}`, string(body))

	// Reset clears the rest of the queue.
	require.Equal(t, http.StatusOK, post(t, d.PageURL+"/demo/reset", "").StatusCode)
	res, err = client.Post(d.env.Emulator+"/dqe/ACCESS_TOKEN/", "application/x-www-form-urlencoded", strings.NewReader(form))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
}

func TestBrokerURLMustBeLoopback(t *testing.T) {
	d := serve(t)
	for _, u := range []string{"http://example.com:8787", "https://127.0.0.1:8787", "http://127.0.0.1", "http://127.0.0.1:0", "javascript:alert(1)"} {
		assert.Equal(t, http.StatusBadRequest, post(t, d.PageURL+"/demo/broker?url="+u, "").StatusCode, u)
	}
	require.Equal(t, http.StatusOK, post(t, d.PageURL+"/demo/broker?url=http://127.0.0.1:8787/", "").StatusCode)
	_, body := get(t, d.PageURL+"/demo/env.json")
	assert.Contains(t, string(body), `"broker":"http://127.0.0.1:8787"`)
}

func TestListensOnLoopbackOnly(t *testing.T) {
	_, err := start(config{Addr: "0.0.0.0:0", Root: tree(t), ShortLifetime: time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loopback")
}
