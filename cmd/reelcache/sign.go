package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/stream"
)

func signCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign [--page] PATH | /hls/PATH/master.m3u8 | /dash/PATH/manifest.mpd",
		Short: "Print a signed media URL, or a player-page link with a grant (auth.signing_key must be set)",
		Long: `Print a signed URL for the media file PATH, a path relative to media.root
exactly as it appears in /media/ URLs (nothing is stripped from it).
An argument starting with /hls/ or /dash/ is signed as that URL path: a
master playlist or MPD whose inner URLs expire with it.

With --page, print a link to the player page carrying a grant that lets the
page list and play PATH until --ttl: a file, a directory ending in "/"
(everything under it), or "/" for the whole library. The page fetches
short-lived media URLs (auth.url_ttl) with it, and fresh ones when they
expire mid-film.`,
		Args: cobra.ExactArgs(1),
	}
	ttl := cmd.Flags().Duration("ttl", time.Hour, "how long the URL (or the page's grant) stays valid")
	base := cmd.Flags().String("base", "", "URL prefix, e.g. https://videos.example.com (default: http://<listen>)")
	page := cmd.Flags().Bool("page", false, "print a player-page link with a grant for PATH (a file, DIR/, or / for everything)")
	return withConfig(cmd, func(cmd *cobra.Command, cfg *config.Config, args []string) error {
		if len(cfg.Auth.SigningKeys) == 0 {
			return usageError{errors.New("auth.signing_key is empty: media URLs need no signature")}
		}
		if *ttl <= 0 {
			return usageError{errors.New("--ttl must be positive")}
		}
		s, err := stream.NewSigner(cfg.Auth.SigningKeys)
		if err != nil {
			return usageError{err}
		}
		prefix := *base
		if prefix == "" {
			prefix = "http://" + cfg.Listen
		}
		prefix = strings.TrimSuffix(prefix, "/")
		exp := time.Now().Add(*ttl)
		name := args[0]
		if !*page && (strings.HasPrefix(name, "/hls/") || strings.HasPrefix(name, "/dash/")) {
			// A packager URL (/hls/PATH/master.m3u8, /dash/PATH/manifest.mpd):
			// the URLs inside what it answers carry signatures that expire
			// with it.
			if !fs.ValidPath(name[1:]) || strings.ContainsAny(name, "\\\x00") {
				return usageError{fmt.Errorf("%q: want a URL path such as /hls/movies/a.mp4/master.m3u8", name)}
			}
			fmt.Fprintln(cmd.OutOrStdout(), prefix+s.SignPath(name, exp))
			return nil
		}
		if !*page {
			if !fs.ValidPath(name) || name == "." || strings.ContainsAny(name, "\\\x00") {
				return usageError{fmt.Errorf("%q: want the path of a file relative to media.root, as in /media/ URLs, such as movies/a.mp4", name)}
			}
			warnMissing(cmd.ErrOrStderr(), cfg.Media.Root, name, false)
			fmt.Fprintln(cmd.OutOrStdout(), prefix+s.SignURL(name, exp))
			return nil
		}
		scope := name
		if scope == "/" {
			scope = ""
		}
		if err := stream.CheckScope(scope); err != nil {
			return usageError{err}
		}
		if scope != "" {
			warnMissing(cmd.ErrOrStderr(), cfg.Media.Root, strings.TrimSuffix(scope, "/"), strings.HasSuffix(scope, "/"))
		}
		link := prefix + "/?" + url.Values{"grant": {s.SignGrant(scope, exp)}}.Encode()
		if scope != "" && !strings.HasSuffix(scope, "/") {
			link += "#" + (&url.URL{Path: scope}).EscapedPath()
		}
		fmt.Fprintln(cmd.OutOrStdout(), link)
		return nil
	})
}

// warnMissing says on w when name is not a file (or, with dir, a directory)
// under root: signing goes on, since the server may have another copy of
// the media, but a typo should not go unnoticed.
func warnMissing(w io.Writer, root, name string, dir bool) {
	fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(name)))
	switch {
	case err != nil:
		fmt.Fprintf(w, "reelcache: warning: %s is not under media.root %s (signing it anyway)\n", name, root)
	case dir != fi.IsDir():
		kind := "a file"
		if fi.IsDir() {
			kind = "a directory"
		}
		fmt.Fprintf(w, "reelcache: warning: %s under media.root is %s (signing it anyway)\n", name, kind)
	}
}
