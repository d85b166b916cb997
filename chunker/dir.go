package chunker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// Dir is the Origin of a local directory (media.root). Every access goes
// through an os.Root, so no name, through ".." or a symbolic link, reaches
// outside it. It is safe for concurrent use.
type Dir struct {
	root   *os.Root
	shared bool
}

// DirOptions configure a Dir.
type DirOptions struct {
	// SharedVersions makes versions from name, size and mtime only
	// (SharedVersionOf), so that instances on several hosts share chunks;
	// the default also hashes device, inode and change time (VersionOf),
	// which is stricter but differs from host to host.
	SharedVersions bool
}

// NewDir returns the Origin of the directory root. The caller keeps
// ownership of root and closes it after the last use of the Dir.
func NewDir(root *os.Root, opts DirOptions) *Dir {
	return &Dir{root: root, shared: opts.SharedVersions}
}

// version returns the version of name with info fi, per the options.
func (d *Dir) version(name string, fi fs.FileInfo) string {
	if d.shared {
		return SharedVersionOf(name, fi)
	}
	return VersionOf(fi)
}

func (d *Dir) info(name string, fi fs.FileInfo) Info {
	return Info{Name: name, Size: fi.Size(), ModTime: fi.ModTime(), Version: d.version(name, fi), ChangedAt: changedAt(fi)}
}

// Open opens name under the root. Names that escape it fail with an error
// that wraps fs.ErrNotExist or the os.Root error.
//
// The open does not block: a FIFO (or a device) named like a video would
// otherwise hold open(2), and the viewer's request with it, until a writer
// came. O_NONBLOCK changes nothing for the regular files that are served,
// and anything else is refused as ErrNotRegular right after.
func (d *Dir) Open(_ context.Context, name string) (Object, error) {
	f, err := d.openFile(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, ErrNotRegular)
	}
	return &dirObject{d: d, f: f, info: d.info(name, fi)}, nil
}

// dirObject is one open file of a Dir.
type dirObject struct {
	d    *Dir
	f    *os.File
	info Info
}

func (o *dirObject) Info() Info { return o.info }

// OSFile returns the open file, so that a caller serving it directly lets
// the kernel's sendfile do the copying.
func (o *dirObject) OSFile() *os.File { return o.f }

func (o *dirObject) Close() error { return o.f.Close() }

// Changed checks the open file (rewritten or truncated in place) and the
// name (replaced or removed).
func (o *dirObject) Changed(context.Context) error {
	name := o.info.Name
	fi, err := o.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if o.d.version(name, fi) != o.info.Version {
		return fmt.Errorf("%s: %w", name, ErrChanged)
	}
	fi, err = o.d.root.Stat(name)
	if err != nil || o.d.version(name, fi) != o.info.Version {
		return fmt.Errorf("%s: replaced or removed: %w", name, ErrChanged)
	}
	return nil
}

// openFile opens name for reading without blocking on a FIFO.
func (d *Dir) openFile(name string) (*os.File, error) {
	return d.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// ReadRange opens name anew, so that the read does not depend on a
// descriptor its caller may close, and checks that the file is the version
// asked for before the first byte and after every read: a Read returns no
// byte it read after the file stopped being that version. (An in-place
// write(2) sets mtime and ctime before it copies its data, so bytes read
// while it runs fail the check after them.)
func (d *Dir) ReadRange(_ context.Context, name, version string, off, n int64) (io.ReadCloser, error) {
	f, err := d.openFile(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", name, ErrChanged)
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	r := &dirRange{d: d, f: f, name: name, version: version, sr: io.NewSectionReader(f, off, n)}
	if err := r.same(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// dirRange is a byte range of one version of a file.
type dirRange struct {
	d             *Dir
	f             *os.File
	name, version string
	sr            *io.SectionReader
}

func (r *dirRange) same() error {
	fi, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("read %s: %w", r.name, err)
	}
	if r.d.version(r.name, fi) != r.version {
		return fmt.Errorf("read %s: %w", r.name, ErrChanged)
	}
	return nil
}

func (r *dirRange) Read(p []byte) (int, error) {
	n, err := r.sr.Read(p)
	if n > 0 || err == io.EOF {
		if e := r.same(); e != nil {
			return 0, e
		}
	}
	return n, err
}

func (r *dirRange) Close() error { return r.f.Close() }

// List walks the root. Hidden files and directories (names starting with
// ".") are skipped: they are never served either. Symbolic links that stay
// inside the root are followed; ones that leave it are skipped, as are
// unreadable subdirectories.
func (d *Dir) List(ctx context.Context, keep func(name string) bool) ([]Info, error) {
	fsys := d.root.FS()
	var infos []Info
	err := fs.WalkDir(fsys, ".", func(name string, de fs.DirEntry, err error) error {
		if err != nil {
			if name == "." {
				return err
			}
			return nil // unreadable subdirectory: list the rest
		}
		if name != "." && strings.HasPrefix(path.Base(name), ".") {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() || !keep(name) {
			return nil
		}
		fi, err := fs.Stat(fsys, name) // follows links, inside the root only
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		infos = append(infos, d.info(name, fi))
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list media: %w", err)
	}
	return infos, nil
}

// Check reports whether the root can be read.
func (d *Dir) Check(context.Context) error {
	if _, err := d.root.Stat("."); err != nil {
		return fmt.Errorf("media root: %w", err)
	}
	return nil
}
