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
	for name, resolve := range map[string]func(context.Context, contract.ResolveInput) (contract.ResolveResult, error){
		"Resolve": a.Resolve, "ResolveRequested": a.ResolveRequested,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := resolve(context.Background(), contract.ResolveInput{Scope: contract.RequestScope("r"), Date: "2026-11-01"})
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want a BadInput error, got %v", err)
			require.Equal(t, contract.ErrBadInput, appErr.Type())
			require.ErrorContains(t, err, "names no artist")
			_, err = resolve(context.Background(), contract.ResolveInput{Scope: contract.RequestScope("r"), Date: "2026-13-01", Artists: []string{"Air"}})
			require.ErrorContains(t, err, `"2026-13-01"`)
		})
	}
	// The adapter of runs recorded before the shared stages never runs in
	// the daily lake.
	_, err := a.ResolveRequested(context.Background(), contract.ResolveInput{Date: "2026-11-01", Artists: []string{"Air"}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want a BadInput error, got %v", err)
	require.Equal(t, contract.ErrBadInput, appErr.Type())
}

// A request run's Resolve resolves what it was asked, writes the list into
// its scope only, reports which name became which ID, and answers "not
// found" for unknown names instead of failing; the daily run's fails when
// nothing resolves.
func TestResolveInAScope(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root, err := lake.Open(ctx, "file://"+dir)
	require.NoError(t, err)
	store, err := serving.Open(ctx, "sqlite://"+filepath.Join(dir, "serving.db"))
	require.NoError(t, err)
	defer store.Close()
	// Cached answers, so no call reaches Spotify.
	require.NoError(t, store.PutName(ctx, serving.NormalizeName("Nobody Known"), "", "not_found"))
	require.NoError(t, store.Track(ctx, "0TnOYISbd1XYRBk9myaseg"))
	a := &Activities{Lake: root, Serving: store, Settings: Settings{APIMode: contract.ModeExtended}}
	const date, id = "2026-11-01", "4tZwfgrHOc3mvqYlEYSvVi"
	scope := contract.RequestScope("run-1")

	res, err := a.Resolve(ctx, contract.ResolveInput{Date: date, Scope: scope, Artists: []string{id, "Nobody Known", " " + id}})
	require.NoError(t, err)
	require.Equal(t, 1, res.Artists, "the tracked set is not added")
	require.Equal(t, 1, res.Batches)
	require.Equal(t, []string{"Nobody Known"}, res.Unresolved)
	require.Equal(t, []contract.ResolvedArtist{{Artist: id, ID: id}, {Artist: id, ID: id}}, res.Resolved)
	require.Equal(t, contract.ArtistsListKey(date), res.ArtistsKey, "keys are relative to the scope")
	keys, err := root.List(ctx, "")
	require.NoError(t, err)
	require.Contains(t, keys, scope+contract.ArtistsListKey(date))
	require.NotContains(t, keys, contract.ArtistsListKey(date), "the daily run's list is not touched")

	res, err = a.Resolve(ctx, contract.ResolveInput{Date: date, Scope: scope, Artists: []string{"Nobody Known"}})
	require.NoError(t, err, "an unknown artist is a request's answer")
	require.Zero(t, res.Artists)
	require.Empty(t, res.ArtistsKey)
	require.Equal(t, []string{"Nobody Known"}, res.Unresolved)

	_, err = a.Resolve(ctx, contract.ResolveInput{Date: date, Artists: []string{"Nobody Known"}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want a BadInput error, got %v", err)
	require.Equal(t, contract.ErrBadInput, appErr.Type())
	res, err = a.Resolve(ctx, contract.ResolveInput{Date: date, Artists: []string{id}})
	require.NoError(t, err)
	require.Empty(t, res.Resolved, "a daily run does not list its names")
}
