// Command reelbench drives video-player load at HTTP servers, for the
// benchmark (scripts/bench.sh) and by hand, and holds the benchmark's peers
// and slow parts:
//
//	reelbench run -url http://127.0.0.1:8080 -root DIR -scenario seek -clients 64 -duration 10s
//	reelbench compare -root DIR -target nginx=http://... -target reelcache=http://... -rounds 3
//	reelbench cold -root DIR -url http://... -files 10      (origin bytes of a cold start)
//	reelbench plain -root DIR -listen ADDR                   (http.ServeContent on *os.File, the peer)
//	reelbench redispeer -root DIR -redis URL -listen ADDR    (one go-redis pipeline per window, the ceiling)
//	reelbench slowfs -src DIR -mnt DIR -latency 8ms -rate 80MB/s -stats ADDR
//	reelbench slowproxy -upstream URL -listen ADDR -latency 10ms -rate 80MB/s
//	reelbench seekstorm -url https://... -cacert FILE -size N   (h2 against HTTP/1.1: a player's seek storm)
//
// compare runs each scenario against every target in turn, interleaved
// (A B A B ...), so that drift of the machine hits all alike, and prints
// the median of the rounds as JSON lines and a Markdown table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/reelcache/reelcache/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "reelbench:", err)
		os.Exit(1)
	}
}

const usage = "usage: reelbench run|compare|cold|plain|redispeer|slowfs|slowproxy|seekstorm [flags]"

// command is a subcommand: it declares its flags on fs and returns what
// runs it once run has parsed the arguments into them.
type command func(fs *flag.FlagSet) func(ctx context.Context, out io.Writer) error

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	name, args := args[0], args[1:]
	var cmd command
	switch name {
	case "run", "compare", "cold":
		cmd = loadCommand
	case "plain":
		cmd = plainCommand
	case "redispeer":
		cmd = redisPeerCommand
	case "slowfs":
		cmd = slowFSCommand
	case "slowproxy":
		cmd = slowProxyCommand
	case "seekstorm":
		cmd = seekStormCommand
	default:
		return fmt.Errorf("unknown command %q; %s", name, usage)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	runCmd := cmd(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return runCmd(ctx, out)
}

// loadCommand is run, compare and cold, the commands that make load; fs's
// name says which.
func loadCommand(fs *flag.FlagSet) func(context.Context, io.Writer) error {
	cmd := fs.Name()
	root := fs.String("root", "", "media directory (files to request; bodies checked against it with -verify)")
	match := fs.String("match", "", "only the files whose path under -root matches this pattern (path.Match: \"*\" is the top level)")
	base := fs.String("url", "", "run, cold: server base URL (run: several, comma-separated, taken in turn)")
	scenario := fs.String("scenario", "ranges", "ranges, seek, viewers or once")
	clients := fs.Int("clients", 8, "concurrent clients")
	dur := fs.Duration("duration", 5*time.Second, "length of each run (once: at most)")
	rangeSize := fs.Int64("range", 1<<20, "ranges: bytes per request")
	readBytes := fs.Int64("read", 2<<20, "seek: bytes read per request")
	bitrate := fs.Int64("bitrate", 8_000_000, "viewers: bits per second each")
	verify := fs.Bool("verify", false, "check every body against the file")
	rounds := fs.Int("rounds", 3, "compare: rounds per scenario")
	jsonOut := fs.String("json", "", "compare: append the medians as JSON lines to this file")
	label := fs.String("label", "", "compare: the scenario's name in the JSON lines (default: -scenario)")
	settle := fs.Duration("settle", 0, "compare: wait this long after each run before reading counters (reads finishing for clients that left)")
	chunk := fs.Int64("chunk", 1<<20, "cold, compare -distinct: the servers' chunk size")
	distinct := fs.Bool("distinct", false, "compare: count the distinct chunk bytes the clients touched and report origin bytes against them")
	nfiles := fs.Int("files", 10, "cold: how many files the clients share")
	gen := fs.String("generator", "load", "compare: the load generator, load (internal/load) or wrk (ranges only)")
	var tg targets
	fs.Var(&tg, "target", "compare: "+targetSyntax+" (repeat)")
	return func(ctx context.Context, out io.Writer) error {
		if *root == "" {
			return errors.New("-root is required")
		}
		files, err := load.FilesIn(*root)
		if err != nil {
			return err
		}
		if *match != "" {
			if files, err = matching(files, *match); err != nil {
				return err
			}
		}
		if len(files) == 0 {
			return fmt.Errorf("no files under %s match %q", *root, *match)
		}
		cfg := load.Config{
			Files: files, Scenario: load.Scenario(*scenario), Clients: *clients, Duration: *dur,
			RangeSize: *rangeSize, ReadBytes: *readBytes, Bitrate: *bitrate / 8 * 8, Seed: 1,
		}
		if *verify {
			cfg.Root = *root
		}
		urls := strings.Split(*base, ",")
		cfg.BaseURL, cfg.Mirrors = urls[0], urls[1:]
		switch cmd {
		case "cold":
			return cold(ctx, cfg, *chunk, *nfiles, out)
		case "run":
			res, err := load.Run(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, res)
			if res.Errors > 0 {
				return fmt.Errorf("%d errors, first: %s", res.Errors, res.FirstError)
			}
			return nil
		}
		if *gen != "load" && *gen != "wrk" {
			return fmt.Errorf("-generator %q: want load or wrk", *gen)
		}
		cmp := comparison{cfg: cfg, rounds: *rounds, label: *label, settle: *settle, jsonOut: *jsonOut, wrk: *gen == "wrk"}
		if *distinct {
			cmp.chunk = *chunk
		}
		if cmp.label == "" {
			cmp.label = *scenario
		}
		for _, t := range tg {
			tt, err := parseTarget(t)
			if err != nil {
				return err
			}
			cmp.targets = append(cmp.targets, tt)
		}
		return cmp.run(ctx, out)
	}
}

// matching returns the files whose names match pattern.
func matching(files []load.File, pattern string) ([]load.File, error) {
	var out []load.File
	for _, f := range files {
		ok, err := path.Match(pattern, f.Name)
		if err != nil {
			return nil, fmt.Errorf("-match %q: %w", pattern, err)
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}
