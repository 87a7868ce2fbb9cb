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

// New creates a session from a wire-format config. It answers
// {"session":N} or {"error":…}; h is 0 on error.
func (t *Handles) New(config []byte) (h int32, out []byte) {
	c, err := ParseConfig(config)
	if err != nil {
		return 0, err.(*Error).MarshalWire()
	}
	s, err := NewSession(c)
	if err != nil {
		return 0, err.(*Error).MarshalWire()
	}
	if t.m == nil {
		t.m = map[int32]*Session{}
	}
	t.next++
	t.m[t.next] = s
	o := newObj(nil)
	o.int("session", int64(t.next))
	return t.next, o.done()
}

// Session returns the session behind h, or nil.
func (t *Handles) Session(h int32) *Session { return t.m[h] }

var errNoSession = &Error{Code: CodeUsage, Message: "no such session"}

// Next answers a wire-format step.
func (t *Handles) Next(h int32, now int64) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	st := s.Next(now)
	return st.MarshalWire()
}

// Feed takes a wire-format response and answers a wire-format step.
func (t *Handles) Feed(h int32, now int64, resp []byte) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	r, err := ParseResponse(resp)
	if err != nil {
		return err.(*Error).MarshalWire()
	}
	st := s.Feed(now, r)
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

// Invalidate, Cancel and Free answer {"ok":true} or {"error":…}.
func (t *Handles) Invalidate(h int32) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	s.Invalidate()
	return []byte(`{"ok":true}`)
}

func (t *Handles) Cancel(h int32) []byte {
	s := t.m[h]
	if s == nil {
		return errNoSession.MarshalWire()
	}
	s.Cancel()
	return []byte(`{"ok":true}`)
}

func (t *Handles) Free(h int32) []byte {
	if t.m[h] == nil {
		return errNoSession.MarshalWire()
	}
	delete(t.m, h)
	return []byte(`{"ok":true}`)
}
