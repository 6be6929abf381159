package chaos

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/lake"
)

// remoteStore hides that a store is local, as an s3 lake is.
type remoteStore struct{ lake.Store }

func (remoteStore) LocalDir() (string, bool) { return "", false }

// Mart rows are read from the Parquet DuckDB writes, by content: from a
// local lake or a copy of a remote one; floats equal to 12 digits are equal.
func TestReadMarts(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	engine, err := analytics.NewDuckDB(analytics.WithTempDir(t.TempDir()))
	require.NoError(t, err)
	defer engine.Close()
	part := filepath.Join(root, "marts", analytics.ArtistDaily, "dt="+runDate, "part-00000.parquet")
	require.NoError(t, mkdirFor(part))
	_, err = engine.Query(ctx, root, "COPY (SELECT * FROM (VALUES ('a', 0.1 + 0.2, ['pop', 'rock']), ('b', 1.5, [])) AS t(artist_id, score, genres)) TO "+
		sqlString(part)+" (FORMAT parquet)")
	require.NoError(t, err)
	store, err := lake.Open(ctx, "file://"+root)
	require.NoError(t, err)

	want := []string{`{"artist_id":"a","genres":["pop","rock"],"score":0.3}`, `{"artist_id":"b","genres":[],"score":1.5}`}
	for name, s := range map[string]lake.Store{"local": store, "remote": remoteStore{store}} {
		t.Run(name, func(t *testing.T) {
			marts, err := readMarts(ctx, s, runDate)
			require.NoError(t, err)
			require.Equal(t, want, marts[analytics.ArtistDaily])
			require.Empty(t, marts[analytics.GenreDaily], "a mart without a partition has no rows")
		})
	}
}

func mkdirFor(path string) error { return os.MkdirAll(filepath.Dir(path), 0o755) }
