package hostshim

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/tokensmith/tokensmith/core"
)

// Store keeps a token across restarts. A Client calls Load once, before its
// first token request, and Save with every new or renewed token before any
// caller sees it: a refresh token the vendor rotated is never held only in
// memory. Implementations must be safe for concurrent use; the Client itself
// never calls Save concurrently.
type Store interface {
	Load(ctx context.Context) (tok core.Token, ok bool, err error)
	Save(ctx context.Context, tok core.Token) error
}

// MemoryStore keeps the token in memory only: the default.
type MemoryStore struct {
	mu  sync.Mutex
	tok core.Token
	ok  bool
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

func (m *MemoryStore) Load(context.Context) (core.Token, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tok, m.ok, nil
}

func (m *MemoryStore) Save(_ context.Context, t core.Token) error {
	m.mu.Lock()
	m.tok, m.ok = t, true
	m.mu.Unlock()
	return nil
}

// FileStore keeps the token in one file as wire-format JSON, readable by the
// tokensmith command and any other runtime. The file holds live credentials:
// it is written with mode 0600, through a temporary file in the same
// directory and a rename, so a crash mid-write leaves the old token intact
// rather than half a file.
type FileStore struct {
	path string
	mu   sync.Mutex
}

// NewFileStore returns a FileStore at path. The file need not exist yet.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Path is where the token is kept.
func (f *FileStore) Path() string { return f.path }

// Load reads the token. A missing file is no token, not an error.
func (f *FileStore) Load(context.Context) (core.Token, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return core.Token{}, false, nil
	}
	if err != nil {
		return core.Token{}, false, err
	}
	t, err := core.ParseToken(data)
	if err != nil {
		return core.Token{}, false, err
	}
	return t, t.AccessToken != "" || t.RefreshToken != "", nil
}

// Save replaces the file atomically.
func (f *FileStore) Save(_ context.Context, t core.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := filepath.Dir(f.path)
	// CreateTemp opens with 0600, so the token is never readable by others,
	// not even for the instant before a chmod.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	data := append(t.MarshalWire(), '\n')
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, f.path); err != nil {
		return err
	}
	ok = true
	// Persist the rename itself; not every platform can sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
