//go:build !unix

package hostshim

import "os"

const readFlags = 0

// tryLockFile on systems without flock: the lease is this process's only
// (a FileStore shared between processes is not coordinated there).
func tryLockFile(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, storeError("cannot open the lock file "+path, err)
	}
	return f, true, nil
}

func unlockFile(*os.File) {}
