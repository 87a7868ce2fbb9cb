//go:build !wasip1

package core

// Safe renderings of every exported type that can hold a credential or a
// token, for hosts that log or print them: fmt (every verb, through
// fmt.Formatter), encoding/json (MarshalJSON) and log/slog (LogValue, for
// the JSON and the text handler alike). They show what a log line needs
// (provider, kinds, codes, times, field and header names, sizes, the URL
// without its query) and never a value that could be secret: those read
// "[redacted]" or "[redacted N bytes]".
//
// MarshalJSON is for logs, not data: the wire format, secrets included, is
// MarshalWire, and stores and the WASM boundary use only that.
//
// This file is host-only: the WASM module must not link fmt, reflect or
// log/slog (make wasm-vet), and nothing in it prints.

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// node is one field of a safe rendering: a string, a number, a bool or an
// object of more nodes.
type node struct {
	k    string
	kind byte // 's', 'i', 'b', 'o'
	s    string
	i    int64
	b    bool
	kids []node
}

func sNode(k, v string) node           { return node{k: k, kind: 's', s: v} }
func iNode(k string, v int64) node     { return node{k: k, kind: 'i', i: v} }
func bNode(k string, v bool) node      { return node{k: k, kind: 'b', b: v} }
func oNode(k string, kids []node) node { return node{k: k, kind: 'o', kids: kids} }

func appendNodes(dst []byte, ns []node) []byte {
	o := newObj(dst)
	for _, n := range ns {
		switch n.kind {
		case 's':
			o.str(n.k, n.s)
		case 'i':
			o.int(n.k, n.i)
		case 'b':
			o.bool(n.k, n.b)
		case 'o':
			o.key(n.k)
			o.b = appendNodes(o.b, n.kids)
		}
	}
	return o.done()
}

func slogNodes(ns []node) slog.Value {
	attrs := make([]slog.Attr, 0, len(ns))
	for _, n := range ns {
		switch n.kind {
		case 's':
			attrs = append(attrs, slog.String(n.k, n.s))
		case 'i':
			attrs = append(attrs, slog.Int64(n.k, n.i))
		case 'b':
			attrs = append(attrs, slog.Bool(n.k, n.b))
		case 'o':
			attrs = append(attrs, slog.Attr{Key: n.k, Value: slogNodes(n.kids)})
		}
	}
	return slog.GroupValue(attrs...)
}

// textNodes renders ns the way the String methods do: core.T{k=v k2={…}}.
func textNodes(typ string, ns []node) string {
	var b strings.Builder
	b.WriteString(typ)
	writeTextNodes(&b, ns)
	return b.String()
}

func writeTextNodes(b *strings.Builder, ns []node) {
	b.WriteByte('{')
	for i, n := range ns {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n.k)
		b.WriteByte('=')
		switch n.kind {
		case 's':
			b.WriteString(n.s)
		case 'i':
			b.WriteString(strconv.FormatInt(n.i, 10))
		case 'b':
			b.WriteString(strconv.FormatBool(n.b))
		case 'o':
			writeTextNodes(b, n.kids)
		}
	}
	b.WriteByte('}')
}

// formatSafe writes the safe text s for any verb: %v %+v %s as it is, %#v
// as it is (GoString), %q %x %X of it as of any string, and every other
// verb (%d, %b, %t…), which fmt would otherwise apply field by field to the
// raw struct, as %s.
func formatSafe(f fmt.State, verb rune, s string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s)
			return
		}
		fmt.Fprintf(f, fmt.FormatString(f, 's'), s)
	case 's', 'q', 'x', 'X':
		fmt.Fprintf(f, fmt.FormatString(f, verb), s)
	default:
		fmt.Fprint(f, s)
	}
}

// names lists m's keys, sorted and comma-separated: keys are field and
// header names, values may be secrets.
func names(m map[string]string) string { return strings.Join(sortedKeys(m), ",") }

// safeURL is u without user info, query or fragment.
func safeURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i] + "?[redacted]"
	}
	if s := strings.Index(u, "://"); s >= 0 {
		auth := u[s+3:]
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			auth = auth[:i]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			u = u[:s+3] + "[redacted]@" + u[s+3+at+1:]
		}
	}
	return u
}

