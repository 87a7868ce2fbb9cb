package hostshim

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// orderStore checks, inside Commit, that no caller can see the token yet.
type orderStore struct {
	*MemoryStore
	c      *Client
	mu     sync.Mutex
	saves  []core.Token
	unseen []bool // per commit: the Client had not published that token
}

func (s *orderStore) Commit(ctx context.Context, t core.Token, baseRev int64) (bool, *core.Token, error) {
	cur := s.c.cur.Load()
	s.mu.Lock()
	s.saves = append(s.saves, t)
	s.unseen = append(s.unseen, cur == nil || cur.AccessToken != t.AccessToken || cur.ExpiresAt != t.ExpiresAt)
	s.mu.Unlock()
	return s.MemoryStore.Commit(ctx, t, baseRev)
}

func TestCommitBeforeAnyCallerSeesTheToken(t *testing.T) {
	clock := newFakeClock()
	srv := startEmulator(t, emulator.Options{Now: clock.Now})
	st := &orderStore{MemoryStore: NewMemoryStore()}
	c, _ := newClockClient(t, configFor(t, srv, core.ByDesign, nil), clock, WithStore(st))
	st.c = c
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	require.Len(t, st.saves, 1)
	assert.Equal(t, tok.AccessToken, st.saves[0].AccessToken)

	// ByDesign rotates the refresh token on every refresh: the new one is
	// stored before the renewed token is handed out, with a higher rev.
	clock.Advance(48*time.Hour - 30*time.Second)
	tok2, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	require.Len(t, st.saves, 2)
	assert.Equal(t, tok2.AccessToken, st.saves[1].AccessToken)
	assert.NotEqual(t, tok.RefreshToken, st.saves[1].RefreshToken, "rotated refresh token stored")
	assert.Greater(t, st.saves[1].Rev, st.saves[0].Rev)
	assert.Equal(t, []bool{true, true}, st.unseen)
	assert.Equal(t, 2, srv.TokenRequests(core.ByDesign))
}

// A store that cannot write: the failure is reported (logged with code
// "store"), the caller is served the token the vendor gave (a store outage
// must not fail callers), and the token is not lost: it is committed later,
// with no new vendor request.
func TestStoreFailureReportedTokenNotLost(t *testing.T) {
	clock := newFakeClock()
	srv := startEmulator(t, emulator.Options{Now: clock.Now})
	st := &flakyStore{Store: NewMemoryStore(), fail: 1}
	var logs logBuffer
	c, _ := newClockClient(t, configFor(t, srv, core.MoversConnect, nil), clock, WithStore(st),
		WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	tok, err := c.Token(context.Background())
	require.NoError(t, err, "served although the store failed")
	assert.Contains(t, logs.String(), `"code":"store"`)
	assert.Contains(t, logs.String(), "no space left")
	assert.Equal(t, 1, st.commits)
	_, ok, _ := st.Store.(*MemoryStore).Load(context.Background())
	assert.False(t, ok, "nothing stored yet")
	assert.Equal(t, http.StatusOK, call(t, c, protectedRequest(t, srv, core.MoversConnect, "post")))

	// Past the hold-off, once the token is no longer served from the cache
	// (here: stale), the held token is committed before anything else.
	clock.Advance(time.Duration(tok.RefreshAt-clock.Now().Unix()+1) * time.Second)
	tok2, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, st.commits, 2)
	saved, ok, _ := st.Store.(*MemoryStore).Load(context.Background())
	require.True(t, ok)
	assert.Equal(t, int64(srv.TokenRequests(core.MoversConnect)), saved.Rev, "each vendor answer committed once, in order: none lost")
	assert.Equal(t, tok2.AccessToken, saved.AccessToken)
}

func TestFileStoreModeAndRestart(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	path := filepath.Join(t.TempDir(), "token.json")
	cfg := configFor(t, srv, core.CRMCOM, nil)
	c1, _ := newTestClient(t, cfg, WithStore(NewFileStore(path)))
	tok, err := c1.Token(context.Background())
	require.NoError(t, err)
	require.NoError(t, c1.Close())

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	onDisk, err := core.ParseToken(data)
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, onDisk.AccessToken)
	assert.Equal(t, int64(1), onDisk.Rev)
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"token.json", "token.json.lock"}, names, "no temporary file left behind")

	// A new process: same file, no request.
	c2, _ := newTestClient(t, cfg, WithStore(NewFileStore(path)))
	again, err := c2.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, again.AccessToken)
	assert.Equal(t, 1, srv.TokenRequests(core.CRMCOM))
	assert.Equal(t, 200, call(t, c2, protectedRequest(t, srv, core.CRMCOM, "get")))
}

// Issue 8 item 7: a state file that is not a token is never overwritten;
// the Client fails with code "store" before any vendor request.
func TestFileStoreCorruptIsRefusedNotOverwritten(t *testing.T) {
	for name, content := range map[string]string{
		"not json":       "{not json",
		"other provider": `{"provider":"crmcom","access_token":"x-not-for-dqe","refresh_token":"r-kept","expires_at":4102444800}`,
		"not an object":  `[1,2,3]`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			path := filepath.Join(t.TempDir(), "token.json")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil), WithStore(NewFileStore(path)))
			_, err := c.Token(context.Background())
			ce := codeOf(t, err)
			assert.Equal(t, core.CodeStore, ce.Code, ce.Error())
			assert.Equal(t, 0, srv.TokenRequests(core.DQEIDMobile), "no vendor request")
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, content, string(got), "the file is untouched")
		})
	}
}

func TestFileStoreUnreadableIsRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads a 0000 file anyway; the CLI test covers EACCES with a
		// directory in place of the file instead.
		path := filepath.Join(t.TempDir(), "token.json")
		require.NoError(t, os.Mkdir(path, 0o700))
		_, _, err := NewFileStore(path).Load(context.Background())
		assert.Error(t, err)
		return
	}
	path := filepath.Join(t.TempDir(), "token.json")
	require.NoError(t, os.WriteFile(path, []byte("{}"), 0o000))
	_, _, err := NewFileStore(path).Load(context.Background())
	assert.Error(t, err)
}

func TestFileStoreMissingFileIsNoToken(t *testing.T) {
	_, ok, err := NewFileStore(filepath.Join(t.TempDir(), "none.json")).Load(context.Background())
	require.NoError(t, err)
	assert.False(t, ok)
}

// Issue 8 item 8: a FIFO at the state path is refused at once, it does not
// block the open, the read or Close.
func TestFileStoreFIFORefusedWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan error, 1)
	go func() {
		_, _, err := NewFileStore(path).Lease(context.Background(), time.Second)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not a regular file")
	case <-time.After(20 * time.Second):
		t.Fatal("Lease blocked on a FIFO")
	}
	// The lock file too.
	path2 := filepath.Join(dir, "t2.json")
	require.NoError(t, syscall.Mkfifo(path2+".lock", 0o600))
	_, _, err := NewFileStore(path2).Lease(context.Background(), time.Second)
	require.Error(t, err)
}

// Issue 8 item 9: temporaries a crash left (they hold live tokens) are
// removed on the next write; other files are not touched.
func TestFileStoreRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	for _, n := range []string{".token.json.123.tmp", ".token.json.456789.tmp"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(`{"access_token":"live"}`), 0o600))
	}
	keep := []string{".other.json.1.tmp", "token.json.tmp", "notes.txt"}
	for _, n := range keep {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o600))
	}
	fs := NewFileStore(path)
	ok, _, err := fs.Lease(context.Background(), time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	committed, _, err := fs.Commit(context.Background(), core.Token{Provider: core.DQEIDMobile, AccessToken: "TKabc", Rev: 1}, 0)
	require.NoError(t, err)
	require.True(t, committed)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, append(keep, "token.json", "token.json.lock"), names)
}

// The lease protocol on a file: one holder at a time, the other gets the
// stored token and is woken by the holder's commit; a commit on a stale
// base revision by a non-holder is lost.
func TestFileStoreLeaseProtocol(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	a, b := NewFileStore(path), NewFileStore(path)
	ctx := context.Background()
	got, tok, err := a.Lease(ctx, time.Minute)
	require.NoError(t, err)
	require.True(t, got)
	assert.Nil(t, tok)
	got, _, err = b.Lease(ctx, time.Minute)
	require.NoError(t, err)
	assert.False(t, got, "a holds the lease")

	woke := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		_ = b.Wait(ctx, time.Now().Add(30*time.Second))
		woke <- time.Since(start)
	}()
	ok, _, err := a.Commit(ctx, core.Token{Provider: core.MoversConnect, AccessToken: "A1", Rev: 1}, 0)
	require.NoError(t, err)
	require.True(t, ok)
	select {
	case <-woke:
	case <-time.After(20 * time.Second):
		t.Fatal("the follower was not woken by the commit")
	}

	got, tok, err = b.Lease(ctx, time.Minute)
	require.NoError(t, err)
	assert.True(t, got)
	require.NotNil(t, tok)
	assert.Equal(t, "A1", tok.AccessToken)
	assert.Equal(t, int64(1), tok.Rev)
	require.NoError(t, b.Release(ctx))

	// a, without the lease, commits on base rev 0: another holder
	// committed rev 1 since, so a's commit is lost.
	ok, stored, err := a.Commit(ctx, core.Token{Provider: core.MoversConnect, AccessToken: "A2", Rev: 1}, 0)
	require.NoError(t, err)
	assert.False(t, ok)
	require.NotNil(t, stored)
	assert.Equal(t, "A1", stored.AccessToken)
}

// Clients sharing one token through their own FileStores on one path make
// one grant between them (MoversConnect voids earlier tokens on a grant),
// and all serve the same live token.
func TestFileStoreSharedByConcurrentClients(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	path := filepath.Join(t.TempDir(), "token.json")
	cfg := configFor(t, srv, core.MoversConnect, nil)
	const n = 20
	toks := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		c, err := New(cfg, WithStore(NewFileStore(path)))
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background())
			assert.NoError(t, err)
			toks[i] = tok.AccessToken
		}()
	}
	wg.Wait()
	for i := range n {
		require.Equal(t, toks[0], toks[i])
	}
	assert.Equal(t, 1, srv.TokenRequests(core.MoversConnect), "one grant for all")
}

// MemoryStore.Share: a second Client adopts the first one's token.
func TestMemoryStoreShareAdoptsToken(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	cfg := configFor(t, srv, core.MoversConnect, nil)
	st := NewMemoryStore()
	c1, _ := newTestClient(t, cfg, WithStore(st))
	c2, _ := newTestClient(t, cfg, WithStore(st.Share()))
	t1, err := c1.Token(context.Background())
	require.NoError(t, err)
	t2, err := c2.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, t1.AccessToken, t2.AccessToken)
	assert.Equal(t, 1, srv.TokenRequests(core.MoversConnect))
}
