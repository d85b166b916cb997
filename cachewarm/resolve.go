package cachewarm

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ErrOutsideRoot is wrapped by Resolve's error for a path that is not under
// the media root.
var ErrOutsideRoot = errors.New("outside the media root")

// Resolve turns command-line arguments into media names: slash-separated
// paths relative to the root, as in /media/ URLs. An argument is such a
// relative path, an absolute path inside rootDir, or a glob (path.Match
// syntax) relative to the root; a directory stands for the media files
// under it. No arguments means the whole root. keep says which file names
// are media; hidden files and directories are skipped, as the server never
// serves them. The names come back sorted, without duplicates.
func Resolve(fsys fs.FS, rootDir string, args []string, keep func(name string) bool) ([]string, error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	absRoot, err := filepath.Abs(rootDir)
	if err != nil {
		return nil, fmt.Errorf("media root: %w", err)
	}
	var names []string
	for _, arg := range args {
		name, err := relName(absRoot, arg)
		if err != nil {
			return nil, err
		}
		matches := []string{name}
		if strings.ContainsAny(name, "*?[") {
			if matches, err = fs.Glob(fsys, name); err != nil {
				return nil, fmt.Errorf("%s: %w", arg, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: no file matches", arg)
			}
		}
		for _, m := range matches {
			found, err := expand(fsys, m, keep)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", arg, err)
			}
			if len(found) == 0 && len(matches) == 1 {
				return nil, fmt.Errorf("%s: not a media file (see media.extensions)", arg)
			}
			names = append(names, found...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// relName returns arg as a name relative to the root.
func relName(absRoot, arg string) (string, error) {
	if filepath.IsAbs(arg) {
		rel, err := filepath.Rel(absRoot, filepath.Clean(arg))
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%s: %w %s", arg, ErrOutsideRoot, absRoot)
		}
		arg = rel
	}
	name := path.Clean(filepath.ToSlash(arg))
	if name == ".." || strings.HasPrefix(name, "../") || !fs.ValidPath(name) {
		return "", fmt.Errorf("%s: %w %s", arg, ErrOutsideRoot, absRoot)
	}
	return name, nil
}

// expand returns the media files at name: itself, or those under it.
func expand(fsys fs.FS, name string, keep func(string) bool) ([]string, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		if hidden(name) || !keep(name) || !fi.Mode().IsRegular() {
			return nil, nil
		}
		return []string{name}, nil
	}
	var names []string
	err = fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != name && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !keep(p) {
			return nil
		}
		if fi, err := fs.Stat(fsys, p); err == nil && fi.Mode().IsRegular() {
			names = append(names, p)
		}
		return nil
	})
	return names, err
}

func hidden(name string) bool {
	for el := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(el, ".") && el != "." {
			return true
		}
	}
	return false
}