// hostText is a text a host wrote (a network error's message) that no
// redactor has read: it may quote a URL with its query, or a token. Queries
// and opaque runs are masked.
func hostText(s string) string { return maskOpaque(scrubQueries(s)) }

// scrubQueries masks every URL query in s, up to the white space or quote
// that ends it: an error text may quote the URL of a GET that carried a
// secret (net/http's `Get "https://…?client_secret=…"`). It is applied to
// every Error rendering, since a host can build an Error too; the core's
// own messages are redacted when they are made.
func scrubQueries(s string) string {
	s = clip(s, excerptRead)
	if strings.IndexByte(s, '?') < 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '?')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteString("?[redacted]")
		s = s[i+1:]
		j := strings.IndexAny(s, " \t\r\n\"'<>")
		if j < 0 {
			break
		}
		s = s[j:]
	}
	return b.String()
}

// --- Config -------------------------------------------------------------------------

func (c Config) nodes() []node {
	ns := []node{sNode("provider", c.Provider), sNode("base_url", safeURL(c.BaseURL))}
	if c.LeewaySeconds != 0 {
		ns = append(ns, iNode("leeway_seconds", c.LeewaySeconds))
	}
	for _, f := range configFields[1:] {
		v := *f.ptr(&c)
		if v == "" {
			continue
		}
		if isSecret(f.name) || !declared(f.name) {
			v = "[redacted]"
		}
		ns = append(ns, sNode(f.name, v))
	}
	return ns
}

// MarshalJSON renders c for a log: secrets read "[redacted]" (MarshalWire
// is the config itself).
func (c Config) MarshalJSON() ([]byte, error) { return appendNodes(nil, c.nodes()), nil }

// LogValue renders c for log/slog, secrets redacted.
func (c Config) LogValue() slog.Value { return slogNodes(c.nodes()) }

// Format makes every fmt verb print String.
func (c Config) Format(f fmt.State, verb rune) { formatSafe(f, verb, c.String()) }

// --- Token, Attach -----------------------------------------------------------------

func (a Attach) nodes() []node {
	ns := []node{sNode("in", a.In), sNode("name", a.Name), sNode("value", redactedLen(a.Value))}
	if len(a.Params) > 0 {
		ns = append(ns, sNode("params", names(a.Params)))
	}
	return ns
}

// String describes a: where the token goes and under which names.
func (a Attach) String() string {
	s := "core.Attach{in=" + a.In + " name=" + a.Name + " value=" + redactedLen(a.Value)
	if len(a.Params) > 0 {
		s += " params=" + names(a.Params)
	}
	return s + "}"
}

// GoString keeps %#v as safe as %v.
func (a Attach) GoString() string { return a.String() }

// MarshalJSON renders a for a log: names, not values.
func (a Attach) MarshalJSON() ([]byte, error) { return appendNodes(nil, a.nodes()), nil }

// LogValue renders a for log/slog: names, not values.
func (a Attach) LogValue() slog.Value { return slogNodes(a.nodes()) }

// Format makes every fmt verb print String.
func (a Attach) Format(f fmt.State, verb rune) { formatSafe(f, verb, a.String()) }

func (t Token) nodes() []node {
	ns := []node{sNode("provider", t.Provider), sNode("access_token", redactedLen(t.AccessToken))}
	if t.TokenType != "" {
		ns = append(ns, sNode("token_type", clip(t.TokenType, 16)))
	}
	if t.RefreshToken != "" {
		ns = append(ns, sNode("refresh_token", redactedLen(t.RefreshToken)))
	}
	for _, f := range []struct {
		k string
		v int64
	}{{"expires_at", t.ExpiresAt}, {"refresh_at", t.RefreshAt}, {"refresh_expires_at", t.RefreshExpiresAt},
		{"issued_at", t.IssuedAt}, {"received_at", t.ReceivedAt}, {"rev", t.Rev}} {
		if f.v != 0 {
			ns = append(ns, iNode(f.k, f.v))
		}
	}
	if a := t.Attach; a.In != "" || a.Name != "" || a.Value != "" || len(a.Params) > 0 {
		ns = append(ns, oNode("attach", t.Attach.nodes()))
	}
	if len(t.Extra) > 0 {
		ns = append(ns, sNode("extra", names(t.Extra)))
	}
	if len(t.Learned) > 0 {
		ns = append(ns, sNode("learned", names(t.Learned)))
	}
	return ns
}

