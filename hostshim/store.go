package hostshim

import (
	"context"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// Store is where a token lives between calls, processes and instances. It
// implements the lease protocol of docs/protocol.md: before a vendor request
// that can void other holders' tokens or spend a refresh token, the core asks
// for a lease and the stored token; after a success it asks to commit the
// new token conditionally on the revision it loaded, which also ends the
// lease; otherwise it releases the lease.
//
// One Store value is one holder: Clients that share a token (in one process
// or many) each use their own Store value over the same backing (the same
// file path, the same Redis key, MemoryStore.Share). A Client never calls
// its Store concurrently.
type Store interface {
	// Lease tries to take the lease for ttl and loads the stored token
	// (nil when none), whether or not the lease was taken. It must not
	// block on another holder: answer acquired=false, the core polls.
	Lease(ctx context.Context, ttl time.Duration) (acquired bool, tok *core.Token, err error)
	// Commit stores tok only if this holder still holds the lease, or
	// nobody holds it and the stored revision is still baseRev; it then
	// releases the lease. ok=false (with what is stored) when another
	// holder committed first.
	Commit(ctx context.Context, tok core.Token, baseRev int64) (ok bool, stored *core.Token, err error)
	// Release ends the lease without storing.
	Release(ctx context.Context) error
}

// Notifier is optional: a shared store that can wake a follower waiting
// for another holder's lease early (Redis pub/sub, a released file lock).
// Wait returns at until, when the store changed or the lease was released,
// or when ctx ends (with ctx.Err()).
type Notifier interface {
	Wait(ctx context.Context, until time.Time) error
}

// storeRev is the revision of a stored token, 0 for none (a v1 file).
func storeRev(t *core.Token) int64 {
	if t == nil {
		return 0
	}
	return t.Rev
}

// MemoryStore keeps the token in memory: the default, one per Client. Share
// gives more holders of the same token, so Clients in one process can
// coordinate as instances sharing Redis would.
type MemoryStore struct {
	b *memBacking
}

// memBacking is what the holders of one MemoryStore share.
type memBacking struct {
	mu      sync.Mutex
	tok     *core.Token
	owner   *MemoryStore  // holder of the lease, nil when free
	until   time.Time     // the lease's end
	changed chan struct{} // closed (and replaced) on every commit and release
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{b: &memBacking{changed: make(chan struct{})}}
}

// Share returns another holder of the same stored token and lease.
func (m *MemoryStore) Share() *MemoryStore { return &MemoryStore{b: m.b} }

func (b *memBacking) freeLocked(now time.Time) bool {
	return b.owner == nil || now.After(b.until)
}

func (b *memBacking) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

func copyToken(t *core.Token) *core.Token {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// Lease implements Store.
func (m *MemoryStore) Lease(ctx context.Context, ttl time.Duration) (bool, *core.Token, error) {
	if err := ctx.Err(); err != nil {
		return false, nil, err
	}
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	acquired := b.owner == m || b.freeLocked(now)
	if acquired {
		b.owner, b.until = m, now.Add(ttl)
	}
	return acquired, copyToken(b.tok), nil
}

// Commit implements Store.
func (m *MemoryStore) Commit(_ context.Context, t core.Token, baseRev int64) (bool, *core.Token, error) {
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	mine := b.owner == m
	if !mine && !(b.freeLocked(time.Now()) && storeRev(b.tok) == baseRev) {
		return false, copyToken(b.tok), nil
	}
	b.tok = copyToken(&t)
	b.owner = nil
	b.notifyLocked()
	return true, nil, nil
}

// Release implements Store.
func (m *MemoryStore) Release(context.Context) error {
	b := m.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.owner == m {
		b.owner = nil
		b.notifyLocked()
	}
	return nil
}

// Wait implements Notifier: a commit or release by another holder ends it.
func (m *MemoryStore) Wait(ctx context.Context, until time.Time) error {
	m.b.mu.Lock()
	ch := m.b.changed
	m.b.mu.Unlock()
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// Load returns the stored token, for inspection and tests.
func (m *MemoryStore) Load(context.Context) (core.Token, bool, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	if m.b.tok == nil {
		return core.Token{}, false, nil
	}
	return *m.b.tok, true, nil
}

// Save stores t unconditionally, outside the lease protocol: for seeding a
// store (a token obtained elsewhere, a test's "other instance").
func (m *MemoryStore) Save(_ context.Context, t core.Token) error {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	m.b.tok = copyToken(&t)
	m.b.notifyLocked()
	return nil
}
