package activities

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
)

// Resolve turns the run's artist names into Spotify IDs (search results are
// cached in the serving store, so later runs do not search again), settles
// the API mode once for the run and writes the ID list to the lake.
//
// A request run (in.Scope, its lake prefix) resolves exactly the names it
// was asked for and writes its list into its scope; a name Spotify does not
// know is an answer to its request, not a failure, and Resolved says which
// name became which ID. A daily run without names resolves the tracked set,
// or the configured seeds, and fails when none of them resolves.
func (a *Activities) Resolve(ctx context.Context, in contract.ResolveInput) (res contract.ResolveResult, err error) {
	defer reportLineage(ctx, a, resolveLineage, in)(&res, &err)
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	if err := lake.CheckDate(in.Date); err != nil {
		return contract.ResolveResult{}, badInput("resolve artists: %v", err)
	}
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.ResolveResult{}, err
	}
	wanted, err := a.wanted(ctx, in)
	if err != nil {
		return contract.ResolveResult{}, err
	}

	mode, err := a.apiMode(ctx)
	if err != nil {
		return contract.ResolveResult{}, err
	}

	res = contract.ResolveResult{Mode: string(mode), BatchSize: a.batchSize()}
	if a.Settings.APIMode != string(spotify.ModeExtended) && a.Settings.APIMode != string(spotify.ModeDevelopment) {
		res.Probes = 1
	}
	seen := make(map[string]bool, len(wanted))
	var ids []string
	for i, entry := range wanted {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, ok, searched, err := a.resolveOne(ctx, mode, entry)
		if err != nil {
			return contract.ResolveResult{}, err
		}
		if searched {
			res.Searches++
		}
		if !ok {
			res.Unresolved = append(res.Unresolved, entry)
			continue
		}
		if in.Scope != "" {
			// A handful of names; a daily run's list would outgrow its
			// history payload.
			res.Resolved = append(res.Resolved, contract.ResolvedArtist{Artist: entry, ID: id})
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		if i%50 == 0 {
			heartbeat(ctx, i)
		}
	}
	if len(ids) == 0 {
		if in.Scope != "" {
			return res, nil // nothing to collect: every request is not_found
		}
		return contract.ResolveResult{}, badInput("none of the %d artists could be resolved to a Spotify ID (unresolved: %s)",
			len(wanted), strings.Join(firstN(res.Unresolved, 5), ", "))
	}

	var buf bytes.Buffer
	for _, id := range ids {
		buf.WriteString(id)
		buf.WriteByte('\n')
	}
	res.ArtistsKey = contract.ArtistsListKey(in.Date)
	if err := s.Lake.Put(ctx, res.ArtistsKey, &buf); err != nil {
		return contract.ResolveResult{}, fmt.Errorf("write artist list %s: %w", res.ArtistsKey, err)
	}
	res.Artists = len(ids)
	res.Batches = (len(ids) + res.BatchSize - 1) / res.BatchSize
	a.logger(ctx).Info("artists resolved", zap.Int("artists", res.Artists), zap.Int("unresolved", len(res.Unresolved)),
		zap.String("mode", res.Mode), zap.Int("searches", res.Searches), zap.String("scope", in.Scope))
	return res, nil
}

// wanted are the names a run resolves: those it was given; for a daily run
// given none, the tracked set, else the configured seeds.
func (a *Activities) wanted(ctx context.Context, in contract.ResolveInput) ([]string, error) {
	switch {
	case len(in.Artists) > 0:
		return in.Artists, nil
	case in.Scope != "":
		return nil, badInput("request run in %s names no artist", in.Scope)
	}
	tracked, err := a.Serving.Tracked(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tracked artists: %w", err)
	}
	if len(tracked) > 0 {
		return tracked, nil
	}
	if len(a.Settings.Seeds) > 0 {
		return a.Settings.Seeds, nil
	}
	return nil, badInput("no artists to collect: none given, none tracked and no artists.seeds or artists.file configured")
}

func (a *Activities) apiMode(ctx context.Context) (spotify.Mode, error) {
	switch a.Settings.APIMode {
	case string(spotify.ModeExtended):
		return spotify.ModeExtended, nil
	case string(spotify.ModeDevelopment):
		return spotify.ModeDevelopment, nil
	}
	mode, err := a.Spotify.ProbeMode(ctx)
	if err != nil {
		return "", a.spotifyError("probe Spotify API mode", err)
	}
	return mode, nil
}

// resolveOne maps a name or ID to an ID, through the name cache first.
func (a *Activities) resolveOne(ctx context.Context, mode spotify.Mode, entry string) (id string, ok, searched bool, err error) {
	if spotify.IsID(entry) {
		return entry, true, false, nil
	}
	norm := serving.NormalizeName(entry)
	if id, status, found, err := a.Serving.LookupName(ctx, norm); err != nil {
		return "", false, false, fmt.Errorf("look up name %q: %w", entry, err)
	} else if found {
		return id, id != "" && status != "not_found" && status != "ambiguous", false, nil
	}
	r, err := a.Spotify.ResolveArtist(ctx, mode, entry)
	if err != nil {
		return "", false, true, a.spotifyError(fmt.Sprintf("search artist %q", entry), err)
	}
	if err := a.Serving.PutName(ctx, norm, r.ArtistID, r.Status); err != nil {
		return "", false, true, fmt.Errorf("cache resolution of %q: %w", entry, err)
	}
	ok = r.ArtistID != "" && r.Status != "not_found" && r.Status != "ambiguous"
	return r.ArtistID, ok, true, nil
}

func (a *Activities) batchSize() int {
	if a.Settings.BatchSize <= 0 || a.Settings.BatchSize > 50 {
		return 50
	}
	return a.Settings.BatchSize
}

// readArtistBatch returns the IDs of one batch of the run's artist list.
func (a *Activities) readArtistBatch(ctx context.Context, key string, batch, size int) ([]string, error) {
	rc, err := a.Lake.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read artist list %s: %w", key, err)
	}
	defer rc.Close()
	var ids []string
	sc := bufio.NewScanner(rc)
	for i := 0; i < (batch+1)*size && sc.Scan(); i++ {
		if i >= batch*size {
			ids = append(ids, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read artist list %s: %w", key, err)
	}
	if len(ids) == 0 {
		return nil, badInput("batch %d is past the end of artist list %s", batch, key)
	}
	return ids, nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
