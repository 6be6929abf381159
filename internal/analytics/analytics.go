// Package analytics aggregates the curated tables of the lake into marts with
// SQL, and runs ad hoc queries over the lake.
//
// The SQL of each mart is embedded from sql/<mart>.sql. It is written once in
// the subset of SQL that DuckDB and Athena (Trino) share and refers to the
// curated tables by their plain names (artists, tracks, …), each a relation
// over all dt partitions with dt as a VARCHAR column; the engine binds those
// names to the lake. DuckDB is the embedded engine of this package.
package analytics

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names of the marts, as they appear in lake keys
// (marts/<mart>/dt=YYYY-MM-DD/part-NNNNN.parquet) and in SQL.
const (
	ArtistDaily       = "artist_daily"
	GenreDaily        = "genre_daily"
	ArtistDiscography = "artist_discography"
	ArtistSimilarity  = "artist_similarity"
)

// Marts lists every mart in the order BuildMarts builds them.
var Marts = []string{ArtistDaily, GenreDaily, ArtistDiscography, ArtistSimilarity}

// DefaultSimilarityBlockSize is the largest number of artists of one genre
// that artist_similarity compares with each other.
const DefaultSimilarityBlockSize = 100

// SimilarTop is the number of similar artists artist_similarity keeps per artist.
const SimilarTop = 10

//go:embed sql/*.sql
var sqlFiles embed.FS

// MartParams are the values substituted into the SQL of a mart.
type MartParams struct {
	// DT is the logical date, YYYY-MM-DD.
	DT string
	// SimilarityBlockSize caps the blocks of artist_similarity;
	// 0 means DefaultSimilarityBlockSize.
	SimilarityBlockSize int
	// Slices > 1 makes artist_similarity compute only the artists whose
	// DuckDB hash(artist_id) % Slices is Slice, so an engine can build it
	// in parts of bounded memory. DuckDB only; 0 or 1 computes every artist.
	Slice, Slices int
}

// MartSQL returns the SQL of mart for the given parameters, ready to run on
// any engine that binds the curated table names. The result is one SELECT
// statement without a trailing semicolon; its columns do not include dt.
func MartSQL(mart string, p MartParams) (string, error) {
	if err := validateDT(p.DT); err != nil {
		return "", err
	}
	block := p.SimilarityBlockSize
	if block == 0 {
		block = DefaultSimilarityBlockSize
	}
	if block < 2 {
		return "", fmt.Errorf("similarity block size %d: must be at least 2", block)
	}
	text, err := sqlFiles.ReadFile("sql/" + mart + ".sql")
	if err != nil {
		return "", fmt.Errorf("unknown mart %q (known: %s)", mart, strings.Join(Marts, ", "))
	}
	slice := "TRUE"
	if p.Slices > 1 {
		if p.Slice < 0 || p.Slice >= p.Slices {
			return "", fmt.Errorf("similarity slice %d of %d: want 0 ≤ slice < slices", p.Slice, p.Slices)
		}
		slice = fmt.Sprintf("hash(x.artist_id) %% %d = %d", p.Slices, p.Slice)
	}
	// Plain text substitution is safe: dt is a validated date, the rest
	// integers.
	return strings.NewReplacer(
		"{{dt}}", p.DT,
		"{{similarity_block_size}}", strconv.Itoa(block),
		"{{similarity_slice}}", slice,
	).Replace(strings.TrimSpace(string(text))), nil
}

func validateDT(dt string) error {
	if _, err := time.Parse(time.DateOnly, dt); err != nil || len(dt) != len(time.DateOnly) {
		return fmt.Errorf("logical date %q: want YYYY-MM-DD", dt)
	}
	return nil
}
