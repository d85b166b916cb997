package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/reelcache/reelcache/cachewarm"
	"github.com/reelcache/reelcache/config"
	"github.com/spf13/cobra"
)

func cacheCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show or purge what Redis holds",
	}
	status := &cobra.Command{
		Use:   "status [PATH|GLOB ...]",
		Short: "Show, per file, which chunks are cached",
	}
	statusJSON := status.Flags().Bool("json", false, "print JSON")
	withConfig(status, func(cmd *cobra.Command, cfg *config.Config, args []string) error {
		ctx := cmd.Context()
		cache, names, closer, err := adminFiles(ctx, cfg, newLogger(cfg, io.Discard), args)
		if err != nil {
			return err
		}
		defer closer()
		files, err := cachewarm.Status(ctx, cache, names)
		if err != nil {
			return err
		}
		previewStatus(ctx, cache, files)
		out := cmd.OutOrStdout()
		if *statusJSON {
			return json.NewEncoder(out).Encode(files)
		}
		width := 40
		if tty, w := isTerminal(out); tty {
			width = max(10, w/2)
		}
		return cachewarm.WriteStatus(out, files, width)
	})

	purge := &cobra.Command{
		Use:   "purge [PATH|GLOB ...]",
		Short: "Delete the chunks of files, or with --yes and no PATH every chunk under redis.key_prefix",
	}
	yes := purge.Flags().Bool("yes", false, "confirm purging every chunk under the key prefix")
	withConfig(purge, func(cmd *cobra.Command, cfg *config.Config, args []string) error {
		if len(args) == 0 && !*yes {
			return usageError{fmt.Errorf("purging every chunk under %q needs --yes", cfg.Redis.KeyPrefix)}
		}
		ctx := cmd.Context()
		cache, closer, err := adminCache(ctx, cfg, newLogger(cfg, io.Discard))
		if err != nil {
			return err
		}
		defer closer()
		var n int64
		if len(args) == 0 {
			n, err = cachewarm.PurgeAll(ctx, cache.Store())
		} else {
			var names []string
			if names, err = resolveArgs(ctx, cfg, cache, args); err != nil {
				return err
			}
			n, err = cachewarm.PurgeFiles(ctx, cache, names)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "purged %d chunks\n", n)
		return err
	})
	cmd.AddCommand(status, purge)
	return cmd
}
