package activities

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
)

func TestScopedLakeKeepsARunInItsPrefix(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root, err := lake.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	a := &Activities{Lake: root}
	s, err := a.scoped(contract.RequestScope("run-1"))
	require.NoError(t, err)

	require.NoError(t, s.Lake.Put(ctx, "raw/spotify/artists/dt=2026-11-01/batch=00000.jsonl.gz", strings.NewReader("x")))
	require.NoError(t, root.Put(ctx, "raw/spotify/artists/dt=2026-11-01/batch=00000.jsonl.gz", strings.NewReader("daily")))

	keys, err := root.List(ctx, "requests/")
	require.NoError(t, err)
	require.Equal(t, []string{"requests/run-1/raw/spotify/artists/dt=2026-11-01/batch=00000.jsonl.gz"}, keys)
	keys, err = s.Lake.List(ctx, "raw/")
	require.NoError(t, err)
	require.Equal(t, []string{"raw/spotify/artists/dt=2026-11-01/batch=00000.jsonl.gz"}, keys, "keys relative to the scope")

	rc, err := s.Lake.Get(ctx, keys[0])
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	require.NoError(t, rc.Close())
	require.NoError(t, err)
	require.Equal(t, "x", string(b), "the scope's object, not the daily run's")

	local, ok := s.Lake.LocalDir()
	require.True(t, ok)
	_, err = os.Stat(filepath.Join(local, "raw", "spotify", "artists", "dt=2026-11-01", "batch=00000.jsonl.gz"))
	require.NoError(t, err, "LocalDir maps keys to files like the store")
	require.True(t, strings.HasSuffix(s.Lake.URL(), "/requests/run-1/"), s.Lake.URL())

	require.NoError(t, s.Lake.Put(ctx, "staging/a/part-00000.parquet", strings.NewReader("p")))
	require.NoError(t, s.Lake.ReplacePrefix(ctx, "staging/a/", "curated/artists/dt=2026-11-01/"))
	keys, err = root.List(ctx, "requests/run-1/curated/")
	require.NoError(t, err)
	require.Equal(t, []string{"requests/run-1/curated/artists/dt=2026-11-01/part-00000.parquet"}, keys)

	require.NoError(t, s.Lake.DeletePrefix(ctx, "raw/"))
	keys, err = root.List(ctx, "raw/")
	require.NoError(t, err)
	require.Len(t, keys, 1, "deleting in the scope left the daily run's raw data alone")
}

func TestCheckScope(t *testing.T) {
	tests := []struct {
		scope string
		ok    bool
	}{
		{"requests/artist-requests-20261101T101500Z-1/", true},
		{"requests/", false},
		{"requests//", false},
		{"requests/a/b/", false},
		{"requests/a", false},
		{"requests/../", false},
		{"raw/", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			err := checkScope(tt.scope)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want a BadInput error, got %v", err)
			require.Equal(t, contract.ErrBadInput, appErr.Type())
		})
	}
}

func TestMarkRequests(t *testing.T) {
	ctx := context.Background()
	store, err := serving.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "serving.db"))
	require.NoError(t, err)
	defer store.Close()
	a := &Activities{Serving: store}
	// The front door registered this one, with where to answer.
	expires := time.Now().Add(time.Hour).Truncate(time.Second)
	require.NoError(t, store.PutRequest(ctx, serving.Request{
		ID: "slack-1", Artist: "Daft Punk", ReplyTo: "https://hooks.slack.com/x", ExpiresAt: expires,
	}))

	require.NoError(t, a.MarkRequests(ctx, contract.MarkRequestsInput{Updates: []contract.RequestUpdate{
		{ID: "slack-1", Artist: "Daft Punk", State: contract.RequestStored, ArtistID: "4tZwfgrHOc3mvqYlEYSvVi"},
		{ID: "cli-1", Artist: "Nobody", State: contract.RequestNotFound, Detail: "Spotify knows no single artist"},
	}}))
	got, ok, err := store.GetRequest(ctx, "slack-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, serving.RequestStored, got.State)
	require.Equal(t, "4tZwfgrHOc3mvqYlEYSvVi", got.ArtistID)
	require.Equal(t, "https://hooks.slack.com/x", got.ReplyTo, "the reply target is kept")
	got, ok, err = store.GetRequest(ctx, "cli-1")
	require.NoError(t, err)
	require.True(t, ok, "a request without a record is created")
	require.Equal(t, serving.RequestNotFound, got.State)
	require.Equal(t, "Spotify knows no single artist", got.Detail)

	err = a.MarkRequests(ctx, contract.MarkRequestsInput{Updates: []contract.RequestUpdate{{Artist: "Air", State: contract.RequestStored}}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want a BadInput error, got %v", err)
	require.Equal(t, contract.ErrBadInput, appErr.Type())
	require.ErrorContains(t, a.MarkRequests(ctx, contract.MarkRequestsInput{Updates: []contract.RequestUpdate{
		{ID: "cli-2", Artist: "Air", State: "lost"},
	}}), `unknown state "lost"`)
}

func TestResolveRequestedNamesNoArtist(t *testing.T) {
	a := &Activities{}
	_, err := a.ResolveRequested(context.Background(), contract.ScopedResolveInput{Scope: contract.RequestScope("r"), Date: "2026-11-01"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want a BadInput error, got %v", err)
	require.Equal(t, contract.ErrBadInput, appErr.Type())
	_, err = a.ResolveRequested(context.Background(), contract.ScopedResolveInput{Scope: contract.RequestScope("r"), Date: "2026-13-01", Artists: []string{"Air"}})
	require.ErrorContains(t, err, `"2026-13-01"`)
}
