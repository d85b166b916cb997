package cachewarm

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// ErrNoListing is wrapped by ResolvePlain's error for arguments that need a
// listing the origin cannot give.
var ErrNoListing = errors.New("this origin cannot list its objects")

// ResolveList is Resolve for an origin known by its listing (a bucket, an
// HTTP origin's manifest) rather than a file system: names are the listed
// media names. An argument is a name, a glob (path.Match syntax) that
// matches names or the directories above them, or a directory that stands
// for the names under it; "." or no arguments means every name. The names
// come back sorted, without duplicates.
func ResolveList(names, args []string, keep func(name string) bool) ([]string, error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	var out []string
	for _, arg := range args {
		name, err := objectName(arg)
		if err != nil {
			return nil, err
		}
		var found []string
		switch {
		case name == ".":
			found = names
		case strings.ContainsAny(name, "*?["):
			if _, err := path.Match(name, ""); err != nil {
				return nil, fmt.Errorf("%s: %w", arg, err)
			}
			for _, n := range names {
				if matchesOrUnder(name, n) {
					found = append(found, n)
				}
			}
			if len(found) == 0 {
				return nil, fmt.Errorf("%s: no file matches", arg)
			}
		default:
			for _, n := range names {
				if n == name || strings.HasPrefix(n, name+"/") {
					found = append(found, n)
				}
			}
			if len(found) == 0 {
				if !keep(name) {
					return nil, fmt.Errorf("%s: not a media file (see media.extensions)", arg)
				}
				return nil, fmt.Errorf("%s: %w at the origin", arg, fs.ErrNotExist)
			}
		}
		out = append(out, found...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ResolvePlain resolves arguments that must each name one media file, for
// an origin that cannot list: globs, directories and no arguments at all
// need a listing and fail with ErrNoListing.
func ResolvePlain(args []string, keep func(name string) bool) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: name the files", ErrNoListing)
	}
	var out []string
	for _, arg := range args {
		name, err := objectName(arg)
		if err != nil {
			return nil, err
		}
		if name == "." || strings.ContainsAny(name, "*?[") {
			return nil, fmt.Errorf("%s: %w: name the files", arg, ErrNoListing)
		}
		if !keep(name) {
			return nil, fmt.Errorf("%s: not a media file (see media.extensions)", arg)
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// objectName checks an argument that names an object relative to the
// origin.
func objectName(arg string) (string, error) {
	name := path.Clean(arg)
	if strings.HasPrefix(arg, "/") || name == ".." || strings.HasPrefix(name, "../") || !fs.ValidPath(name) || hidden(name) {
		return "", fmt.Errorf("%s: want a name relative to the origin, as in /media/ URLs", arg)
	}
	return name, nil
}

// matchesOrUnder reports whether pattern matches name or a directory above
// it, as a glob over a file system matches a directory that then stands for
// its files.
func matchesOrUnder(pattern, name string) bool {
	for p := name; p != "."; p = path.Dir(p) {
		if ok, _ := path.Match(pattern, p); ok {
			return true
		}
	}
	return false
}
