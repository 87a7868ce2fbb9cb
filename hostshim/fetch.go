package hostshim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// DefaultTimeout bounds one token request, connect to last body byte: the
// 60 s the MoversConnect page gives. A stalled vendor must not hold a caller
// (and every caller waiting on the same flight) forever.
const DefaultTimeout = 60 * time.Second

// httpDoer sends the core's requests with net/http. The WASM engine reuses it
// for the module's fetch import, so both runtimes see the network the same way.
type httpDoer struct {
	client  *http.Client
	timeout time.Duration
}

// newHTTPDoer copies c (nil = a client of its own) so that the token request
// never follows redirects: a 3xx is handed to the core as it is. Following it
// would resend credentials to wherever the Location points.
func newHTTPDoer(c *http.Client, timeout time.Duration) *httpDoer {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &httpDoer{client: &cp, timeout: timeout}
}

// do sends r and reads at most core.MaxBodyBytes+1 bytes of the answer, so the
// core can tell an oversized body from a complete one. Every failure to get a
// whole answer becomes Response.Err with code "network"; when ctx itself is
// done the caller should report ctx.Err() instead (do cannot know whether the
// caller or the timeout gave up, the caller can).
func (h *httpDoer) do(ctx context.Context, r core.Request) core.Response {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		// Never echo the URL: a GET grant carries the secret in its query.
		return netErr("cannot build the request (method or URL invalid)")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return netErr(h.describe(ctx, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, core.MaxBodyBytes+1))
	if err != nil {
		return netErr(h.describe(ctx, err) + " (while reading the body)")
	}
	hdr := make(map[string]string, len(resp.Header))
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			hdr[k] = vs[0]
		}
	}
	return core.Response{Status: resp.StatusCode, Header: hdr, Body: data}
}

func netErr(msg string) core.Response {
	return core.Response{Err: &core.Error{Code: core.CodeNetwork, Message: msg, Retryable: true}}
}

// describe names a transport failure without quoting the URL (url.Error's
// text does, and a DQE GET grant has client_secret in it).
func (h *httpDoer) describe(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), isTimeout(err):
		return "no answer within " + h.timeout.String()
	case errors.Is(err, context.Canceled):
		return "request cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the whole answer arrived"
	case errors.Is(err, io.EOF):
		return "connection closed without an answer"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "DNS lookup failed"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "network error during " + op.Op
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// What remains is net/http's own wording (TLS, protocol errors), without
	// the URL once url.Error is peeled off. It may still quote what the
	// server sent ("malformed MIME header line: %q"), and a broken server or
	// proxy that echoes the request line would put a GET's query, secret
	// included, in that quote: keep the words, drop the quote. No clip here:
	// the core masks, then cuts (a cut first could leave half a secret that
	// no mask recognises).
	return unquote(err.Error())
}

// unquote keeps msg up to its first quoted part, the server's bytes in every
// net/http and net/textproto error (they are all formatted with %q).
func unquote(msg string) string {
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		return strings.TrimRight(msg[:i], " :") + " (the server's bytes not quoted)"
	}
	return msg
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// statusText is "200 OK", for logs and the demo table.
func statusText(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}
