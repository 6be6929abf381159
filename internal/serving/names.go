package serving

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Statuses of the name cache. Names that did not resolve are cached too,
// so the daily run does not search them again.
const (
	// NameExact: Spotify's search returned an artist of exactly this name.
	NameExact = "exact"
	// NameBest: no exact match; the best search result was taken.
	NameBest = "best"
	// NameAmbiguous: several artists match equally; none was chosen.
	NameAmbiguous = "ambiguous"
	// NameNotFound: the search returned no artist.
	NameNotFound = "not_found"
)

const (
	namePrefix    = "NAME#"
	skNameArtist  = "ARTIST"
	pkTracked     = "TRACKED"
	maxNameLength = 1024 // bytes; DynamoDB's partition key limit is 2048
)

// NormalizeName is the form in which artist names are compared everywhere:
// Unicode NFC, trimmed, inner whitespace collapsed to one space, lower
// case.
func NormalizeName(s string) string {
	s = strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	// Lower-casing can decompose a character (İ → i + combining dot), so
	// compose again.
	return norm.NFC.String(strings.ToLower(s))
}

// PutName caches what name resolved to. The name is normalized (again) with
// NormalizeName. artistID is required for NameExact and NameBest and may be
// empty otherwise.
func (s *Store) PutName(ctx context.Context, normalizedName, artistID, status string) error {
	name := NormalizeName(normalizedName)
	if name == "" || len(name) > maxNameLength {
		return fmt.Errorf("cache name %q: want 1 to %d bytes after normalization", normalizedName, maxNameLength)
	}
	switch status {
	case NameExact, NameBest:
		if artistID == "" {
			return fmt.Errorf("cache name %q as %s: empty artist ID", name, status)
		}
	case NameAmbiguous, NameNotFound:
	default:
		return fmt.Errorf("cache name %q: unknown status %q (want %s, %s, %s or %s)",
			name, status, NameExact, NameBest, NameAmbiguous, NameNotFound)
	}
	it := Item{PK: namePrefix + name, SK: skNameArtist, Attrs: attrs{}.str("artist_id", artistID).str("status", status)}
	if err := s.put(ctx, []Item{it}); err != nil {
		return fmt.Errorf("cache name %q: %w", name, err)
	}
	return nil
}

// LookupName reads the name cache; name is normalized first. found is
// false when the name was never cached; a cached name that did not resolve
// is found with status NameNotFound or NameAmbiguous.
func (s *Store) LookupName(ctx context.Context, name string) (id, status string, found bool, err error) {
	n := NormalizeName(name)
	if n == "" || len(n) > maxNameLength {
		return "", "", false, nil
	}
	it, ok, err := s.t.get(ctx, key{namePrefix + n, skNameArtist})
	if err != nil {
		return "", "", false, fmt.Errorf("look up name %q: %w", n, err)
	}
	if !ok {
		return "", "", false, nil
	}
	return attrString(it.Attrs, "artist_id"), attrString(it.Attrs, "status"), true, nil
}

// Track adds artists to the tracked set, the artists the daily run
// collects. Tracking an artist twice is harmless.
func (s *Store) Track(ctx context.Context, ids ...string) error {
	items := make([]Item, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("track artists: empty ID at position %d", i)
		}
		items[i] = Item{PK: pkTracked, SK: artistPK(id)}
	}
	if err := s.put(ctx, items); err != nil {
		return fmt.Errorf("track %d artists: %w", len(ids), err)
	}
	return nil
}

// Untrack removes artists from the tracked set; unknown IDs are ignored.
func (s *Store) Untrack(ctx context.Context, ids ...string) error {
	keys := make([]key, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("untrack artists: empty ID at position %d", i)
		}
		keys[i] = key{pkTracked, artistPK(id)}
	}
	if err := s.delete(ctx, keys); err != nil {
		return fmt.Errorf("untrack %d artists: %w", len(ids), err)
	}
	return nil
}

// Tracked returns the IDs of the tracked artists, sorted.
func (s *Store) Tracked(ctx context.Context) ([]string, error) {
	items, err := s.t.query(ctx, pkTracked, artistPrefix)
	if err != nil {
		return nil, fmt.Errorf("read tracked artists: %w", err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = strings.TrimPrefix(it.SK, artistPrefix)
	}
	slices.Sort(ids)
	return ids, nil
}
