package hostshim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith/core"
)

// MaxStateBytes bounds what a FileStore reads: a token file is a few KB.
const MaxStateBytes = 1 << 20

// FileStore keeps the token in one file as wire-format JSON, readable by the
// tokensmith command and every other runtime, and shares it between
// processes: its lease is an exclusive flock on path+".lock", held from
// Lease to Commit or Release, so N processes sharing the file make one
// vendor request between them. A holder that dies releases the lock with
// its last file descriptor (the lease TTL is not needed for that).
//
// The file holds live credentials. It is written with mode 0600 through a
// temporary file in the same directory (fsync, rename, directory fsync), so
// a crash mid-write leaves the old token intact; temporaries a crash left
// behind are removed on the next write. A file it cannot read as a token (corrupt,
// unreadable, not a regular file, over MaxStateBytes, another provider's)
// is never overwritten: every operation fails with code "store" instead.
// No operation blocks: a FIFO or device at the path is refused at once.
type FileStore struct {
	path string
	mu   sync.Mutex
	lock *os.File // the held lease, nil when none
}

// NewFileStore returns a FileStore at path. The file need not exist yet.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Path is where the token is kept.
func (f *FileStore) Path() string { return f.path }

func (f *FileStore) lockPath() string { return f.path + ".lock" }

// storeError is the *core.Error of a store failure. Its text names the
// file, never its content.
func storeError(msg string, err error) *core.Error {
	if err != nil {
		msg += ": " + describeFSError(err)
	}
	return &core.Error{Code: core.CodeStore, Message: msg, Retryable: true}
}

// unusableError is a state file whose content cannot be used (corrupt, too
// large, another provider's, not a regular file, unreadable). It is not
// retryable: the core must not renew around it (a new grant would replace
// what an operator has to look at), and it is never overwritten.
func unusableError(msg string, err error) *core.Error {
	e := storeError(msg, err)
	e.Retryable = false
	return e
}

// describeFSError is an OS error without the path (the caller names it).
func describeFSError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return err.Error()
}

// Lease implements Store: a non-blocking flock, then the stored token.
func (f *FileStore) Lease(ctx context.Context, _ time.Duration) (bool, *core.Token, error) {
	if err := ctx.Err(); err != nil {
		return false, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lock == nil {
		lf, got, err := tryLockFile(f.lockPath())
		if err != nil {
			return false, nil, err
		}
		if got {
			f.lock = lf
		}
	}
	tok, err := f.read()
	if err != nil {
		f.unlockLocked()
		return false, nil, err
	}
	return f.lock != nil, tok, nil
}

// Commit implements Store.
func (f *FileStore) Commit(ctx context.Context, t core.Token, baseRev int64) (bool, *core.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.unlockLocked()
	held := f.lock != nil
	if !held {
		// Nobody may hold it: take it for the write, then check the rev.
		lf, got, err := tryLockFile(f.lockPath())
		if err != nil {
			return false, nil, err
		}
		if !got {
			stored, err := f.read()
			return false, stored, err
		}
		f.lock = lf
	}
	stored, err := f.read()
	if err != nil {
		return false, nil, err
	}
	if !held && storeRev(stored) != baseRev {
		return false, stored, nil
	}
	if stored != nil && stored.Provider != "" && t.Provider != "" && stored.Provider != t.Provider {
		return false, nil, unusableError("the state file "+f.path+" holds a "+stored.Provider+" token: not overwritten", nil)
	}
	if err := f.write(t); err != nil {
		return false, nil, err
	}
	return true, nil, nil
}

// Release implements Store.
func (f *FileStore) Release(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlockLocked()
	return nil
}

func (f *FileStore) unlockLocked() {
	if f.lock != nil {
		unlockFile(f.lock)
		f.lock.Close()
		f.lock = nil
	}
}

// Wait implements Notifier: it returns early once the lock is free, so a
// follower sees the holder's commit within a few milliseconds instead of
// the core's poll interval.
func (f *FileStore) Wait(ctx context.Context, until time.Time) error {
	const probe = 20 * time.Millisecond
	for {
		if lf, got, err := tryLockFile(f.lockPath()); err == nil && got {
			unlockFile(lf)
			lf.Close()
			return nil
		}
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		if err := sleepCtx(ctx, min(d, probe)); err != nil {
			return err
		}
	}
}

// Load returns the stored token (ok=false for none) without taking the
// lease: for inspection, and for a command that must refuse a state file
// it cannot use before it asks the vendor anything.
func (f *FileStore) Load(context.Context) (core.Token, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.read()
	if err != nil || t == nil {
		return core.Token{}, false, err
	}
	return *t, true, nil
}

// Save writes t under the lease, unconditionally: for seeding a store.
func (f *FileStore) Save(ctx context.Context, t core.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lock != nil {
		return f.write(t)
	}
	lf, got, err := tryLockFile(f.lockPath())
	if err != nil {
		return err
	}
	if !got {
		return storeError("the state file "+f.path+" is locked by another process", nil)
	}
	f.lock = lf
	defer f.unlockLocked()
	return f.write(t)
}

// read loads the token; nil when the file is missing or empty.
func (f *FileStore) read() (*core.Token, error) {
	file, err := os.OpenFile(f.path, os.O_RDONLY|readFlags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, unusableError("cannot open the state file "+f.path, err)
	}
	defer file.Close()
	if err := regular(file); err != nil {
		return nil, unusableError("the state file "+f.path, err)
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxStateBytes+1))
	if err != nil {
		return nil, unusableError("cannot read the state file "+f.path, err)
	}
	if len(data) > MaxStateBytes {
		return nil, unusableError("the state file "+f.path+" is larger than 1 MiB: not a token file", nil)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	t, err := core.ParseToken(data)
	if err != nil {
		return nil, unusableError("the state file "+f.path+" is not a tokensmith token (corrupt?)", nil)
	}
	if t.AccessToken == "" && t.RefreshToken == "" {
		return nil, nil
	}
	return &t, nil
}

// regular refuses what is not a regular file (a FIFO would block reads).
func regular(file *os.File) error {
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file (" + fi.Mode().Type().String() + ")")
	}
	return nil
}

// tmpPattern names this file's temporaries: ".NAME.*.tmp" in its directory.
func (f *FileStore) tmpPattern() string { return "." + filepath.Base(f.path) + ".*.tmp" }

// write replaces the file atomically. f.lock must be held: every writer
// holds it, so any temporary of ours that exists now was left by a crash.
func (f *FileStore) write(t core.Token) error {
	dir := filepath.Dir(f.path)
	f.removeStaleTemps(dir)
	// CreateTemp opens with 0600, so the token is never readable by others,
	// not even for the instant before a chmod.
	tmp, err := os.CreateTemp(dir, f.tmpPattern())
	if err != nil {
		return storeError("cannot write the state file "+f.path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	fail := func(err error) error { return storeError("cannot write the state file "+f.path, err) }
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(append(t.MarshalWire(), '\n')); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, f.path); err != nil {
		return fail(err)
	}
	ok = true
	// Persist the rename itself; not every platform can sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// removeStaleTemps deletes temporaries a crashed writer left (they hold
// live tokens): only names of our own pattern, only regular files.
func (f *FileStore) removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + filepath.Base(f.path) + "."
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && len(n) > len(prefix)+4 && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".tmp") {
			os.Remove(filepath.Join(dir, n))
		}
	}
}
