package core

// Handles is a table of sessions addressed by number, speaking only the JSON
// wire format. It is the boundary every non-Go host sees: the WASM exports
// wrap it one to one, and the native engine in tests drives it too, so
// native and WASM runs can be compared byte for byte. Not safe for
// concurrent use.
type Handles struct {
	m    map[int32]*Session
	next int32
}

// maxSessions bounds the table: a host that leaks handles gets an error,
// not an instance that grows until it traps.
const maxSessions = 1 << 16

// New creates a session from a wire-format config and options (empty
// options = defaults). It answers {"session":N} or {"error":…}; h is 0 on
// error.
func (t *Handles) New(config, options []byte) (h int32, out []byte) {
	c, err := ParseConfig(config)
	if err != nil {
		return 0, err.(*Error).MarshalWire()
	}
	o, err := ParseOptions(options)
	if err != nil {
		return 0, err.(*Error).MarshalWire()
	}
	s, err := NewSession(c, o)
	if err != nil {
		return 0, err.(*Error).MarshalWire()
	}
	if t.m == nil {
		t.m = map[int32]*Session{}
	}
	if len(t.m) >= maxSessions {
		return 0, (&Error{Code: CodeUsage, Message: "too many sessions; free some"}).MarshalWire()
	}
	for {
		t.next++
		if t.next <= 0 {
			t.next = 1
		}
		if t.m[t.next] == nil {
			break
		}
	}
	t.m[t.next] = s
	o2 := newObj(nil)
	o2.int("session", int64(t.next))
	return t.next, o2.done()
}

// Session returns the session behind h, or nil.
func (t *Handles) Session(h int32) *Session { return t.m[h] }

var errNoSession = &Error{Code: CodeUsage, Message: "no such session"}

// Next answers a wire-format step.
func (t *Handles) Next(h int32, nowMs int64) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	st := s.Next(nowMs)
	return st.MarshalWire()
}

// Feed takes one wire-format input ({"response"|"lease"|"commit"|"release":
// …}) and answers a wire-format step.
func (t *Handles) Feed(h int32, nowMs int64, input []byte) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	in, err := ParseInput(input)
	if err != nil {
		return err.(*Error).MarshalWire()
	}
	var st Step
	switch {
	case in.Response != nil:
		st = s.Feed(nowMs, *in.Response)
	case in.Lease != nil:
		st = s.Leased(nowMs, *in.Lease)
	case in.Commit != nil:
		st = s.Committed(nowMs, *in.Commit)
	default:
		st = s.Released(nowMs)
	}
	return st.MarshalWire()
}

// Restore loads a wire-format token; answers {"ok":true} or {"error":…}.
func (t *Handles) Restore(h int32, tok []byte) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	tk, err := ParseToken(tok)
	if err == nil {
		err = s.Restore(tk)
	}
	if err != nil {
		return err.(*Error).MarshalWire()
	}
	return []byte(`{"ok":true}`)
}

// Token answers {"token":…} with what the session holds, or {"token":null}.
func (t *Handles) Token(h int32) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	tk, ok := s.Token()
	if !ok {
		return []byte(`{"token":null}`)
	}
	o := newObj(nil)
	o.key("token")
	o.b = appendTokenObj(o.b, &tk)
	return o.done()
}

// Attach applies the session's token to a wire-format request and answers
// {"request":…} or {"error":…}.
func (t *Handles) Attach(h int32, req []byte) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	r, err := ParseRequest(req)
	if err != nil {
		return err.(*Error).MarshalWire()
	}
	tk, _ := s.Token()
	if err := tk.Apply(&r); err != nil {
		return err.(*Error).MarshalWire()
	}
	st := Step{Kind: StepRequest, Request: r}
	return st.MarshalWire()
}

// Invalidate takes {"access_token":"…"} and answers {"ok":true,"dropped":bool}.
func (t *Handles) Invalidate(h int32, in []byte) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	at, err := parseAccessToken(in)
	if err != nil {
		return err.(*Error).MarshalWire()
	}
	o := newObj(nil)
	o.bool("ok", true)
	o.bool("dropped", s.Invalidate(at))
	return o.done()
}

// Refused takes a wire-format response and answers {"refused":bool}.
func (t *Handles) Refused(h int32, resp []byte) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	r, err := ParseResponse(resp)
	if err != nil {
		return err.(*Error).MarshalWire()
	}
	o := newObj(nil)
	o.bool("refused", s.Refused(&r))
	return o.done()
}

// Redact takes any text (not JSON: the raw bytes) and answers
// {"text":"…"} with every secret and token the session knows masked.
func (t *Handles) Redact(h int32, text []byte) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	o := newObj(nil)
	o.str("text", s.Redact(string(text)))
	return o.done()
}

// Cancel answers {"ok":true,"release":bool}: release says the host holds a
// lease for this session and must release it itself.
func (t *Handles) Cancel(h int32) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	o := newObj(nil)
	o.bool("ok", true)
	o.bool("release", s.Cancel())
	return o.done()
}

// Free answers {"ok":true} or {"error":…}.
func (t *Handles) Free(h int32) []byte {
	if t.m[h] == nil {
		return errNoSession.MarshalWire()
	}
	delete(t.m, h)
	return []byte(`{"ok":true}`)
}