// MarshalJSON renders t for a log: times and sizes, no token value
// (MarshalWire is the token itself).
func (t Token) MarshalJSON() ([]byte, error) { return appendNodes(nil, t.nodes()), nil }

// LogValue renders t for log/slog, no token value.
func (t Token) LogValue() slog.Value { return slogNodes(t.nodes()) }

// Format makes every fmt verb print String.
func (t Token) Format(f fmt.State, verb rune) { formatSafe(f, verb, t.String()) }

// --- Request, Response ---------------------------------------------------------------

func (r Request) nodes() []node {
	ns := []node{sNode("method", r.Method), sNode("url", safeURL(r.URL))}
	if len(r.Header) > 0 {
		ns = append(ns, sNode("headers", names(r.Header)))
	}
	ns = append(ns, sNode("body", redactedLen(r.Body)))
	if r.TimeoutMs != 0 {
		ns = append(ns, iNode("timeout_ms", r.TimeoutMs))
	}
	return ns
}

// String describes r: method, URL without its query, header names, body size.
func (r Request) String() string {
	s := "core.Request{" + r.Method + " " + safeURL(r.URL)
	if len(r.Header) > 0 {
		s += " headers=" + names(r.Header)
	}
	return s + " body=" + redactedLen(r.Body) + "}"
}

// GoString keeps %#v as safe as %v.
func (r Request) GoString() string { return r.String() }

// MarshalJSON renders r for a log: no query, header value or body.
func (r Request) MarshalJSON() ([]byte, error) { return appendNodes(nil, r.nodes()), nil }

// LogValue renders r for log/slog: no query, header value or body.
func (r Request) LogValue() slog.Value { return slogNodes(r.nodes()) }

// Format makes every fmt verb print String.
func (r Request) Format(f fmt.State, verb rune) { formatSafe(f, verb, r.String()) }

func (r Response) nodes() []node {
	if r.Err != nil {
		return []node{oNode("error", hostErrorNodes(r.Err))}
	}
	ns := []node{iNode("status", int64(r.Status))}
	if len(r.Header) > 0 {
		ns = append(ns, sNode("headers", names(r.Header)))
	}
	return append(ns, sNode("body", redactedLen(string(r.Body))))
}

// String describes r: status and body size, or the error (its text masked:
// a host wrote it, and may have quoted the request's URL).
func (r Response) String() string {
	if r.Err != nil {
		return "core.Response{error=" + errorText(r.Err, hostText(r.Err.Message)) + "}"
	}
	return "core.Response{status=" + strconv.Itoa(r.Status) + " body=" + redactedLen(string(r.Body)) + "}"
}

// GoString keeps %#v as safe as %v.
func (r Response) GoString() string { return r.String() }

// MarshalJSON renders r for a log: no header value or body.
func (r Response) MarshalJSON() ([]byte, error) { return appendNodes(nil, r.nodes()), nil }

// LogValue renders r for log/slog: no header value or body.
func (r Response) LogValue() slog.Value { return slogNodes(r.nodes()) }

// Format makes every fmt verb print String.
func (r Response) Format(f fmt.State, verb rune) { formatSafe(f, verb, r.String()) }

// --- Error ---------------------------------------------------------------------------

// safeField is e.Field when it names a config key; a host may have put
// anything there.
func safeField(f string) string {
	if f == "config" || f == "provider" || f == "leeway_seconds" || f == "base_url" || declared(f) {
		return f
	}
	return "[redacted]"
}

func errorNodes(e *Error, msg string) []node {
	ns := []node{sNode("code", e.Code)}
	if e.Status != 0 {
		ns = append(ns, iNode("status", int64(e.Status)))
	}
	ns = append(ns, sNode("message", msg))
	if e.Field != "" {
		ns = append(ns, sNode("field", safeField(e.Field)))
	}
	ns = append(ns, bNode("retryable", e.Retryable))
	if e.RetryAfter != 0 {
		ns = append(ns, iNode("retry_after", e.RetryAfter))
	}
	if e.RetryAtMs != 0 {
		ns = append(ns, iNode("retry_at_ms", e.RetryAtMs))
	}
	return ns
}

