package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
			if g.output == outputJSON {
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
				return explainUnreadablePart(root, err)
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

// unreadablePart finds the file DuckDB names when a Parquet part of the
// lake does not read ("No magic bytes found at end of file '…'", "File '…'
// too small to be a Parquet file").
var unreadablePart = regexp.MustCompile(`(?i)(?:invalid input error|io error)[^']*'([^']+\.parquet)'`)

var partDate = regexp.MustCompile(`dt=(\d{4}-\d{2}-\d{2})/`)

// explainUnreadablePart turns DuckDB's error over a damaged part into one
// line naming the part's lake key and what to do; other errors pass as
// they are.
func explainUnreadablePart(root string, err error) error {
	msg := err.Error()
	m := unreadablePart.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	key := m[1]
	if rel, rerr := filepath.Rel(root, m[1]); rerr == nil && !strings.HasPrefix(rel, "..") {
		key = filepath.ToSlash(rel)
	}
	first, _, _ := strings.Cut(msg, "\n")
	fix := "move it aside"
	if d := partDate.FindStringSubmatch(key); d != nil {
		fix = fmt.Sprintf("rebuild its date with `starter backfill --from %s --to %s --rerun`, or move it aside", d[1], d[1])
	}
	return fmt.Errorf("query: lake object %s is not a readable Parquet file; %s (DuckDB: %s)", key, fix, strings.TrimSpace(first))
}
