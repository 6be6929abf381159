package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/config"
)

// API modes a Spotify app has, as spotify.fake.mode and --spotify-mode
// spell them.
const (
	modeExtended    = "extended"
	modeDevelopment = "development"
)

// checkSpotifyModeFlag refuses a --spotify-mode that is no mode, before
// the config names it by its key.
func checkSpotifyModeFlag(cmd *cobra.Command) error {
	mode, _ := cmd.Flags().GetString("spotify-mode")
	if mode != modeExtended && mode != modeDevelopment {
		return usagef("--spotify-mode %q: want %s or %s", mode, modeExtended, modeDevelopment)
	}
	return nil
}

// checkSpotifyMode refuses --spotify-mode when real Spotify credentials are
// set: their app has its own mode, which the pipeline probes.
func checkSpotifyMode(cmd *cobra.Command, cfg *config.Config) error {
	if !cmd.Flags().Changed("spotify-mode") {
		return nil
	}
	mode, _ := cmd.Flags().GetString("spotify-mode")
	if !cfg.FakeEnabled(!cfg.HasSpotifyCredentials()) {
		return usagef("--spotify-mode %s: Spotify credentials are set (SPOTIFY_ID/SPOTIFY_SECRET), so the API mode is "+
			"your Spotify app's own, not a choice of starter dev; unset them to try %s mode on the sample catalog", mode, mode)
	}
	return nil
}

// printModeSummary names the API mode of the run and what the other mode
// would add or lose. fake says whether the sample catalog played it, which
// --spotify-mode switches.
func printModeSummary(out io.Writer, mode string, fake bool) {
	switch mode {
	case modeExtended:
		fmt.Fprintln(out, "\nAPI mode         extended: popularity, followers, top tracks, and audio features and related artists where granted")
		hint := "what a new Spotify app gets"
		if fake {
			hint = "--spotify-mode development plays it"
		}
		fmt.Fprintf(out, "                 development mode (%s) would lose them: discography by album instead,\n"+
			"                 incremental after the first run, no popularity\n", hint)
	case modeDevelopment:
		fmt.Fprintln(out, "\nAPI mode         development: artists, discography by album, incremental after the first run; no popularity, no followers")
		hint := "needs Spotify's approval of the app"
		if fake {
			hint = "--spotify-mode extended plays it"
		}
		fmt.Fprintf(out, "                 extended mode (%s) would add popularity, followers, top tracks,\n"+
			"                 and audio features and related artists where granted\n", hint)
	}
}