func hostErrorNodes(e *Error) []node { return errorNodes(e, hostText(e.Message)) }

// errorText is Error() with msg for the message.
func errorText(e *Error, msg string) string {
	c := *e
	c.Message = msg
	return c.Error()
}

// MarshalJSON renders e for a log. The core's messages are redacted when
// they are made; URL queries are masked in case a host made e, and a field
// that is no config key is not shown.
func (e Error) MarshalJSON() ([]byte, error) {
	return appendNodes(nil, errorNodes(&e, scrubQueries(e.Message))), nil
}

// LogValue renders e for log/slog, as MarshalJSON does.
func (e Error) LogValue() slog.Value { return slogNodes(errorNodes(&e, scrubQueries(e.Message))) }

// Format makes every fmt verb print Error(), queries masked: %d or %+v of
// the struct would print its fields one by one.
func (e Error) Format(f fmt.State, verb rune) {
	formatSafe(f, verb, errorText(&e, scrubQueries(e.Message)))
}

// --- Step, LeaseResult, CommitResult, Input -------------------------------------------------

func (s Step) nodes() []node {
	ns := []node{sNode("kind", s.Kind.String())}
	switch s.Kind {
	case StepToken:
		ns = append(ns, oNode("token", s.Token.nodes()), bNode("changed", s.Changed))
	case StepRequest:
		ns = append(ns, oNode("request", s.Request.nodes()))
	case StepWait:
		ns = append(ns, iNode("until_ms", s.UntilMs), sNode("reason", s.Reason))
	case StepLease:
		ns = append(ns, iNode("ttl_ms", s.LeaseTTLMs))
	case StepCommit:
		ns = append(ns, oNode("token", s.Token.nodes()), iNode("base_rev", s.BaseRev))
	case StepError:
		if s.Err != nil {
			ns = append(ns, oNode("error", errorNodes(s.Err, scrubQueries(s.Err.Message))))
		}
	}
	if s.Usable != nil {
		ns = append(ns, oNode("usable", s.Usable.nodes()))
	}
	return ns
}

// String describes s by its kind and what it carries, redacted.
func (s Step) String() string {
	var x string
	switch s.Kind {
	case StepToken:
		x = " " + s.Token.String() + " changed=" + strconv.FormatBool(s.Changed)
	case StepRequest:
		x = " " + s.Request.String()
	case StepWait:
		x = " until_ms=" + strconv.FormatInt(s.UntilMs, 10) + " reason=" + s.Reason
	case StepLease:
		x = " ttl_ms=" + strconv.FormatInt(s.LeaseTTLMs, 10)
	case StepCommit:
		x = " " + s.Token.String() + " base_rev=" + strconv.FormatInt(s.BaseRev, 10)
	case StepError:
		if s.Err != nil {
			x = " " + errorText(s.Err, scrubQueries(s.Err.Message))
		}
	}
	if s.Usable != nil {
		x += " usable=" + s.Usable.String()
	}
	return "core.Step{" + s.Kind.String() + x + "}"
}

// GoString keeps %#v as safe as %v.
func (s Step) GoString() string { return s.String() }

// MarshalJSON renders s for a log, redacted (MarshalWire is the wire step).
func (s Step) MarshalJSON() ([]byte, error) { return appendNodes(nil, s.nodes()), nil }

// LogValue renders s for log/slog, redacted.
func (s Step) LogValue() slog.Value { return slogNodes(s.nodes()) }

// Format makes every fmt verb print String.
func (s Step) Format(f fmt.State, verb rune) { formatSafe(f, verb, s.String()) }

func resultNodes(flag string, ok bool, t *Token, e *Error) []node {
	if e != nil {
		return []node{oNode("error", hostErrorNodes(e))}
	}
	ns := []node{bNode(flag, ok)}
	if t != nil {
		ns = append(ns, oNode("token", t.nodes()))
	}
	return ns
}

