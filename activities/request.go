package activities

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
)

// The activities of on-demand artist requests. A request run collects,
// cleans and stores a handful of artists with the same code as the daily
// run, but in a lake scope of its own (requests/<run>/raw/…, …/curated/…),
// so it never touches the date partitions of a daily run or a backfill,
// nor the marts built over them.

// MarkRequests records the state of on-demand requests in the serving
// store. A request the front door registered (with its reply target) is
// updated; one that arrived without a record (e.g. from `starter request`)
// is created.
func (a *Activities) MarkRequests(ctx context.Context, in contract.MarkRequestsInput) error {
	for _, u := range in.Updates {
		if u.ID == "" {
			return badInput("request for %q has no ID", u.Artist)
		}
		_, found, err := a.Serving.GetRequest(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("read request %s: %w", u.ID, err)
		}
		if found {
			err = a.Serving.UpdateRequestState(ctx, u.ID, serving.RequestState(u.State), u.ArtistID, u.Detail)
		} else {
			err = a.Serving.PutRequest(ctx, serving.Request{
				ID: u.ID, Artist: u.Artist, ArtistID: u.ArtistID,
				State: serving.RequestState(u.State), Detail: u.Detail,
			})
		}
		if err != nil {
			return fmt.Errorf("mark request %s (%q) %s: %w", u.ID, u.Artist, u.State, err)
		}
	}
	return nil
}

// ResolveRequested resolves the artists of a request run (through the
// serving store's name cache, like Resolve) and writes the run's artist
// list into its scope. Names Spotify does not know are reported, not an
// error: the run stores the others.
func (a *Activities) ResolveRequested(ctx context.Context, in contract.ScopedResolveInput) (contract.ScopedResolveResult, error) {
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	if len(in.Artists) == 0 {
		return contract.ScopedResolveResult{}, badInput("request run in %s names no artist", in.Scope)
	}
	if err := lake.CheckDate(in.Date); err != nil {
		return contract.ScopedResolveResult{}, badInput("request run in %s: %v", in.Scope, err)
	}
	mode, err := a.apiMode(ctx)
	if err != nil {
		return contract.ScopedResolveResult{}, err
	}
	var out contract.ScopedResolveResult
	var ids []string
	seen := map[string]bool{}
	for _, entry := range in.Artists {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, ok, searched, err := a.resolveOne(ctx, mode, entry)
		if err != nil {
			return contract.ScopedResolveResult{}, err
		}
		if searched {
			out.Searches++
		}
		if !ok {
			out.Unresolved = append(out.Unresolved, entry)
			continue
		}
		out.Resolved = append(out.Resolved, contract.ResolvedArtist{Artist: entry, ID: id})
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	out.Mode = string(mode)
	if len(ids) == 0 {
		return out, nil
	}
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.ScopedResolveResult{}, err
	}
	// The scoped copy knows the mode, so Resolve does not probe again, and
	// gets IDs only, so it does not search again.
	s.Settings.APIMode = string(mode)
	res, err := s.Resolve(ctx, contract.ResolveInput{Date: in.Date, Artists: ids})
	if err != nil {
		return contract.ScopedResolveResult{}, err
	}
	res.Unresolved, res.Searches = out.Unresolved, out.Searches
	out.ResolveResult = res
	return out, nil
}

// CollectRequested is CollectBatch in the request run's scope.
func (a *Activities) CollectRequested(ctx context.Context, in contract.ScopedCollectInput) (contract.CollectResult, error) {
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.CollectResult{}, err
	}
	return s.CollectBatch(ctx, in.CollectInput)
}

// CleanRequested is Clean in the request run's scope.
func (a *Activities) CleanRequested(ctx context.Context, in contract.ScopedCleanInput) (contract.CleanResult, error) {
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.CleanResult{}, err
	}
	return s.Clean(ctx, in.CleanInput)
}

// StoreRequested is Store from the request run's scope: the artists'
// snapshots, top tracks and releases go to the serving store and the
// artists join the tracked set, so the daily run collects them from now on.
func (a *Activities) StoreRequested(ctx context.Context, in contract.ScopedStoreInput) (contract.StoreResult, error) {
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.StoreResult{}, err
	}
	res, err := s.Store(ctx, in.StoreInput)
	if err == nil {
		a.logger(ctx).Info("requested artists stored", zap.String("scope", in.Scope), zap.Int("artists", res.Artists))
	}
	return res, err
}

// scoped returns a copy of a whose lake is the scope of a request run.
func (a *Activities) scoped(scope string) (*Activities, error) {
	if err := checkScope(scope); err != nil {
		return nil, err
	}
	c := *a
	c.Lake = scopedLake{inner: a.Lake, prefix: scope}
	return &c, nil
}

func checkScope(scope string) error {
	rest, ok := strings.CutPrefix(scope, "requests/")
	if !ok || !strings.HasSuffix(rest, "/") || strings.Count(rest, "/") != 1 || rest == "/" ||
		rest == "./" || rest == "../" || strings.ContainsAny(rest, "\\\x00") {
		return badInput("request scope %q: want requests/<run>/", scope)
	}
	return nil
}

// scopedLake is a lake.Store whose keys live under prefix of another store.
type scopedLake struct {
	inner  lake.Store
	prefix string
}

var _ lake.Store = scopedLake{}

func (s scopedLake) Put(ctx context.Context, key string, r io.Reader) error {
	return s.inner.Put(ctx, s.prefix+key, r)
}

func (s scopedLake) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.inner.Get(ctx, s.prefix+key)
}

func (s scopedLake) List(ctx context.Context, prefix string) ([]string, error) {
	keys, err := s.inner.List(ctx, s.prefix+prefix)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, s.prefix)
	}
	return keys, nil
}

func (s scopedLake) Delete(ctx context.Context, key string) error {
	return s.inner.Delete(ctx, s.prefix+key)
}

func (s scopedLake) DeletePrefix(ctx context.Context, prefix string) error {
	return s.inner.DeletePrefix(ctx, s.prefix+prefix)
}

func (s scopedLake) ReplacePrefix(ctx context.Context, src, dst string) error {
	return s.inner.ReplacePrefix(ctx, s.prefix+src, s.prefix+dst)
}

func (s scopedLake) URL() string { return strings.TrimSuffix(s.inner.URL(), "/") + "/" + s.prefix }

func (s scopedLake) LocalDir() (string, bool) {
	dir, ok := s.inner.LocalDir()
	if !ok {
		return "", false
	}
	return filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(s.prefix, "/"))), true
}
