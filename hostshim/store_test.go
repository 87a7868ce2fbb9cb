package hostshim

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokensmith/tokensmith/core"
	"github.com/tokensmith/tokensmith/internal/emulator"
)

// orderStore checks, inside Save, that no caller can see the token yet.
type orderStore struct {
	MemoryStore
	c      *Client
	mu     sync.Mutex
	saves  []core.Token
	unseen []bool // per save: the Client had not published that token
}

func (s *orderStore) Save(ctx context.Context, t core.Token) error {
	cur := s.c.cur.Load()
	s.mu.Lock()
	s.saves = append(s.saves, t)
	s.unseen = append(s.unseen, cur == nil || cur.AccessToken != t.AccessToken || cur.ExpiresAt != t.ExpiresAt)
	s.mu.Unlock()
	return s.MemoryStore.Save(ctx, t)
}

func TestSaveBeforeAnyCallerSeesTheToken(t *testing.T) {
	clock := newFakeClock()
	srv := startEmulator(t, emulator.Options{Now: clock.Now})
	st := &orderStore{}
	c, _ := newTestClient(t, configFor(t, srv, core.ByDesign, nil), WithStore(st), WithClock(clock.Now))
	st.c = c
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	require.Len(t, st.saves, 1)
	assert.Equal(t, tok.AccessToken, st.saves[0].AccessToken)

	// ByDesign rotates the refresh token on every refresh: the new one is
	// stored before the renewed token is handed out.
	clock.Advance(48*time.Hour - 30*time.Second)
	tok2, err := c.FreshToken(context.Background())
	require.NoError(t, err)
	require.Len(t, st.saves, 2)
	assert.Equal(t, tok2.AccessToken, st.saves[1].AccessToken)
	assert.NotEqual(t, tok.RefreshToken, st.saves[1].RefreshToken, "rotated refresh token stored")
	assert.Equal(t, []bool{true, true}, st.unseen)
	assert.Equal(t, 2, srv.TokenRequests(core.ByDesign))
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
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1, "no temporary file left behind")

	// A new process: same store, no request.
	c2, _ := newTestClient(t, cfg, WithStore(NewFileStore(path)))
	again, err := c2.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, again.AccessToken)
	assert.Equal(t, 1, srv.TokenRequests(core.CRMCOM))
	assert.Equal(t, 200, call(t, c2, protectedRequest(t, srv, core.CRMCOM, "get")))
}

func TestFileStoreUnreadableIsReplaced(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	path := filepath.Join(t.TempDir(), "token.json")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil), WithStore(NewFileStore(path)))
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	got, ok, err := NewFileStore(path).Load(context.Background())
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, tok.AccessToken, got.AccessToken)
}

func TestFileStoreMissingFileIsNoToken(t *testing.T) {
	_, ok, err := NewFileStore(filepath.Join(t.TempDir(), "none.json")).Load(context.Background())
	require.NoError(t, err)
	assert.False(t, ok)
}

// A stored token of another provider is ignored, not used.
func TestStoredTokenOfAnotherProviderIgnored(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	st := NewMemoryStore()
	require.NoError(t, st.Save(context.Background(), core.Token{Provider: core.CRMCOM, AccessToken: "x-not-for-dqe", ExpiresAt: time.Now().Unix() + 3600}))
	c, _ := newTestClient(t, configFor(t, srv, core.DQEIDMobile, nil), WithStore(st))
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, "x-not-for-dqe", tok.AccessToken)
	assert.Equal(t, 1, srv.TokenRequests(core.DQEIDMobile))
}
