package certs

import (
	"os"
	"path/filepath"
)

// DefaultDir is where the local copy of ACME certificates lives when none
// is configured: systemd's $STATE_DIRECTORY (StateDirectory=reelcache in
// deploy/reelcache.service), else $XDG_DATA_HOME/reelcache/acme, else
// ~/.local/share/reelcache/acme.
func DefaultDir() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		return filepath.Join(filepath.SplitList(d)[0], "acme")
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "reelcache", "acme")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "reelcache-acme")
	}
	return filepath.Join(home, ".local", "share", "reelcache", "acme")
}
