package local

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Each tier's directory holds a lock file that its process keeps locked
// (flock) while it runs. A directory left by a process that died without
// closing its tier has an unlocked lock file, and the next tier made in the
// same parent removes it: a crash costs disk space until the next start,
// not for ever, and tiers of instances that run side by side are left
// alone.

const lockName = "lock"

// lockDir creates dir's lock file and locks it; the returned file keeps
// the lock until closed.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// removeStale removes the tier directories in parent whose lock no process
// holds, except keep.
func removeStale(parent, keep string) {
	matches, _ := filepath.Glob(filepath.Join(parent, "reelcache-tier-*"))
	for _, d := range matches {
		if d == keep || !strings.HasPrefix(filepath.Base(d), "reelcache-tier-") {
			continue
		}
		f, err := os.Open(filepath.Join(d, lockName))
		if err != nil {
			continue // not a tier's directory, or not ours to judge
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			os.RemoveAll(d)
		}
		f.Close()
	}
}
