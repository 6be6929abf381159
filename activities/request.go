package activities

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
)

// The activities of on-demand artist requests. A request run resolves,
// collects, cleans and stores a handful of artists with the daily run's
// stage activities, whose inputs name its lake scope (requests/<run>/raw/…,
// …/curated/…), so it never touches the date partitions of a daily run or a
// backfill, nor the marts built over them.

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

// ResolveRequested, CollectRequested, CleanRequested and StoreRequested are
// the stage activities of request runs recorded before those runs called
// the pipeline's own (workflows, requestStagesChangeID). They stay
// registered while such runs drain: each is its stage in the run's scope,
// whose inputs and results carry the same JSON as the request-only types
// they had.

// ResolveRequested is Resolve in a request run's scope.
func (a *Activities) ResolveRequested(ctx context.Context, in contract.ResolveInput) (contract.ResolveResult, error) {
	if err := checkScope(in.Scope); err != nil {
		return contract.ResolveResult{}, err
	}
	return a.Resolve(ctx, in)
}

// CollectRequested is CollectBatch in a request run's scope.
func (a *Activities) CollectRequested(ctx context.Context, in contract.CollectInput) (contract.CollectResult, error) {
	if err := checkScope(in.Scope); err != nil {
		return contract.CollectResult{}, err
	}
	return a.CollectBatch(ctx, in)
}

// CleanRequested is Clean in a request run's scope.
func (a *Activities) CleanRequested(ctx context.Context, in contract.CleanInput) (contract.CleanResult, error) {
	if err := checkScope(in.Scope); err != nil {
		return contract.CleanResult{}, err
	}
	return a.Clean(ctx, in)
}

// StoreRequested is Store from a request run's scope.
func (a *Activities) StoreRequested(ctx context.Context, in contract.StoreInput) (contract.StoreResult, error) {
	if err := checkScope(in.Scope); err != nil {
		return contract.StoreResult{}, err
	}
	return a.Store(ctx, in)
}

// scoped returns a copy of a whose lake is scope, a request run's prefix;
// the empty scope is the lake itself, and a itself.
func (a *Activities) scoped(scope string) (*Activities, error) {
	if scope == "" {
		return a, nil
	}
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
