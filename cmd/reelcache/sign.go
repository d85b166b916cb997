package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reelcache/reelcache/config"
	"github.com/reelcache/reelcache/stream"
)

func signCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign PATH",
		Short: "Print a signed URL for a media file (auth.signing_key must be set)",
		Args:  cobra.ExactArgs(1),
	}
	config.AddFlags(cmd.Flags())
	ttl := cmd.Flags().Duration("ttl", time.Hour, "how long the URL stays valid")
	base := cmd.Flags().String("base", "", "URL prefix, e.g. https://videos.example.com (default: http://<listen>)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadConfig(cmd.Flags())
		if err != nil {
			return err
		}
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
		name := strings.TrimPrefix(args[0], "/")
		name = strings.TrimPrefix(name, "media/")
		prefix := *base
		if prefix == "" {
			prefix = "http://" + cfg.Listen
		}
		fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSuffix(prefix, "/")+s.SignURL(name, time.Now().Add(*ttl)))
		return nil
	}
	return cmd
}
