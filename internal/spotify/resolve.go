package spotify

import (
	"context"
	"strings"
	"unicode"

	zspotify "github.com/zmb3/spotify/v2"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Resolution statuses.
const (
	// StatusExact: one artist has exactly the name (after NormalizeName),
	// or the input already was a Spotify ID (then Name is empty).
	StatusExact = "exact"
	// StatusBest: no single exact match; ArtistID is the most popular
	// candidate (extended mode), or the only result (development mode).
	StatusBest = "best"
	// StatusAmbiguous: several candidates and nothing to choose between
	// them (development mode has no popularity, or popularity ties);
	// ArtistID is Spotify's first-ranked one, for information only.
	StatusAmbiguous = "ambiguous"
	// StatusNotFound: the search found no artist.
	StatusNotFound = "not_found"
)

// Resolution is the outcome of resolving an artist name to an ID.
type Resolution struct {
	Query    string
	ArtistID string
	Name     string
	Status   string
	// Candidates is the number of exact-name matches, or of search
	// results when there was none.
	Candidates int
}

// Search page sizes per mode: development mode refuses more than 10.
func searchLimit(m Mode) int {
	if m == ModeDevelopment {
		return 10
	}
	return 50
}

// ResolveArtist resolves an artist name with one search call: an exact
// normalized-name match wins, then popularity where the mode gives it. An
// input that already is a Spotify ID is returned as is, unsearched.
func (c *Client) ResolveArtist(ctx context.Context, mode Mode, name string) (Resolution, error) {
	q := strings.TrimSpace(name)
	res := Resolution{Query: q}
	if q == "" {
		return res, badRequest(EndpointSearch, "empty artist name")
	}
	if IsID(q) {
		res.ArtistID, res.Status = q, StatusExact
		return res, nil
	}
	if mode != ModeExtended && mode != ModeDevelopment {
		return res, badRequest(EndpointSearch, "resolve %q: mode %q is not extended or development", q, mode)
	}
	var result *zspotify.SearchResult
	_, err := c.do(ctx, EndpointSearch, nil, func(ctx context.Context) error {
		var err error
		result, err = c.api.Search(ctx, q, zspotify.SearchTypeArtist, zspotify.Limit(searchLimit(mode)))
		return err
	})
	if err != nil {
		return res, err
	}
	var found []zspotify.FullArtist
	if result.Artists != nil {
		found = result.Artists.Artists
	}
	return choose(res, mode, found), nil
}

// choose picks the artist a search result means.
func choose(res Resolution, mode Mode, found []zspotify.FullArtist) Resolution {
	if len(found) == 0 {
		res.Status = StatusNotFound
		return res
	}
	want := NormalizeName(res.Query)
	var exact []zspotify.FullArtist
	for _, a := range found {
		if NormalizeName(a.Name) == want {
			exact = append(exact, a)
		}
	}
	set := func(a zspotify.FullArtist, status string, candidates int) Resolution {
		res.ArtistID, res.Name, res.Status, res.Candidates = string(a.ID), a.Name, status, candidates
		return res
	}
	candidates := exact
	if len(exact) == 1 {
		return set(exact[0], StatusExact, 1)
	}
	if len(exact) == 0 {
		candidates = found
		if len(found) == 1 {
			return set(found[0], StatusBest, 1)
		}
	}
	if mode == ModeExtended {
		best, tie := candidates[0], false
		for _, a := range candidates[1:] {
			switch {
			case a.Popularity > best.Popularity:
				best, tie = a, false
			case a.Popularity == best.Popularity:
				tie = true
			}
		}
		if !tie {
			return set(best, StatusBest, len(candidates))
		}
	}
	return set(candidates[0], StatusAmbiguous, len(candidates))
}

// IsID reports whether s is a Spotify ID: 22 base-62 characters.
func IsID(s string) bool {
	if len(s) != 22 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
			return false
		}
	}
	return true
}

var foldLetters = strings.NewReplacer("ø", "o", "Ø", "o", "æ", "ae", "Æ", "ae", "ß", "ss", "đ", "d", "ł", "l", "Ł", "l", "&", " and ")

// NormalizeName is the form names are compared in: lower case, without
// diacritics, "&" read as "and", and every run of other characters than
// letters and digits one space.
func NormalizeName(s string) string {
	t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, foldLetters.Replace(s))
	if err != nil {
		folded = s
	}
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(folded) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if gap && b.Len() > 0 {
				b.WriteByte(' ')
			}
			gap = false
			b.WriteRune(r)
		} else {
			gap = true
		}
	}
	return b.String()
}
