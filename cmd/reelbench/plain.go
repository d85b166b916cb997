package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

func plainCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("plain", flag.ContinueOnError)
	root := fs.String("root", "", "media directory")
	listen := fs.String("listen", "127.0.0.1:0", "address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		return errors.New("plain: -root is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return serve(ctx, ln, plain(*root), out)
}

// plain serves root with http.ServeContent on *os.File: the peer that
// reelcache's disk path is measured against.
func plain(root string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/media/")
		if !ok || strings.Contains(name, "..") {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})
}

// serve serves h on ln until ctx ends, after printing its URL.
func serve(ctx context.Context, ln net.Listener, h http.Handler, out io.Writer) error {
	fmt.Fprintf(out, "http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
