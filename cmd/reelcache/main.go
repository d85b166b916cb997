// Command reelcache serves video files to the HTML <video> tag from a Redis
// chunk cache with disk fallback.
//
//	reelcache serve                 run the HTTP server
//	reelcache warm [PATH|GLOB ...]  read files into the cache ahead of viewers
//	reelcache cache status|purge    show or delete what Redis holds
//	reelcache sign [--page] PATH    print a signed media URL or page grant
//	reelcache version               print the version
//
// Every subcommand reads the same configuration: flags, REELCACHE_*
// environment variables, then reelcache.yaml (see reelcache.example.yaml).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/reelcache/reelcache/cachewarm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reelcache:", errorText(err))
		os.Exit(exitCode(err))
	}
}

// errorText is err's message for a terminal: an error may quote a file
// name, so control characters in each line are escaped (a name cannot
// clear the screen); the line breaks between joined errors stay.
func errorText(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = cachewarm.EscapeControl(l)
	}
	return strings.Join(lines, "\n")
}

// usageError is a mistake in the command line or the configuration: exit
// status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode is 2 for usage and configuration errors, 1 for the rest.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// run runs the command line args until it is done or ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := rootCommand(stdout, stderr)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}
