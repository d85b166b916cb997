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

func plainCommand(fs *flag.FlagSet) func(context.Context, io.Writer) error {
	root := fs.String("root", "", "media directory")
	serveOn := listenFlag(fs)
	return func(ctx context.Context, out io.Writer) error {
		if *root == "" {
			return errors.New("plain: -root is required")
		}
		return serveOn(ctx, plain(*root), out)
	}
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

// listenFlag declares -listen on fs; the function it returns listens there
// once fs is parsed and serves h until ctx ends (serve).
func listenFlag(fs *flag.FlagSet) func(ctx context.Context, h http.Handler, out io.Writer) error {
	addr := fs.String("listen", "127.0.0.1:0", "address")
	return func(ctx context.Context, h http.Handler, out io.Writer) error {
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		return serve(ctx, ln, h, out)
	}
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
