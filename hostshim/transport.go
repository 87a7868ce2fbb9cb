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
// When the API refuses the token (core.Refused: a 401 from any vendor, and
// DQE's 200 with error_id 30), the token is reported (Invalidate), a new one
// is obtained and the request is sent once more, if its body can be sent
// again: no body, a body with GetBody (what http.NewRequest sets for bytes,
// strings and readers of them), or a body the token had to be written into,
// which is read into memory anyway. A second refusal is returned as it is.
//
// To see a refusal in a 200 answer, the first peekBytes of a 2xx JSON
// answer are read before the response is returned (the body still reads
// whole). Transport errors are cleaned by the session's redactor: the
// request carried the token.
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

// peekBytes bounds what the Transport reads ahead of the caller.
const peekBytes = 64 << 10

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
		return nil, t.c.cleanError(err)
	}
	if !b.replayable() || !t.refused(resp) {
		return resp, nil
	}
	t.c.Invalidate(tok.AccessToken)
	tok2, err := t.c.Token(ctx)
	if err != nil || tok2.AccessToken == tok.AccessToken {
		// No new token to try: the caller gets the API's own answer.
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
		return nil, t.c.cleanError(err)
	}
	return resp, nil
}

// refused asks the core whether resp means "token refused". A 2xx JSON
// answer's head is read for it and put back in front of the rest.
func (t *transport) refused(resp *http.Response) bool {
	cr := core.Response{Status: resp.StatusCode, Header: map[string]string{}}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		cr.Header["Content-Type"] = ct
	}
	if resp.StatusCode/100 == 2 && resp.Body != nil && resp.Body != http.NoBody && resp.ContentLength <= peekBytes &&
		strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "json") {
		head, err := io.ReadAll(io.LimitReader(resp.Body, peekBytes))
		resp.Body = &peekedBody{r: io.MultiReader(bytes.NewReader(head), errReader{err}, resp.Body), c: resp.Body}
		cr.Body = head
	}
	return core.Refused(t.c.provider, &cr)
}

// peekedBody is a response body whose head was read ahead.
type peekedBody struct {
	r io.Reader
	c io.Closer
}

func (p *peekedBody) Read(b []byte) (int, error) { return p.r.Read(b) }
func (p *peekedBody) Close() error               { return p.c.Close() }

// errReader hands the peek's read error (if any) to the caller in order.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// cleanError hides every secret and token in err's text: the request sent
// carries them, and net/http quotes what a server answered ("malformed MIME
// header line: %q"), which an API or proxy echoing the request line fills
// with a query token.
func (c *Client) cleanError(err error) error {
	msg := err.Error()
	masked := c.redact(msg)
	if masked == msg {
		return err
	}
	return &redactedError{err: err, msg: masked}
}

// redactedError is err with a safe text. Unwrap keeps errors.Is/As working
// (context.Canceled, net.Error), and Timeout keeps http.Client's and
// url.Error's timeout reporting.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
func (e *redactedError) Timeout() bool { return isTimeout(e.err) }

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
