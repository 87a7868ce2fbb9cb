package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tidwall/gjson"

	"github.com/tokensmith/tokensmith/core"
)

// Secrets given only through the environment, with characters every
// encoding changes, and pieces ("Zq9", "Yv3"…) that survive any of them.
const (
	cliLicence = `lic-Zq9@Wx7 Kp!"<&>`
	cliSecret  = `cs-Yv3@Rt5 Nm!"<&>`
)

var cliPieces = []string{"Zq9", "Wx7", "Yv3", "Rt5"}

// echoVendor answers every token request with status, quoting the request
// the way careless servers do: query and body, raw, form-decoded, JSON
// escaped (.NET style) and HTML escaped, with a Retry-After that quotes it
// too.
func echoVendor(t *testing.T, status int, shape string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q, _ := url.QueryUnescape(r.URL.RawQuery)
		b, _ := url.QueryUnescape(string(body))
		echo := r.URL.RawQuery + " " + string(body) + " " + q + " " + b
		w.Header().Set("Retry-After", echo)
		w.WriteHeader(status)
		switch shape {
		case "json":
			j, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": "you sent " + echo})
			w.Write(j)
		case "html":
			io.WriteString(w, "<!DOCTYPE html><html><body><h1>Bad Request</h1><pre>"+html.EscapeString(echo)+"</pre></body></html>")
		case "legacy":
			j, _ := json.Marshal(map[string]string{"status": "error", "error_id": "03", "error_type": echo})
			w.Write(j)
		default:
			io.WriteString(w, strings.Repeat(" ", 3000)+echo)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLeakCLISecretsFromEnvironmentAgainstAnEchoingVendor(t *testing.T) {
	for _, status := range []int{200, 400, 500} {
		for _, shape := range []string{"text", "json", "html", "legacy"} {
			base := echoVendor(t, status, shape)
			for _, method := range []string{"GET", "POST"} {
				for _, rt := range []string{"native", "wasm"} {
					what := strconv.Itoa(status) + "/" + shape + "/" + method + "/" + rt
					t.Run(what, func(t *testing.T) {
						t.Parallel()
						env := []string{
							"TOKENSMITH_PROVIDER=" + core.DQEIDMobile,
							"TOKENSMITH_BASE_URL=" + base,
							"TOKENSMITH_LICENCE=" + cliLicence,
							"TOKENSMITH_CLIENT_SECRET=" + cliSecret,
							"TOKENSMITH_METHOD=" + method,
						}
						r := runCLI(t, "", env, "token", "--runtime", rt, "--max-attempts", "1")
						requireFailure(t, r, 1, gjson.Get(r.stdout, "error.code").String())
						for _, p := range cliPieces {
							assert.NotContains(t, r.stdout, p, "stdout")
							assert.NotContains(t, r.stderr, p, "stderr")
						}
					})
				}
			}
		}
	}
}
