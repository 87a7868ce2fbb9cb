package hostshim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// DefaultTimeout bounds one token request, connect to last body byte, when
// the core's step names none: the 60 s the MoversConnect page gives.
const DefaultTimeout = 60 * time.Second

// httpDoer sends the core's requests with net/http: no redirects, at most
// core.MaxBodyBytes+1 bytes read, the step's timeout_ms.
type httpDoer struct {
	client *http.Client
	redact func(string) string
}

// newHTTPDoer copies c (nil = a client of its own) so that the token request
// never follows redirects: a 3xx is handed to the core as it is. Following it
// would resend credentials to wherever the Location points.
func newHTTPDoer(c *http.Client, redact func(string) string) *httpDoer {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cp.Timeout = 0 // the step's own timeout applies, through ctx
	return &httpDoer{client: &cp, redact: redact}
}

// do sends r and reads at most core.MaxBodyBytes+1 bytes of the answer, so the
// core can tell an oversized body from a complete one. Every failure to get a
// whole answer becomes Response.Err with code "network"; when ctx itself is
// done the caller should report ctx.Err() instead (do cannot know whether the
// caller or the timeout gave up, the caller can).
func (h *httpDoer) do(ctx context.Context, r core.Request) core.Response {
	timeout := DefaultTimeout
	if r.TimeoutMs > 0 {
		timeout = time.Duration(r.TimeoutMs) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
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
		return netErr(h.describe(ctx, err, timeout))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, core.MaxBodyBytes+1))
	if err != nil {
		return netErr(h.describe(ctx, err, timeout) + " (while reading the body)")
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

// describe names a transport failure. The common ones get a fixed phrase;
// anything else is net/http's own text (which quotes the URL, and may quote
// what a broken server echoed, query and secret included) cleaned by the
// session's redactor.
func (h *httpDoer) describe(ctx context.Context, err error, timeout time.Duration) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), isTimeout(err):
		return "no answer within " + timeout.String()
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
		err = ue.Err // the URL itself is never needed in the message
	}
	return h.redact(err.Error())
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
