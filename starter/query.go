package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/internal/analytics"
)

func newQueryCommand(g *globalFlags) *cobra.Command {
	var (
		file   string
		format string
	)
	cmd := &cobra.Command{
		Use:   `query "SELECT …" | -f FILE`,
		Short: "Run SQL over the lake: curated tables and marts, every date, dt as a column",
		Long: `query runs ad hoc SQL over the lake with DuckDB. Every curated table
(artists, albums, tracks, artist_top_tracks, audio_features) and mart
(artist_daily, genre_daily, artist_discography, artist_similarity) is a view
over all its dt= partitions, with dt as a column.`,
		Example: `  starter query "select name, popularity from artist_daily order by popularity desc limit 5"
  starter query -f report.sql --format csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sql, err := querySQL(args, file)
			if err != nil {
				return err
			}
			switch format {
			case "table", "csv", "json":
			default:
				return usagef("--format %q: want table, csv or json", format)
			}
			if g.output == "json" {
				format = "json"
			}
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			store, err := openLake(ctx, cfg)
			if err != nil {
				return err
			}
			root, ok := store.LocalDir()
			if !ok {
				return usagef("lake.url %s is not on the local disk: query reads file:// lakes", cfg.Lake.URL)
			}
			engine, err := analytics.NewDuckDB(analytics.WithMemoryLimit(cfg.Analytics.MemoryLimit))
			if err != nil {
				return fmt.Errorf("start duckdb (analytics.memory_limit %q): %w", cfg.Analytics.MemoryLimit, err)
			}
			defer engine.Close()
			res, err := engine.Query(ctx, root, sql)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case "csv":
				return res.WriteCSV(out)
			case "json":
				return res.WriteJSON(out)
			}
			return res.WriteTable(out)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the SQL from FILE")
	cmd.Flags().StringVar(&format, "format", "table", "table, csv or json")
	return cmd
}

func querySQL(args []string, file string) (string, error) {
	switch {
	case file != "" && len(args) > 0:
		return "", usagef("give the SQL as an argument or with -f, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("-f %s: %v", file, err)
		}
		args = []string{string(b)}
	case len(args) == 0:
		return "", usagef(`no SQL: give it as an argument, e.g. starter query "select count(*) from artists", or with -f FILE`)
	}
	sql := strings.TrimSpace(args[0])
	if sql == "" {
		return "", usagef("the SQL is empty")
	}
	return sql, nil
}
