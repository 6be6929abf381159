package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
)

func newArtistCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artist",
		Short: "Read artists from the serving store",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "get NAME|ID",
		Short: "Show what the serving store knows of an artist: snapshot, top tracks, releases, similar artists",
		Example: `  starter artist get "Daft Punk"
  starter artist get 4tZwfgrHOc3mvqYlEYSvVi --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			query := strings.TrimSpace(args[0])
			if query == "" {
				return usagef("artist get: give an artist name or Spotify ID")
			}
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			store, err := serving.Open(cmd.Context(), cfg.Serving.URL)
			if err != nil {
				return fmt.Errorf("open serving.url %s: %w", cfg.Serving.URL, err)
			}
			defer store.Close()
			var (
				view serving.ArtistView
				ok   bool
			)
			if spotify.IsID(query) {
				view, ok, err = store.Artist(cmd.Context(), query)
			} else {
				view, ok, err = store.ArtistByName(cmd.Context(), query)
			}
			if err != nil {
				return fmt.Errorf("read artist %q from %s: %w", query, cfg.Serving.URL, err)
			}
			if !ok {
				return fmt.Errorf("artist %q is not in the serving store %s: run the pipeline for it (starter run --artists %q --wait)",
					query, cfg.Serving.URL, query)
			}
			return render(cmd.OutOrStdout(), g.output, artistView{view})
		},
	})
	return cmd
}

// artistView is what artist get shows: the serving store's view.
type artistView struct{ serving.ArtistView }

func (a artistView) renderText(out io.Writer) error {
	v := a.ArtistView
	fmt.Fprintf(out, "%s  (%s)\n", v.Name, v.ID)
	if len(v.Genres) > 0 {
		fmt.Fprintf(out, "  genres      %s\n", strings.Join(v.Genres, ", "))
	}
	if v.Popularity != nil {
		fmt.Fprintf(out, "  popularity  %d\n", *v.Popularity)
	}
	if v.Followers != nil {
		fmt.Fprintf(out, "  followers   %d\n", *v.Followers)
	}
	fmt.Fprintf(out, "  as of       %s\n", v.DT)
	if len(v.TopTracks) > 0 {
		fmt.Fprintf(out, "  top tracks (%s)\n", v.TopTracksDT)
		for i, t := range v.TopTracks {
			fmt.Fprintf(out, "    %2d. %s — %s\n", i+1, t.Name, t.Album)
		}
	}
	if len(v.Releases) > 0 {
		fmt.Fprintf(out, "  latest releases (%s)\n", v.ReleasesDT)
		for _, r := range v.Releases {
			fmt.Fprintf(out, "    %s  %s (%s)\n", r.ReleaseDate, r.Name, r.Type)
		}
	}
	if len(v.Similar) > 0 {
		fmt.Fprintf(out, "  similar artists (%s)\n", v.SimilarDT)
		for _, s := range v.Similar {
			fmt.Fprintf(out, "    %.2f  %s\n", s.Score, s.Name)
		}
	}
	return nil
}
