package main

import (
	"github.com/spf13/cobra"

	"github.com/reelcache/reelcache/config"
)

// withConfig gives cmd the configuration's flags (config.AddFlags) and
// makes it run run with the configuration loaded under them (loadConfig: a
// bad one is a usage error and run is not called). It returns cmd.
func withConfig(cmd *cobra.Command, run func(cmd *cobra.Command, cfg *config.Config, args []string) error) *cobra.Command {
	config.AddFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadConfig(cmd.Flags())
		if err != nil {
			return err
		}
		return run(cmd, cfg, args)
	}
	return cmd
}
