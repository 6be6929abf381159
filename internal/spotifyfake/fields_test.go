package spotifyfake

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// fieldFixture holds catalog entities that carry every field development
// mode removes.
type fieldFixture struct {
	artist, genresAbsent, genresNull *Artist
	album                            Album
	track, relinked                  Track
}

func newFieldFixture(t *testing.T, c *Catalog) fieldFixture {
	t.Helper()
	var fx fieldFixture
	for _, ref := range c.Artists() {
		a, _ := c.Artist(ref.ID)
		switch {
		case a.DevGenres == GenresListed && len(a.Genres) > 0 && fx.artist == nil:
			fx.artist = a
		case a.DevGenres == GenresAbsent && len(a.Genres) > 0 && fx.genresAbsent == nil:
			fx.genresAbsent = a
		case a.DevGenres == GenresNull && len(a.Genres) > 0 && fx.genresNull == nil:
			fx.genresNull = a
		}
	}
	require.NotNil(t, fx.artist)
	require.NotNil(t, fx.genresAbsent)
	require.NotNil(t, fx.genresNull)
	fx.album = fx.artist.Albums[0]
	fx.track = fx.album.Tracks[0]
	fx.relinked = findTrack(t, c, func(tr Track) bool { return tr.LinkedFrom != "" })
	return fx
}

func findTrack(t *testing.T, c *Catalog, match func(Track) bool) Track {
	t.Helper()
	for _, ref := range c.Artists() {
		a, _ := c.Artist(ref.ID)
		for _, al := range a.Albums {
			for _, tr := range al.Tracks {
				if match(tr) {
					return tr
				}
			}
		}
	}
	t.Fatal("no track matches")
	return Track{}
}

// firstItem is the first item of a paging object.
func firstItem(t *testing.T, raw []byte) []byte {
	t.Helper()
	var page struct{ Items []json.RawMessage }
	require.NoError(t, json.Unmarshal(raw, &page), string(raw))
	require.NotEmpty(t, page.Items)
	return page.Items[0]
}

func whole(_ *testing.T, raw []byte) []byte { return raw }

// TestDevelopmentRemovesFields checks each field Spotify's February 2026
// migration guide removes from development mode: present in extended mode,
// absent in development mode (genres: absent or null, per artist).
func TestDevelopmentRemovesFields(t *testing.T) {
	ext := startFake(t, Options{Artists: 200, Seed: 3})
	dev := startFake(t, Options{Artists: 200, Seed: 3, Mode: ModeDevelopment})
	fx := newFieldFixture(t, ext.srv.Catalog())

	tests := []struct {
		name   string
		path   string
		object func(*testing.T, []byte) []byte // the object that carries the field
		field  string
		dev    string // "absent" or "null"
	}{
		{"album_group", "artists/" + fx.artist.ID + "/albums?limit=5", firstItem, "album_group", "absent"},
		{"album label", "albums/" + fx.album.ID, whole, "label", "absent"},
		{"album popularity", "albums/" + fx.album.ID, whole, "popularity", "absent"},
		{"album available_markets", "albums/" + fx.album.ID, whole, "available_markets", "absent"},
		{"track popularity", "tracks/" + fx.track.ID, whole, "popularity", "absent"},
		{"track available_markets", "tracks/" + fx.track.ID, whole, "available_markets", "absent"},
		{"track linked_from", "tracks/" + fx.relinked.ID + "?market=US", whole, "linked_from", "absent"},
		{"artist followers", "artists/" + fx.artist.ID, whole, "followers", "absent"},
		{"artist popularity", "artists/" + fx.artist.ID, whole, "popularity", "absent"},
		{"genres absent", "artists/" + fx.genresAbsent.ID, whole, "genres", "absent"},
		{"genres null", "artists/" + fx.genresNull.ID, whole, "genres", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extObj, devObj map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(tt.object(t, ext.getOK(tt.path, &json.RawMessage{})), &extObj))
			require.NoError(t, json.Unmarshal(tt.object(t, dev.getOK(tt.path, &json.RawMessage{})), &devObj))

			v, ok := extObj[tt.field]
			require.True(t, ok, "extended mode serves %s", tt.field)
			require.NotEqual(t, "null", string(v), "extended mode serves %s with a value", tt.field)

			v, ok = devObj[tt.field]
			switch tt.dev {
			case "absent":
				require.False(t, ok, "development mode serves %s: %s", tt.field, v)
			case "null":
				require.True(t, ok)
				require.JSONEq(t, "null", string(v))
			}
		})
	}
}

// TestDevelopmentGenres checks what development mode serves of genres: the
// list for artists whose DevGenres is GenresListed, null from search.
func TestDevelopmentGenres(t *testing.T) {
	dev := startFake(t, Options{Artists: 200, Seed: 3, Mode: ModeDevelopment})
	fx := newFieldFixture(t, dev.srv.Catalog())

	var a struct{ Genres []string }
	dev.getOK("artists/"+fx.artist.ID, &a)
	require.Equal(t, fx.artist.Genres, a.Genres)

	var res struct {
		Artists struct{ Items []map[string]json.RawMessage }
	}
	dev.getOK("search?type=artist&limit=10&q="+url.QueryEscape(fx.artist.Name), &res)
	require.NotEmpty(t, res.Artists.Items)
	for _, item := range res.Artists.Items {
		require.JSONEq(t, "null", string(item["genres"]), "search serves genres null")
	}

	ext := startFake(t, Options{Artists: 200, Seed: 3})
	ext.getOK("search?type=artist&limit=10&q="+url.QueryEscape(fx.artist.Name), &res)
	require.Equal(t, fx.artist.Genres, func() []string {
		var g []string
		require.NoError(t, json.Unmarshal(res.Artists.Items[0]["genres"], &g))
		return g
	}())
}

// TestDevGenresShares checks the shares of DevGenres and that they depend
// on the seed alone.
func TestDevGenresShares(t *testing.T) {
	c, same := NewCatalog(2000, 1), NewCatalog(2000, 1)
	count := map[DevGenres]int{}
	for _, ref := range c.Artists() {
		a, _ := c.Artist(ref.ID)
		again, _ := same.Artist(ref.ID)
		require.Equal(t, a.DevGenres, again.DevGenres)
		count[a.DevGenres]++
	}
	require.InDelta(t, 500, count[GenresAbsent], 80)
	require.InDelta(t, 500, count[GenresNull], 80)
	require.InDelta(t, 1000, count[GenresListed], 100)
}
