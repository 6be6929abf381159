package analytics

import (
	"context"
	"fmt"
	"strings"
)

// genreMarts are the marts built on the artists' genres: genre_daily groups
// by genre, artist_similarity compares artists that share one.
var genreMarts = []string{GenreDaily, ArtistSimilarity}

// genreCoverage counts the artists of a date and those whose genres are
// known (not NULL; an empty list is known).
type genreCoverage struct {
	artists, withGenres int64
}

// genreCoverageSQL is the query of genreCoverage, in the SQL DuckDB and
// Athena share.
func genreCoverageSQL(dt string) string {
	return "SELECT COUNT(DISTINCT artist_id) AS artists, " +
		"COUNT(DISTINCT CASE WHEN genres IS NOT NULL THEN artist_id END) AS with_genres " +
		"FROM artists WHERE dt = '" + dt + "'"
}

// skipGenreMarts returns the genre marts of a build not to publish, with
// why: those that came out empty because no artist of the date has known
// genres, as when Spotify's development mode serves them absent or null
// for every artist. An empty genre_daily would read as "no genre today"; the
// manifest says instead that there was nothing to build on. coverage is
// asked only when a genre mart is empty, so a build with rows costs no
// extra query.
func skipGenreMarts(ctx context.Context, rows map[string]int64, coverage func(context.Context) (genreCoverage, error)) (map[string]string, error) {
	var empty []string
	for _, mart := range genreMarts {
		if n, built := rows[mart]; built && n == 0 {
			empty = append(empty, mart)
		}
	}
	if len(empty) == 0 {
		return nil, nil
	}
	c, err := coverage(ctx)
	if err != nil {
		return nil, fmt.Errorf("count the artists with genres (marts %s are empty): %w", strings.Join(empty, ", "), err)
	}
	if c.artists == 0 || c.withGenres > 0 {
		return nil, nil
	}
	skipped := make(map[string]string, len(empty))
	for _, mart := range empty {
		skipped[mart] = fmt.Sprintf("genres absent for all %d artists of the date (development mode serves them absent or null): not published", c.artists)
	}
	return skipped, nil
}

// drop takes a skipped mart out of the report.
func (r *MartsReport) drop(mart string) {
	delete(r.Rows, mart)
	prefix := "marts/" + mart + "/"
	keys := r.Keys[:0]
	for _, k := range r.Keys {
		if !strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	r.Keys = keys
}
