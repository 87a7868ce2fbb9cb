package hostshim

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokensmith/tokensmith/core"
)

// Transport returns an http.RoundTripper that attaches the Client's token to
// every request the vendor's way (core.Token.Apply: a header, query
// parameters, or form or JSON body fields) and sends it with base
// (nil = http.DefaultTransport).
//
// When the API answers 401, the token is dropped (Invalidate), a new one is
// obtained and the request is sent once more, if its body can be sent again:
// no body, a body with GetBody (what http.NewRequest sets for bytes, strings
// and readers of them), or a body the token had to be written into, which is
// read into memory anyway. A second 401 is returned as it is.
//
// DQE's older error style answers a refused token with HTTP 200 and
// error_id 30; no transport can see that, so such an answer is returned
// unchanged: call Client.Invalidate yourself when you see it.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{c: c, base: base}
}

type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// RoundTrip owns req.Body from here on: it must be closed on every path.
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	ctx := req.Context()
	tok, err := t.c.Token(ctx)
	if err != nil {
		closeBody()
		return nil, err
	}
	b := &bodySource{req: req}
	out, err := attach(req, b, tok)
	if err != nil {
		closeBody()
		return nil, err
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, scrub(err, tok)
	}
	if resp.StatusCode != http.StatusUnauthorized || !b.replayable() {
		return resp, nil
	}
	t.c.Invalidate(tok)
	tok2, err := t.c.Token(ctx)
	if err != nil || tok2.AccessToken == tok.AccessToken {
		// No new token to try: the caller gets the API's own 401.
		return resp, nil
	}
	out2, err := attach(req, b, tok2)
	if err != nil {
		return resp, nil
	}
	// The first answer is only dropped once a second request is ready.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp, err = t.base.RoundTrip(out2)
	if err != nil {
		return nil, scrub(err, tok2)
	}
	return resp, nil
}

// scrub hides the token (and DQE's licence) in err's text. The request sent
// carries them, and net/http quotes what a server answered ("malformed MIME
// header line: %q"): an API or proxy that echoes the request line puts a
// query token there. http.Client wraps the error in a url.Error with the
// caller's URL, which never held the token; the text inside must not either.
func scrub(err error, tok core.Token) error {
	msg := err.Error()
	vals := []string{tok.AccessToken, tok.Attach.Value}
	for _, v := range tok.Attach.Params {
		vals = append(vals, v)
	}
	masked := msg
	for _, v := range vals {
		if len(v) < 4 {
			continue
		}
		for _, enc := range []string{v, url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(url.QueryEscape(v), "+", "%20")} {
			masked = strings.ReplaceAll(masked, enc, "[redacted]")
		}
	}
	if masked == msg {
		return err
	}
	return &scrubbedError{err: err, msg: masked}
}

// scrubbedError is err with a safe text. Unwrap keeps errors.Is/As working
// (context.Canceled, net.Error), and Timeout keeps http.Client's and
// url.Error's timeout reporting.
type scrubbedError struct {
	err error
	msg string
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
func (e *scrubbedError) Timeout() bool { return isTimeout(e.err) }

// bodySource hands out the request body as many times as needed: from
// memory once it has been read, else from GetBody, else once from req.Body.
type bodySource struct {
	req  *http.Request
	data []byte
	read bool // data holds the whole body
	used bool // req.Body itself was given out (no GetBody)
}

func (b *bodySource) hasBody() bool { return b.req.Body != nil && b.req.Body != http.NoBody }

func (b *bodySource) replayable() bool {
	return !b.hasBody() || b.read || b.req.GetBody != nil
}

// bytes reads the whole body into memory (the token goes inside it).
func (b *bodySource) bytes() ([]byte, error) {
	if b.read || !b.hasBody() {
		return b.data, nil
	}
	var rc io.ReadCloser
	if b.req.GetBody != nil {
		r, err := b.req.GetBody()
		if err != nil {
			return nil, err
		}
		rc = r
		b.req.Body.Close()
	} else {
		rc = b.req.Body
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	b.data, b.read = data, true
	return data, nil
}

// stream gives the body as a stream, untouched.
func (b *bodySource) stream() (io.ReadCloser, func() (io.ReadCloser, error), int64, error) {
	switch {
	case !b.hasBody():
		return b.req.Body, b.req.GetBody, b.req.ContentLength, nil
	case b.read:
		return inMemory(b.data)
	case !b.used:
		b.used = true
		return b.req.Body, b.req.GetBody, b.req.ContentLength, nil
	case b.req.GetBody != nil:
		r, err := b.req.GetBody()
		return r, b.req.GetBody, b.req.ContentLength, err
	}
	return nil, nil, 0, &core.Error{Code: core.CodeUsage, Message: "request body already sent and cannot be replayed"}
}

func inMemory(data []byte) (io.ReadCloser, func() (io.ReadCloser, error), int64, error) {
	get := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r, _ := get()
	return r, get, int64(len(data)), nil
}

// attach returns a copy of req carrying tok. It first applies the token to a
// bodiless core.Request: when that leaves the body alone (header, or query
// on a GET) the body streams through untouched; otherwise the body is read
// and the token applied to it.
func attach(req *http.Request, b *bodySource, tok core.Token) (*http.Request, error) {
	probe := toCore(req, "")
	if err := tok.Apply(&probe); err != nil {
		return nil, err
	}
	cr := probe
	inBody := probe.Body != ""
	if inBody {
		data, err := b.bytes()
		if err != nil {
			return nil, err
		}
		cr = toCore(req, string(data))
		if err := tok.Apply(&cr); err != nil {
			return nil, err
		}
	}
	out := req.Clone(req.Context())
	if cr.URL != req.URL.String() {
		u, err := url.Parse(cr.URL)
		if err != nil {
			return nil, &core.Error{Code: core.CodeUsage, Message: "token attach produced an invalid URL"}
		}
		out.URL = u
	}
	for k, v := range cr.Header {
		if req.Header.Get(k) != v {
			out.Header.Set(k, v)
		}
	}
	if inBody {
		body := []byte(cr.Body)
		r, get, n, _ := inMemory(body)
		out.Body, out.GetBody, out.ContentLength = r, get, n
		return out, nil
	}
	r, get, n, err := b.stream()
	if err != nil {
		return nil, err
	}
	out.Body, out.GetBody, out.ContentLength = r, get, n
	return out, nil
}

// toCore is the part of req that Apply reads: method, URL, the Content-Type
// that decides where a "query" token goes on a POST, and body.
func toCore(req *http.Request, body string) core.Request {
	m := req.Method
	if m == "" {
		m = http.MethodGet
	}
	h := map[string]string{}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		h["Content-Type"] = ct
	}
	return core.Request{Method: m, URL: req.URL.String(), Header: h, Body: body}
}
