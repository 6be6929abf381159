package analytics

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/metronome-data/metronome/internal/tables"
)

// column is one column of a table in Hive DDL terms, as Athena declares it.
type column struct {
	name string
	typ  string // Hive type: string, int, bigint, double, array<string>, …
}

// martColumns are the result columns of each mart, in the order of the SELECT
// list of sql/<mart>.sql and with the types both DuckDB and Athena (Trino)
// give them. TestMartColumnsMatchSQL checks them against what DuckDB writes;
// change them together with the SQL.
var martColumns = map[string][]column{
	ArtistDaily: {
		{"artist_id", "string"},
		{"name", "string"},
		{"genres", "array<string>"},
		{"popularity", "int"},
		{"followers", "bigint"},
		{"late_capture", "boolean"},
		{"previous_dt", "date"},
		{"previous_popularity", "int"},
		{"previous_followers", "bigint"},
		{"popularity_change", "int"},
		{"followers_change", "bigint"},
		{"top_track_count", "bigint"},
		{"mean_track_popularity", "double"},
		{"audio_feature_tracks", "bigint"},
		{"mean_danceability", "double"},
		{"mean_energy", "double"},
		{"mean_loudness", "double"},
		{"mean_speechiness", "double"},
		{"mean_acousticness", "double"},
		{"mean_instrumentalness", "double"},
		{"mean_liveness", "double"},
		{"mean_valence", "double"},
		{"mean_tempo", "double"},
	},
	GenreDaily: {
		{"genre", "string"},
		{"artists", "bigint"},
		{"mean_popularity", "double"},
		{"total_followers", "bigint"},
		{"top_artists", "array<string>"},
		{"top_artist_ids", "array<string>"},
	},
	ArtistDiscography: {
		{"artist_id", "string"},
		{"name", "string"},
		{"popularity", "int"},
		{"followers", "bigint"},
		{"release_count", "bigint"},
		{"album_count", "bigint"},
		{"single_count", "bigint"},
		{"compilation_count", "bigint"},
		{"first_release_date", "date"},
		{"latest_release_date", "date"},
		{"releases_by_year", "array<struct<release_year:int,album_type:string,releases:bigint>>"},
		{"track_count", "bigint"},
		{"mean_track_duration_ms", "double"},
		{"explicit_share", "double"},
	},
	ArtistSimilarity: {
		{"artist_id", "string"},
		{"name", "string"},
		{"rank", "int"},
		{"similar_artist_id", "string"},
		{"similar_name", "string"},
		{"score", "double"},
		{"basis", "string"},
		{"shared_genres", "bigint"},
	},
}

// ProjectionStart is the first logical date the Athena tables project a dt
// partition for. Earlier partitions exist in the lake but are invisible to
// Athena; a later start makes queries without a dt filter cheaper, since
// Athena probes every projected day.
const ProjectionStart = "2020-01-01"

// databaseName is what Glue accepts as a database name without quoting.
var databaseName = regexp.MustCompile(`^[a-z0-9_]{1,255}$`)

// TableDDL returns one CREATE EXTERNAL TABLE IF NOT EXISTS statement per
// curated table (in tables.All order) and per mart (in Marts order), for the
// lake at lakeS3URL (s3://bucket[/prefix]) in the Glue database. The columns of
// a curated table come from its row type in internal/tables, the schema the
// Parquet writer uses; those of a mart from its declared result columns. Every
// table is STORED AS PARQUET under <lake>/curated/<table>/ or
// <lake>/marts/<mart>/ and partitioned by dt (a string) with partition
// projection over the dt=YYYY-MM-DD prefixes from ProjectionStart to
// tomorrow, so a new partition is queryable without MSCK REPAIR or
// ALTER TABLE ADD PARTITION.
//
// IF NOT EXISTS leaves an existing table alone: after a schema change, drop
// the table first (an external table's data is not touched by DROP).
func TableDDL(database, lakeS3URL string) ([]string, error) {
	if !databaseName.MatchString(database) {
		return nil, fmt.Errorf("athena database %q: want 1-255 lower-case letters, digits or underscores", database)
	}
	lakeURL, err := athenaLakeURL(lakeS3URL)
	if err != nil {
		return nil, err
	}
	var stmts []string
	for _, table := range tables.All {
		cols, err := tableColumns(table)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, createTable(database, table, lakeURL+"/curated/"+table+"/", cols))
	}
	for _, mart := range Marts {
		cols, ok := martColumns[mart]
		if !ok {
			return nil, fmt.Errorf("mart %q: no columns declared", mart)
		}
		stmts = append(stmts, createTable(database, mart, lakeURL+"/marts/"+mart+"/", cols))
	}
	return stmts, nil
}

// athenaLakeURL checks an s3:// lake URL and returns it without a trailing
// slash. Quotes and backslashes are refused: the URL goes into SQL literals.
func athenaLakeURL(raw string) (string, error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	bucket, _, _ := strings.Cut(rest, "/")
	switch {
	case !ok:
		return "", fmt.Errorf("lake %q: Athena reads s3://bucket[/prefix] lakes only", raw)
	case bucket == "":
		return "", fmt.Errorf("lake %q: missing bucket", raw)
	case strings.ContainsAny(raw, "'\\`\n\r"):
		return "", fmt.Errorf("lake %q: quotes, backslashes and line breaks are not supported", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

func createTable(database, table, location string, cols []column) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s` (\n", database, table)
	for i, c := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  `%s` %s%s\n", c.name, c.typ, sep)
	}
	b.WriteString(")\n")
	b.WriteString("PARTITIONED BY (`dt` string)\n")
	b.WriteString("STORED AS PARQUET\n")
	fmt.Fprintf(&b, "LOCATION '%s'\n", location)
	b.WriteString("TBLPROPERTIES (\n")
	props := [][2]string{
		{"projection.enabled", "true"},
		{"projection.dt.type", "date"},
		{"projection.dt.format", "yyyy-MM-dd"},
		// Tomorrow as well: a run's logical date may be ahead of UTC.
		{"projection.dt.range", ProjectionStart + ",NOW+1DAYS"},
		{"projection.dt.interval", "1"},
		{"projection.dt.interval.unit", "DAYS"},
		{"storage.location.template", location + "dt=${dt}/"},
	}
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  '%s' = '%s'%s\n", p[0], p[1], sep)
	}
	b.WriteString(")")
	return b.String()
}

// hiveType is the Hive (Athena DDL) type of the Parquet column parquet-go
// writes for a Go field of type t.
func hiveType(t reflect.Type) (string, error) {
	switch t.Kind() {
	case reflect.Pointer:
		return hiveType(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "binary", nil
		}
		elem, err := hiveType(t.Elem())
		if err != nil {
			return "", err
		}
		return "array<" + elem + ">", nil
	case reflect.String:
		return "string", nil
	case reflect.Bool:
		return "boolean", nil
	case reflect.Int8:
		return "tinyint", nil
	case reflect.Int16:
		return "smallint", nil
	case reflect.Int32:
		return "int", nil
	case reflect.Int64, reflect.Int:
		return "bigint", nil
	case reflect.Float32:
		return "float", nil
	case reflect.Float64:
		return "double", nil
	default:
		return "", fmt.Errorf("type %s has no Hive type here", t)
	}
}
