package hostshim

import (
	"fmt"
	"strconv"
)

// Every host type that holds a token (or reaches one through its fields)
// implements fmt.Formatter, so that no verb (%v %+v %#v %s %q %d %x …) can
// print a token or secret: fmt would otherwise walk the struct fields.
// slog's text handler formats with %+v, its JSON handler sees no exported
// field: both end up here or at "{}".

// writeSafe prints desc for every verb, quoted for %q.
func writeSafe(f fmt.State, verb rune, desc string) {
	if verb == 'q' {
		desc = strconv.Quote(desc)
	}
	_, _ = f.Write([]byte(desc))
}

// String describes the Client without any token or secret.
func (c *Client) String() string {
	if c == nil {
		return "hostshim.Client(nil)"
	}
	state := "empty"
	if t := c.cur.Load(); t != nil {
		state = "token cached"
	}
	return "hostshim.Client{provider=" + c.provider + " runtime=" + c.runtime.String() + " " + state + "}"
}

// Format implements fmt.Formatter: every verb prints String.
func (c *Client) Format(f fmt.State, verb rune) { writeSafe(f, verb, c.String()) }

// String describes the store without its token.
func (m *MemoryStore) String() string {
	if m == nil || m.b == nil {
		return "hostshim.MemoryStore(nil)"
	}
	m.b.mu.Lock()
	held := m.b.tok != nil
	m.b.mu.Unlock()
	if held {
		return "hostshim.MemoryStore{token stored}"
	}
	return "hostshim.MemoryStore{empty}"
}

// Format implements fmt.Formatter: every verb prints String.
func (m *MemoryStore) Format(f fmt.State, verb rune) { writeSafe(f, verb, m.String()) }

// String names the file (its content is never printed).
func (fs *FileStore) String() string {
	if fs == nil {
		return "hostshim.FileStore(nil)"
	}
	return "hostshim.FileStore{" + fs.path + "}"
}

// Format implements fmt.Formatter: every verb prints String.
func (fs *FileStore) Format(f fmt.State, verb rune) { writeSafe(f, verb, fs.String()) }

func (t *transport) Format(f fmt.State, verb rune) {
	writeSafe(f, verb, "hostshim.Transport{"+t.c.String()+"}")
}

func (s tokenSource) Format(f fmt.State, verb rune) {
	writeSafe(f, verb, "hostshim.TokenSource{"+s.c.String()+"}")
}

// Format prints the redacted text for every verb (Error for %v/%s/%q; fmt
// would print the fields, the unredacted error among them, for %d or %x).
func (e *redactedError) Format(f fmt.State, verb rune) { writeSafe(f, verb, e.msg) }
