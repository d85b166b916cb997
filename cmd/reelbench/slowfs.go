package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

func slowFSCommand(flags *flag.FlagSet) func(context.Context, io.Writer) error {
	src := flags.String("src", "", "directory to mirror")
	mnt := flags.String("mnt", "", "mount point (an empty directory)")
	lf := addLinkFlags(flags, 8*time.Millisecond, "added to every read", "reads")
	maxRead := flags.Int("max-read", 1<<20, "largest read the kernel sends at once, in bytes (a larger read is cut into several, each paying the latency)")
	stats := flags.String("stats", "", "address to serve the read counters on (GET /metrics)")
	return func(ctx context.Context, out io.Writer) error {
		if *src == "" || *mnt == "" {
			return errors.New("slowfs: -src and -mnt are required")
		}
		l, err := lf.link()
		if err != nil {
			return fmt.Errorf("slowfs: %w", err)
		}
		srv, err := mountSlowFS(*src, *mnt, l, *maxRead)
		if err != nil {
			return err
		}
		defer srv.Unmount()
		if *stats != "" {
			ln, err := net.Listen("tcp", *stats)
			if err != nil {
				return err
			}
			go serve(ctx, ln, l, io.Discard)
		}
		fmt.Fprintf(out, "slowfs: %s on %s, %v a read, %s\n", *src, *mnt, l.latency, *lf.rate)
		<-ctx.Done()
		return srv.Unmount()
	}
}

// mountSlowFS mounts a read-only FUSE mirror of src on mnt whose every
// read waits l's latency and shares l's throughput. Reads bypass the
// kernel's page cache (direct I/O), as on storage too big or too remote
// to be cached: every read an application makes is a read of the slow
// storage, cut by the kernel into pieces of at most maxRead bytes.
// Metadata (lookups, stat) is not slowed. The caller unmounts the
// returned server.
func mountSlowFS(src, mnt string, l *link, maxRead int) (*fuse.Server, error) {
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(src, &st); err != nil {
		return nil, fmt.Errorf("slowfs: %w", err)
	}
	root := &fs.LoopbackRoot{Path: src, Dev: uint64(st.Dev)}
	root.RootNode = &slowNode{LoopbackNode: &fs.LoopbackNode{RootData: root}, link: l}
	sec := time.Second
	srv, err := fs.Mount(mnt, root.RootNode, &fs.Options{
		EntryTimeout: &sec, AttrTimeout: &sec,
		MountOptions: fuse.MountOptions{
			// nginx's worker and other users read it too (allowed for
			// root without user_allow_other in /etc/fuse.conf).
			AllowOther: os.Geteuid() == 0,
			FsName:     src, Name: "reelbench-slowfs",
			Options:  []string{"ro"},
			MaxWrite: maxRead, // go-fuse passes it as max_read too
			// Reads return bytes, not descriptors: nothing to splice.
			DisableSplice: true,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("slowfs: mount %s on %s: %w", src, mnt, err)
	}
	return srv, nil
}

// slowNode is a loopback node whose files are opened as slowFiles.
type slowNode struct {
	*fs.LoopbackNode
	link *link
}

var (
	_ fs.NodeWrapChilder = (*slowNode)(nil)
	_ fs.NodeOpener      = (*slowNode)(nil)
)

// WrapChild makes every node under the root a slowNode too.
func (n *slowNode) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &slowNode{LoopbackNode: ops.(*fs.LoopbackNode), link: n.link}
}

// Open opens the file read-only for direct I/O. It does not hand the
// kernel a descriptor for FUSE passthrough (which a *fs.LoopbackFile
// would, as root), so every read comes to slowFile.Read.
func (n *slowNode) Open(_ context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR) != 0 {
		return nil, 0, syscall.EROFS
	}
	f, err := os.Open(filepath.Join(n.RootData.Path, n.Path(n.Root())))
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	return &slowFile{f: f, link: n.link}, fuse.FOPEN_DIRECT_IO, 0
}

// slowFile is one open file of a slowNode.
type slowFile struct {
	f    *os.File
	link *link
}

var (
	_ fs.FileReader   = (*slowFile)(nil)
	_ fs.FileReleaser = (*slowFile)(nil)
)

func (f *slowFile) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if err := f.link.request(ctx); err != nil {
		return nil, syscall.EINTR
	}
	n, err := f.f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fs.ToErrno(err)
	}
	if err := f.link.transfer(ctx, n); err != nil {
		return nil, syscall.EINTR
	}
	return fuse.ReadResultData(buf[:n]), 0
}

func (f *slowFile) Release(context.Context) syscall.Errno {
	return fs.ToErrno(f.f.Close())
}
