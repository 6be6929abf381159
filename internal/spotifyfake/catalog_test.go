package spotifyfake

import (
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCatalogIsDeterministicAndPrefixStable(t *testing.T) {
	a, b := NewCatalog(300, 5), NewCatalog(300, 5)
	require.Equal(t, a.Artists(), b.Artists())
	small := NewCatalog(50, 5)
	require.Equal(t, a.Artists()[:50], small.Artists())
	other := NewCatalog(300, 6)
	require.NotEqual(t, a.Artists()[0].ID, other.Artists()[0].ID)

	x, _ := a.Artist(a.Artists()[17].ID)
	y, _ := b.Artist(b.Artists()[17].ID)
	require.Equal(t, x, y)
}

func TestCatalogSizeIsClamped(t *testing.T) {
	require.Equal(t, MinArtists, NewCatalog(3, 1).Len())
	require.Equal(t, 200, NewCatalog(200, 1).Len())
}

func TestCatalogArtists(t *testing.T) {
	c := NewCatalog(400, 1)
	names := map[string]bool{}
	var pops []int
	dates := regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)
	precisions := map[string]int{}
	long := 0
	for _, ref := range c.Artists() {
		require.False(t, names[ref.Name], "names of a small catalog are unique: %s", ref.Name)
		names[ref.Name] = true
		a, ok := c.Artist(ref.ID)
		require.True(t, ok)
		require.Equal(t, ref.Name, a.Name)
		require.GreaterOrEqual(t, a.Popularity, 0)
		require.LessOrEqual(t, a.Popularity, 100)
		require.GreaterOrEqual(t, a.Followers, 0)
		pops = append(pops, a.Popularity)
		require.NotEmpty(t, a.Albums)
		top, ok := c.TopTracks(ref.ID, "US", time.Time{})
		require.True(t, ok)
		require.Len(t, top, 10, "every artist has ten top tracks")
		for i := 1; i < len(top); i++ {
			require.GreaterOrEqual(t, top[i-1].Popularity+4, top[i].Popularity, "most popular first")
		}
		for i, al := range a.Albums {
			require.Regexp(t, dates, al.ReleaseDate)
			require.Equal(t, map[string]int{"year": 4, "month": 7, "day": 10}[al.ReleaseDatePrecision], len(al.ReleaseDate))
			precisions[al.ReleaseDatePrecision]++
			require.Equal(t, ref.ID, al.ArtistID)
			require.NotEmpty(t, al.Tracks)
			if len(al.Tracks) > 50 {
				long++
			}
			got, ok := c.Album(al.ID)
			require.True(t, ok)
			require.Equal(t, al.ID, got.ID)
			require.Len(t, got.Tracks, len(al.Tracks))
			if i > 0 {
				prev := a.Albums[i-1]
				if prev.Type == al.Type {
					require.False(t, al.Released.After(prev.Released), "newest first within a group")
				}
			}
		}
		tr, ok := c.Track(a.Albums[0].Tracks[0].ID)
		require.True(t, ok)
		require.Equal(t, a.Albums[0].ID, tr.AlbumID)
		f, ok := c.AudioFeatures(tr.ID)
		require.True(t, ok)
		require.Equal(t, tr.DurationMS, f.DurationMS)
	}
	sort.Ints(pops)
	require.Less(t, pops[len(pops)/2], 40, "popularity is skewed towards obscurity")
	require.Greater(t, pops[len(pops)-1], 80, "and a few stars")
	for _, p := range []string{"day", "month", "year"} {
		require.Positive(t, precisions[p], "release dates of %s precision", p)
	}
	require.Positive(t, long, "some albums hold more tracks than an album object carries")
}

func TestCatalogLargeHasSomeSharedNames(t *testing.T) {
	c := NewCatalog(3000, 1)
	count := map[string]int{}
	for _, a := range c.Artists() {
		count[a.Name]++
	}
	shared := 0
	for _, n := range count {
		if n > 1 {
			shared++
		}
	}
	require.Positive(t, shared)
	require.Less(t, shared, 100)
}

func TestCatalogAsOfHidesLaterReleases(t *testing.T) {
	c := NewCatalog(200, 1)
	asOf := time.Date(2026, time.June, 30, 0, 0, 0, 0, time.UTC)
	hidden := 0
	for _, ref := range c.Artists() {
		all, _ := c.Artist(ref.ID)
		then, _ := c.ArtistAsOf(ref.ID, asOf)
		hidden += len(all.Albums) - len(then.Albums)
		for _, al := range then.Albums {
			require.False(t, al.Released.After(asOf))
		}
	}
	require.Positive(t, hidden)
}

func TestCatalogSearch(t *testing.T) {
	c := NewCatalog(3000, 1)
	refs := c.Artists()
	for _, i := range []int{0, 10, 999} {
		hits := c.search(refs[i].Name)
		require.NotEmpty(t, hits)
		require.Equal(t, refs[i].Name, c.artists[hits[0]].name, "exact name first")
	}
	require.Empty(t, c.search("zzqx nonexistent"))
	// Diacritics, case and punctuation do not matter.
	for _, ref := range refs {
		if normalize(ref.Name) != ref.Name && len(c.search(normalize(ref.Name))) > 0 {
			require.Equal(t, ref.Name, c.artists[c.search(normalize(ref.Name))[0]].name)
			return
		}
	}
	t.Fatal("no name with diacritics or capitals")
}

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"Björn Valdés":            "bjorn valdes",
		"  The   Velvet Foxes! ":  "the velvet foxes",
		"Sørensen & The Owls":     "sorensen and the owls",
		`artist:"Maya Lindqvist"`: "artist maya lindqvist",
	}
	for in, want := range tests {
		require.Equal(t, want, normalize(in), in)
	}
}