func (r LeaseResult) nodes() []node { return resultNodes("acquired", r.Acquired, r.Token, r.Err) }

// MarshalJSON renders r for a log, redacted.
func (r LeaseResult) MarshalJSON() ([]byte, error) { return appendNodes(nil, r.nodes()), nil }

// LogValue renders r for log/slog, redacted.
func (r LeaseResult) LogValue() slog.Value { return slogNodes(r.nodes()) }

// Format makes every fmt verb print the redacted rendering (String, in
// step.go, quotes a host's error text unmasked).
func (r LeaseResult) Format(f fmt.State, verb rune) {
	formatSafe(f, verb, textNodes("core.LeaseResult", r.nodes()))
}

func (r CommitResult) nodes() []node { return resultNodes("ok", r.OK, r.Token, r.Err) }

// MarshalJSON renders r for a log, redacted.
func (r CommitResult) MarshalJSON() ([]byte, error) { return appendNodes(nil, r.nodes()), nil }

// LogValue renders r for log/slog, redacted.
func (r CommitResult) LogValue() slog.Value { return slogNodes(r.nodes()) }

// Format makes every fmt verb print the redacted rendering (String, in
// step.go, quotes a host's error text unmasked).
func (r CommitResult) Format(f fmt.State, verb rune) {
	formatSafe(f, verb, textNodes("core.CommitResult", r.nodes()))
}

func (in Input) nodes() []node {
	var ns []node
	if in.Response != nil {
		ns = append(ns, oNode("response", in.Response.nodes()))
	}
	if in.Lease != nil {
		ns = append(ns, oNode("lease", in.Lease.nodes()))
	}
	if in.Commit != nil {
		ns = append(ns, oNode("commit", in.Commit.nodes()))
	}
	if in.Release {
		ns = append(ns, bNode("release", true))
	}
	return ns
}

// String describes in, redacted.
func (in Input) String() string { return textNodes("core.Input", in.nodes()) }

// GoString keeps %#v as safe as %v.
func (in Input) GoString() string { return in.String() }

// MarshalJSON renders in for a log, redacted.
func (in Input) MarshalJSON() ([]byte, error) { return appendNodes(nil, in.nodes()), nil }

// LogValue renders in for log/slog, redacted.
func (in Input) LogValue() slog.Value { return slogNodes(in.nodes()) }

// Format makes every fmt verb print String.
func (in Input) Format(f fmt.State, verb rune) { formatSafe(f, verb, in.String()) }

// --- Session, Handles ------------------------------------------------------------------

// The receivers are values so that a dereferenced Session (fmt.Print(*s))
// is as safe as a pointer: fmt would print its unexported fields raw.

func (s Session) nodes() []node {
	st := "idle"
	if s.ph != phIdle {
		st = "busy"
	}
	return []node{oNode("config", s.cfg.nodes()), oNode("token", s.tok.nodes()), sNode("state", st)}
}

// MarshalJSON renders s for a log: its config and token, redacted.
func (s Session) MarshalJSON() ([]byte, error) { return appendNodes(nil, s.nodes()), nil }

// LogValue renders s for log/slog, redacted.
func (s Session) LogValue() slog.Value { return slogNodes(s.nodes()) }

// Format makes every fmt verb print String.
func (s Session) Format(f fmt.State, verb rune) { formatSafe(f, verb, s.String()) }

func (t Handles) nodes() []node { return []node{iNode("sessions", int64(len(t.m)))} }

// String describes t by its number of sessions.
func (t Handles) String() string { return textNodes("core.Handles", t.nodes()) }

// GoString keeps %#v as safe as %v.
func (t Handles) GoString() string { return t.String() }

// MarshalJSON renders t for a log: its number of sessions.
func (t Handles) MarshalJSON() ([]byte, error) { return appendNodes(nil, t.nodes()), nil }

// LogValue renders t for log/slog: its number of sessions.
func (t Handles) LogValue() slog.Value { return slogNodes(t.nodes()) }

// Format makes every fmt verb print String.
func (t Handles) Format(f fmt.State, verb rune) { formatSafe(f, verb, t.String()) }
