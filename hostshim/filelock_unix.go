//go:build unix

package hostshim

import (
	"errors"
	"os"
	"syscall"
)

// readFlags open a state file without blocking on a FIFO or device.
const readFlags = syscall.O_NONBLOCK | syscall.O_CLOEXEC

// tryLockFile opens (creating, mode 0600) the lock file at path and tries
// to take an exclusive flock on it without blocking. got=false: another
// open file holds it (another process, or another FileStore in this one).
// The open itself cannot block either: O_NONBLOCK, and a FIFO or a symlink
// planted at path is refused.
func tryLockFile(path string) (f *os.File, got bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, false, storeError("cannot open the lock file "+path, err)
	}
	if err := regular(f); err != nil {
		f.Close()
		return nil, false, storeError("the lock file "+path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, storeError("cannot lock "+path, err)
	}
	return f, true, nil
}

func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
