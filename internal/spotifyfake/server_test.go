package spotifyfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	zspotify "github.com/zmb3/spotify/v2"
)

// fake is a running server with a token, for contract tests.
type fake struct {
	t     *testing.T
	url   string
	srv   *Server
	token string
}

func startFake(t *testing.T, opts Options) *fake {
	t.Helper()
	url, srv, stop, err := StartServer(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(stop)
	f := &fake{t: t, url: url, srv: srv}
	f.token = f.fetchToken(DefaultClientID, DefaultClientSecret)
	return f
}

func (f *fake) fetchToken(id, secret string) string {
	req, err := http.NewRequest(http.MethodPost, f.url+"/api/token", strings.NewReader("grant_type=client_credentials"))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(f.t, http.StatusOK, resp.StatusCode)
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&tok))
	return tok.AccessToken
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (f *fake) get(path string) answer {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url+"/v1/"+path, nil)
	require.NoError(f.t, err)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// getOK gets path, requires a 200 and decodes the answer into out.
func (f *fake) getOK(path string, out any) []byte {
	f.t.Helper()
	a := f.get(path)
	require.Equal(f.t, http.StatusOK, a.status, "%s: %s", path, a.body)
	require.NoError(f.t, json.Unmarshal(a.body, out), path)
	return a.body
}

// requireError requires Spotify's error object with status and message.
func requireError(t *testing.T, a answer, status int, message string) {
	t.Helper()
	require.Equal(t, status, a.status, string(a.body))
	var e struct {
		Error struct {
			Status  int    `json:"status"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(a.body, &e), string(a.body))
	require.Equal(t, status, e.Error.Status)
	require.Equal(t, message, e.Error.Message)
}

// keys returns the top-level keys of a JSON object.
func keys(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m), string(raw))
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func ids(refs []ArtistRef, n int) string {
	var out []string
	for _, r := range refs[:n] {
		out = append(out, r.ID)
	}
	return strings.Join(out, ",")
}

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Artists: 5}, "artists=5"},
		{Options{Artists: MaxArtists + 1}, "artists=200001"},
		{Options{Mode: "turbo"}, `mode="turbo"`},
		{Options{Budget: 10}, "give both or neither"},
		{Options{Window: time.Second}, "give both or neither"},
		{Options{Quota: -1}, "quota=-1"},
		{Options{Latency: -time.Second}, "latency"},
		{Options{Faults: Faults{ServerError: 1.5}}, "between 0 and 1"},
		{Options{Faults: Faults{RateLimited: 2}}, "fault fraction 429=2"},
		{Options{Faults: Faults{RateLimited: 0.6, ServerError: 0.6}}, "sum to"},
		{Options{Faults: Faults{RetryAfter: -time.Second}}, "retry_after"},
	}
	for _, tt := range tests {
		_, err := New(tt.opts)
		require.ErrorContains(t, err, tt.want)
	}
	s, err := New(Options{})
	require.NoError(t, err)
	require.Equal(t, DefaultArtists, s.Catalog().Len())
	require.Equal(t, ModeExtended, s.Options().Mode)
	require.Equal(t, DefaultRetryAfter, s.Options().Faults.RetryAfter)
	// Retry-After is given in whole seconds: a fraction is rounded up.
	s, err = New(Options{Faults: Faults{RateLimited: 0.1, RetryAfter: 1500 * time.Millisecond}})
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, s.Options().Faults.RetryAfter)
}

func TestToken(t *testing.T) {
	f := startFake(t, Options{Artists: 10, TokenTTL: time.Hour})
	post := func(body string, basic bool, id, secret string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, f.url+"/api/token", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(id, secret)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	tests := []struct {
		name       string
		body       string
		basic      bool
		id, secret string
		status     int
		errCode    string
	}{
		{"basic auth", "grant_type=client_credentials", true, DefaultClientID, DefaultClientSecret, 200, ""},
		{"form", "grant_type=client_credentials&client_id=fake-id&client_secret=fake-secret", false, "", "", 200, ""},
		{"wrong secret", "grant_type=client_credentials", true, DefaultClientID, "nope", 400, "invalid_client"},
		{"unknown client", "grant_type=client_credentials", true, "someone", DefaultClientSecret, 400, "invalid_client"},
		{"no credentials", "grant_type=client_credentials", false, "", "", 400, "invalid_client"},
		{"no grant type", "", true, DefaultClientID, DefaultClientSecret, 400, "unsupported_grant_type"},
		{"other grant type", "grant_type=password", true, DefaultClientID, DefaultClientSecret, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := post(tt.body, tt.basic, tt.id, tt.secret)
			require.Equal(t, tt.status, status, out)
			if tt.errCode != "" {
				require.Equal(t, tt.errCode, out["error"])
				require.NotEmpty(t, out["error_description"])
				return
			}
			require.Equal(t, "Bearer", out["token_type"])
			require.EqualValues(t, 3600, out["expires_in"])
			require.NotEmpty(t, out["access_token"])
		})
	}
}

func TestAuthorization(t *testing.T) {
	f := startFake(t, Options{Artists: 10})
	id := f.srv.Catalog().Artists()[0].ID
	require.Equal(t, http.StatusOK, f.get("artists/"+id).status)

	good := f.token
	f.token = "made-up"
	requireError(t, f.get("artists/"+id), http.StatusUnauthorized, "Invalid access token")

	f.token = good
	f.srv.ExpireTokens()
	requireError(t, f.get("artists/"+id), http.StatusUnauthorized, "The access token expired")

	f.token = f.fetchToken(DefaultClientID, DefaultClientSecret)
	require.Equal(t, http.StatusOK, f.get("artists/"+id).status)

	resp, err := http.Get(f.url + "/v1/artists/" + id)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// TestContractExtended checks every endpoint of extended mode: paths,
// limits and that answers decode into zmb3's types with the catalog's data.
func TestContractExtended(t *testing.T) {
	f := startFake(t, Options{Artists: 200, Seed: 3})
	c := f.srv.Catalog()
	refs := c.Artists()
	artist, _ := c.Artist(refs[4].ID)

	t.Run("artist", func(t *testing.T) {
		var a zspotify.FullArtist
		raw := f.getOK("artists/"+artist.ID, &a)
		require.Equal(t, artist.ID, string(a.ID))
		require.Equal(t, artist.Name, a.Name)
		require.Equal(t, artist.Genres, a.Genres)
		require.EqualValues(t, artist.Popularity, a.Popularity)
		require.EqualValues(t, artist.Followers, a.Followers.Count)
		require.Equal(t, "https://open.spotify.com/artist/"+artist.ID, a.ExternalURLs["spotify"])
		require.Equal(t, zspotify.URI("spotify:artist:"+artist.ID), a.URI)
		require.True(t, keys(t, raw)["popularity"])
		require.True(t, keys(t, raw)["followers"])
		require.Equal(t, map[string]bool{"external_urls": true, "followers": true, "genres": true, "href": true, "id": true,
			"images": true, "name": true, "popularity": true, "type": true, "uri": true}, keys(t, raw))
	})
	t.Run("artists batch", func(t *testing.T) {
		var got struct{ Artists []*zspotify.FullArtist }
		f.getOK("artists?ids="+ids(refs, 50), &got)
		require.Len(t, got.Artists, 50)
		for i, a := range got.Artists {
			require.Equal(t, refs[i].ID, string(a.ID))
		}
		requireError(t, f.get("artists?ids="+ids(refs, 51)), 400, "Too many ids requested")
		requireError(t, f.get("artists?ids=nope"), 400, "invalid id")
		requireError(t, f.get("artists"), 400, "Missing required parameter: ids")
		// An ID Spotify does not know is a null entry.
		raw := f.getOK("artists?ids="+refs[0].ID+",0TnOYISbd1XYRBk9myaseg", &got)
		require.Nil(t, got.Artists[1])
		require.Contains(t, string(raw), ",null]")
	})
	t.Run("unknown and invalid IDs", func(t *testing.T) {
		requireError(t, f.get("artists/0TnOYISbd1XYRBk9myaseg"), 404, "non existing id")
		requireError(t, f.get("albums/0TnOYISbd1XYRBk9myaseg"), 404, "non existing id")
		requireError(t, f.get("tracks/0TnOYISbd1XYRBk9myaseg"), 404, "non existing id")
		requireError(t, f.get("artists/not-an-id"), 400, "invalid id")
		// An artist ID is no album ID.
		requireError(t, f.get("albums/"+artist.ID), 404, "non existing id")
		requireError(t, f.get("no/such/endpoint"), 404, "Service not found")
	})
	t.Run("top tracks", func(t *testing.T) {
		var got struct {
			Tracks []zspotify.FullTrack `json:"tracks"`
		}
		raw := f.getOK("artists/"+artist.ID+"/top-tracks?market=US", &got)
		want, _ := c.TopTracks(artist.ID, "US", time.Time{})
		require.Len(t, got.Tracks, 10)
		for i, tr := range got.Tracks {
			require.Equal(t, want[i].ID, string(tr.ID))
			require.EqualValues(t, want[i].Popularity, tr.Popularity)
			require.Equal(t, want[i].AlbumID, string(tr.Album.ID))
			require.Equal(t, want[i].ISRC, tr.ExternalIDs["isrc"])
		}
		var rawTracks struct{ Tracks []json.RawMessage }
		require.NoError(t, json.Unmarshal(raw, &rawTracks))
		require.True(t, keys(t, rawTracks.Tracks[0])["popularity"])
		requireError(t, f.get("artists/"+artist.ID+"/top-tracks"), 400, "Missing market parameter")
		requireError(t, f.get("artists/"+artist.ID+"/top-tracks?market=XX"), 400, "Invalid market code")
		other, _ := c.TopTracks(artist.ID, "SE", time.Time{})
		require.Len(t, other, 10)
	})
	t.Run("related artists", func(t *testing.T) {
		var got struct{ Artists []zspotify.FullArtist }
		f.getOK("artists/"+artist.ID+"/related-artists", &got)
		for _, a := range got.Artists {
			require.NotEqual(t, artist.ID, string(a.ID))
		}
	})
	t.Run("artist albums", func(t *testing.T) {
		var page zspotify.SimpleAlbumPage
		f.getOK("artists/"+artist.ID+"/albums?limit=50", &page)
		require.EqualValues(t, len(artist.Albums), page.Total)
		require.Len(t, page.Albums, len(artist.Albums))
		for i, al := range page.Albums {
			require.Equal(t, artist.Albums[i].ID, string(al.ID))
			require.Equal(t, artist.Albums[i].Type, al.AlbumGroup)
			require.Equal(t, artist.Albums[i].ReleaseDate, al.ReleaseDate)
			require.Equal(t, artist.Albums[i].ReleaseDatePrecision, al.ReleaseDatePrecision)
			require.EqualValues(t, len(artist.Albums[i].Tracks), al.TotalTracks)
			require.NotEmpty(t, al.AvailableMarkets)
		}
		f.getOK("artists/"+artist.ID+"/albums", &page)
		require.EqualValues(t, 20, page.Limit, "default page size")
		requireError(t, f.get("artists/"+artist.ID+"/albums?limit=51"), 400, "Invalid limit")
		requireError(t, f.get("artists/"+artist.ID+"/albums?limit=0"), 400, "Invalid limit")
		requireError(t, f.get("artists/"+artist.ID+"/albums?offset=-1"), 400, "Invalid offset")
		requireError(t, f.get("artists/"+artist.ID+"/albums?include_groups=bootleg"), 400, "Invalid include_groups value bootleg")

		// Paging follows next until the end, with include_groups kept.
		f.getOK("artists/"+artist.ID+"/albums?limit=2&include_groups=single", &page)
		var singles int
		for _, al := range artist.Albums {
			if al.Type == "single" {
				singles++
			}
		}
		seen := 0
		for {
			for _, al := range page.Albums {
				require.Equal(t, "single", al.AlbumGroup)
				seen++
			}
			if page.Next == "" {
				break
			}
			require.Contains(t, page.Next, "include_groups=single")
			next := strings.TrimPrefix(page.Next, f.url+"/v1/")
			page = zspotify.SimpleAlbumPage{}
			f.getOK(next, &page)
		}
		require.Equal(t, singles, seen)
	})
	t.Run("album and its tracks", func(t *testing.T) {
		long := findAlbum(t, c, func(a Album) bool { return len(a.Tracks) > 50 })
		var al zspotify.FullAlbum
		raw := f.getOK("albums/"+long.ID+"?market=US", &al)
		require.Equal(t, long.Name, al.Name)
		require.EqualValues(t, len(long.Tracks), al.Tracks.Total)
		require.Len(t, al.Tracks.Tracks, 50, "an album object carries its first 50 tracks")
		require.NotEmpty(t, al.Tracks.Next)
		require.Equal(t, long.UPC, al.ExternalIDs["upc"])
		require.EqualValues(t, long.Popularity, al.Popularity)
		require.Len(t, al.Copyrights, 2)
		require.True(t, keys(t, raw)["label"])
		var page zspotify.SimpleTrackPage
		f.getOK("albums/"+long.ID+"/tracks?offset=50&limit=50", &page)
		require.Len(t, page.Tracks, len(long.Tracks)-50)
		require.Equal(t, long.Tracks[50].ID, string(page.Tracks[0].ID))
		require.Empty(t, page.Next)
		require.NotEmpty(t, page.Previous)
		requireError(t, f.get("albums/"+long.ID+"/tracks?limit=51"), 400, "Invalid limit")
	})
	t.Run("albums batch", func(t *testing.T) {
		var albumIDs []string
		for _, ref := range refs {
			a, _ := c.Artist(ref.ID)
			for _, al := range a.Albums {
				albumIDs = append(albumIDs, al.ID)
			}
			if len(albumIDs) > 21 {
				break
			}
		}
		var got struct{ Albums []*zspotify.FullAlbum }
		f.getOK("albums?ids="+strings.Join(albumIDs[:20], ","), &got)
		require.Len(t, got.Albums, 20)
		require.Equal(t, albumIDs[19], string(got.Albums[19].ID))
		requireError(t, f.get("albums?ids="+strings.Join(albumIDs[:21], ",")), 400, "Too many ids requested")
	})
	t.Run("tracks and audio features", func(t *testing.T) {
		var trackIDs []string
		for _, ref := range refs {
			top, _ := c.TopTracks(ref.ID, "US", time.Time{})
			for _, tr := range top {
				trackIDs = append(trackIDs, tr.ID)
			}
			if len(trackIDs) > 101 {
				break
			}
		}
		var one zspotify.FullTrack
		f.getOK("tracks/"+trackIDs[0], &one)
		require.Equal(t, trackIDs[0], string(one.ID))
		var tracks struct{ Tracks []*zspotify.FullTrack }
		f.getOK("tracks?ids="+strings.Join(trackIDs[:50], ","), &tracks)
		require.Len(t, tracks.Tracks, 50)
		requireError(t, f.get("tracks?ids="+strings.Join(trackIDs[:51], ",")), 400, "Too many ids requested")

		var feats struct {
			F []*zspotify.AudioFeatures `json:"audio_features"`
		}
		f.getOK("audio-features?ids="+strings.Join(trackIDs[:100], ","), &feats)
		require.Len(t, feats.F, 100)
		want, _ := c.AudioFeatures(trackIDs[7])
		require.Equal(t, trackIDs[7], string(feats.F[7].ID))
		require.InDelta(t, want.Danceability, feats.F[7].Danceability, 1e-6)
		require.EqualValues(t, want.Key, feats.F[7].Key)
		requireError(t, f.get("audio-features?ids="+strings.Join(trackIDs[:101], ",")), 400, "Too many ids requested")
		var single zspotify.AudioFeatures
		f.getOK("audio-features/"+trackIDs[3], &single)
		require.Equal(t, trackIDs[3], string(single.ID))
	})
	t.Run("search", func(t *testing.T) {
		var res zspotify.SearchResult
		f.getOK("search?type=artist&limit=50&q="+url.QueryEscape(artist.Name), &res)
		require.NotNil(t, res.Artists)
		require.Equal(t, artist.ID, string(res.Artists.Artists[0].ID))
		require.EqualValues(t, artist.Popularity, res.Artists.Artists[0].Popularity)
		f.getOK("search?type=artist&q=the", &res)
		require.EqualValues(t, 20, res.Artists.Limit)
		require.Greater(t, int(res.Artists.Total), 20)
		require.NotEmpty(t, res.Artists.Next)
		requireError(t, f.get("search?type=artist&limit=51&q=the"), 400, "Invalid limit")
		requireError(t, f.get("search?type=artist&offset=1001&q=the"), 400, "Invalid offset")
		requireError(t, f.get("search?type=artist"), 400, "No search query")
		requireError(t, f.get("search?q=the"), 400, "Missing parameter type")
		requireError(t, f.get("search?q=the&type=sound"), 400, "Bad search type field sound")
		f.getOK("search?type=artist,album&q=the", &res)
		require.NotNil(t, res.Albums)
		require.Zero(t, res.Albums.Total)
	})
}

// TestContractDevelopment checks what development mode removed: batch
// endpoints, top tracks, audio features and related artists answer 403;
// popularity, followers and available_markets are absent; search and
// artist albums pages hold at most 10.
func TestContractDevelopment(t *testing.T) {
	f := startFake(t, Options{Artists: 200, Seed: 3, Mode: ModeDevelopment})
	c := f.srv.Catalog()
	refs := c.Artists()
	artist, _ := c.Artist(refs[4].ID)
	album := artist.Albums[0]
	track := album.Tracks[0]

	for _, path := range []string{
		"artists?ids=" + ids(refs, 2),
		"artists/" + artist.ID + "/top-tracks?market=US",
		"artists/" + artist.ID + "/related-artists",
		"albums?ids=" + album.ID,
		"tracks?ids=" + track.ID,
		"audio-features?ids=" + track.ID,
		"audio-features/" + track.ID,
	} {
		t.Run("removed "+path, func(t *testing.T) {
			a := f.get(path)
			requireError(t, a, http.StatusForbidden, "Forbidden")
			require.JSONEq(t, `{"error":{"status":403,"message":"Forbidden"}}`, string(a.body))
		})
	}

	t.Run("artist without popularity and followers", func(t *testing.T) {
		var a zspotify.FullArtist
		raw := f.getOK("artists/"+artist.ID, &a)
		require.Equal(t, artist.Name, a.Name)
		require.Equal(t, artist.Genres, a.Genres)
		k := keys(t, raw)
		require.False(t, k["popularity"])
		require.False(t, k["followers"])
		require.True(t, k["images"])
	})
	t.Run("album and track without popularity and markets", func(t *testing.T) {
		var al zspotify.FullAlbum
		raw := f.getOK("albums/"+album.ID, &al)
		require.Equal(t, album.Name, al.Name)
		k := keys(t, raw)
		require.False(t, k["popularity"])
		require.False(t, k["available_markets"])
		var withTracks struct {
			Tracks struct{ Items []json.RawMessage } `json:"tracks"`
		}
		require.NoError(t, json.Unmarshal(raw, &withTracks))
		require.False(t, keys(t, withTracks.Tracks.Items[0])["available_markets"])

		var tr zspotify.FullTrack
		raw = f.getOK("tracks/"+track.ID, &tr)
		require.Equal(t, track.Name, tr.Name)
		k = keys(t, raw)
		require.False(t, k["popularity"])
		require.False(t, k["available_markets"])
	})
	t.Run("pages of at most 10", func(t *testing.T) {
		base := "artists/" + artist.ID + "/albums"
		var page zspotify.SimpleAlbumPage
		raw := f.getOK(base, &page)
		require.EqualValues(t, 5, page.Limit, "default page size")
		var items struct{ Items []json.RawMessage }
		require.NoError(t, json.Unmarshal(raw, &items))
		require.False(t, keys(t, items.Items[0])["available_markets"])
		f.getOK(base+"?limit=10", &page)
		require.EqualValues(t, 10, page.Limit)
		requireError(t, f.get(base+"?limit=11"), 400, "Invalid limit")
		requireError(t, f.get(base+"?limit=50"), 400, "Invalid limit")

		var res zspotify.SearchResult
		f.getOK("search?type=artist&q=the", &res)
		require.EqualValues(t, 5, res.Artists.Limit, "default page size")
		require.Len(t, res.Artists.Artists, 5)
		f.getOK("search?type=artist&limit=10&q="+url.QueryEscape(artist.Name), &res)
		require.Equal(t, artist.ID, string(res.Artists.Artists[0].ID))
		requireError(t, f.get("search?type=artist&limit=11&q=the"), 400, "Invalid limit")
	})
	t.Run("album tracks keep 50", func(t *testing.T) {
		var page zspotify.SimpleTrackPage
		f.getOK("albums/"+album.ID+"/tracks?limit=50", &page)
		require.Len(t, page.Tracks, len(album.Tracks))
	})
}

func findAlbum(t *testing.T, c *Catalog, match func(Album) bool) Album {
	t.Helper()
	for _, ref := range c.Artists() {
		a, _ := c.Artist(ref.ID)
		for _, al := range a.Albums {
			if match(al) {
				return al
			}
		}
	}
	t.Fatal("no album matches")
	return Album{}
}

func TestAsOfServesAnEarlierDay(t *testing.T) {
	asOf := time.Date(2026, time.June, 30, 0, 0, 0, 0, time.UTC)
	f := startFake(t, Options{Artists: 200, AsOf: asOf})
	late := findAlbum(t, f.srv.Catalog(), func(a Album) bool { return a.Released.After(asOf) })
	requireError(t, f.get("albums/"+late.ID), 404, "non existing id")
	var page zspotify.SimpleAlbumPage
	f.getOK("artists/"+late.ArtistID+"/albums?limit=50", &page)
	for _, al := range page.Albums {
		require.NotEqual(t, late.ID, string(al.ID))
	}
}

func TestRollingWindowLimiter(t *testing.T) {
	f := startFake(t, Options{Artists: 10, Budget: 5, Window: 2 * time.Second})
	id := f.srv.Catalog().Artists()[0].ID
	for i := 0; i < 5; i++ {
		require.Equal(t, http.StatusOK, f.get("artists/"+id).status, i)
	}
	a := f.get("artists/" + id)
	requireError(t, a, http.StatusTooManyRequests, "API rate limit exceeded")
	ra, err := strconv.Atoi(a.header.Get("Retry-After"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, ra, 1)
	require.LessOrEqual(t, ra, 2)

	// Asking again while the Retry-After is in force is counted.
	require.Equal(t, http.StatusTooManyRequests, f.get("artists/"+id).status)
	st := f.srv.Stats()
	require.Equal(t, 2, st.RateLimited)
	require.Equal(t, 1, st.DuringRetryAfter)
	require.Equal(t, 5, st.Requests["artist"][200])
	require.Equal(t, 2, st.Requests["artist"][429])
	require.Equal(t, 7, st.Calls("artist"))
	require.Equal(t, 7, st.APICalls())

	time.Sleep(time.Duration(ra) * time.Second)
	require.Equal(t, http.StatusOK, f.get("artists/"+id).status)
}

func TestDailyQuota(t *testing.T) {
	f := startFake(t, Options{Artists: 10, Quota: 3})
	id := f.srv.Catalog().Artists()[0].ID
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusOK, f.get("artists/"+id).status)
	}
	a := f.get("artists/" + id)
	requireQuotaExceeded(t, a)
	ra, err := strconv.Atoi(a.header.Get("Retry-After"))
	require.NoError(t, err)
	untilMidnight := time.Until(time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour))
	require.InDelta(t, untilMidnight.Seconds(), float64(ra), 2)
	require.Equal(t, 1, f.srv.Stats().QuotaExceeded)
}

func TestFaultInjection(t *testing.T) {
	f := startFake(t, Options{Artists: 10, Faults: Faults{
		ServerError: 0.1, RateLimited: 0.05, Slow: 0.05, Truncated: 0.1, Malformed: 0.1, SlowDelay: 50 * time.Millisecond, Seed: 4,
	}})
	id := f.srv.Catalog().Artists()[0].ID
	counts := map[string]int{}
	const n = 600
	for i := 0; i < n; i++ {
		a := f.get("artists/" + id)
		switch {
		case a.status >= 500:
			counts["5xx"]++
		case a.status == http.StatusTooManyRequests:
			counts["429"]++
		case a.status == 200 && !json.Valid(a.body):
			if a.body[0] == '[' {
				counts["malformed"]++
			} else {
				counts["truncated"]++
			}
		case a.status == 200:
			counts["ok"]++
		}
	}
	st := f.srv.Stats()
	for kind, frac := range map[string]float64{"5xx": 0.1, "429": 0.05, "truncated": 0.1, "malformed": 0.1} {
		require.Equal(t, st.Faults[kind], counts[kind], kind)
		require.InDelta(t, frac*n, counts[kind], frac*n*0.5, kind)
	}
	require.InDelta(t, 0.05*n, st.Faults["slow"], 0.05*n*0.6)
	require.Equal(t, n, counts["ok"]+counts["5xx"]+counts["429"]+counts["truncated"]+counts["malformed"])
	require.Zero(t, st.RateLimited, "injected 429s are not the window's")
}

func TestRateLimitedFault(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		wantHeader string
	}{
		{"default", 0, "1"},
		{"whole seconds", 3 * time.Second, "3"},
		{"rounded up", 1500 * time.Millisecond, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, Options{Artists: 10, Faults: Faults{RateLimited: 1, RetryAfter: tt.retryAfter}})
			id := f.srv.Catalog().Artists()[0].ID
			a := f.get("artists/" + id)
			requireError(t, a, http.StatusTooManyRequests, "API rate limit exceeded")
			require.JSONEq(t, `{"error":{"status":429,"message":"API rate limit exceeded"}}`, string(a.body))
			require.Equal(t, tt.wantHeader, a.header.Get("Retry-After"))
			require.Equal(t, "application/json; charset=utf-8", a.header.Get("Content-Type"))
			st := f.srv.Stats()
			require.Equal(t, 1, st.Faults["429"])
			require.Equal(t, 1, st.Requests["artist"][429])
			require.Zero(t, st.RateLimited, "counted as a fault, not as a window 429")
			require.Zero(t, st.DuringRetryAfter)

			// The next request arrives while that Retry-After is in force,
			// as after any 429.
			f.get("artists/" + id)
			require.Equal(t, 1, f.srv.Stats().DuringRetryAfter)
		})
	}
}

func TestRateLimitedFaultIsNotCounted(t *testing.T) {
	// Half the requests are refused at random; the refused ones take no
	// place in the window or the quota, so exactly budget (and quota)
	// requests are answered before the limit refuses.
	const budget = 4
	for _, opts := range []Options{
		{Artists: 10, Budget: budget, Window: time.Minute, Faults: Faults{RateLimited: 0.5, Seed: 3}},
		{Artists: 10, Quota: budget, Faults: Faults{RateLimited: 0.5, Seed: 3}},
	} {
		f := startFake(t, opts)
		id := f.srv.Catalog().Artists()[0].ID
		answered, injected := 0, 0
		for answered < budget {
			switch a := f.get("artists/" + id); a.status {
			case http.StatusOK:
				answered++
			case http.StatusTooManyRequests:
				injected++
			default:
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			require.Less(t, answered+injected, 100)
		}
		require.Positive(t, injected, "the seed draws some 429s before the limit")
		a := f.get("artists/" + id)
		require.Equal(t, http.StatusTooManyRequests, a.status)
		st := f.srv.Stats()
		require.Equal(t, injected, st.Faults["429"])
		if opts.Window > 0 {
			require.Equal(t, 1, st.RateLimited, "the window refuses only once the budget is answered")
		} else {
			require.Equal(t, 1, st.QuotaExceeded, "the quota refuses only once it is answered")
		}
	}
}

func TestSlowFaultOutlastsTheClient(t *testing.T) {
	f := startFake(t, Options{Artists: 10, Faults: Faults{Slow: 1, SlowDelay: time.Minute}})
	id := f.srv.Catalog().Artists()[0].ID
	client := &http.Client{Timeout: 100 * time.Millisecond}
	req, err := http.NewRequest(http.MethodGet, f.url+"/v1/artists/"+id, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+f.token)
	start := time.Now()
	_, err = client.Do(req)
	require.Error(t, err)
	require.Less(t, time.Since(start), 10*time.Second)
}

func TestLatencyIsAdded(t *testing.T) {
	f := startFake(t, Options{Artists: 10, Latency: 150 * time.Millisecond})
	id := f.srv.Catalog().Artists()[0].ID
	start := time.Now()
	require.Equal(t, http.StatusOK, f.get("artists/"+id).status)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
}

func TestConcurrentClientsAreCounted(t *testing.T) {
	f := startFake(t, Options{Artists: 50})
	refs := f.srv.Catalog().Artists()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				path := fmt.Sprintf("artists/%s", refs[(i*10+j)%len(refs)].ID)
				req, _ := http.NewRequest(http.MethodGet, f.url+"/v1/"+path, nil)
				req.Header.Set("Authorization", "Bearer "+f.token)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}(i)
	}
	wg.Wait()
	st := f.srv.Stats()
	require.Equal(t, 80, st.Requests["artist"][200])
	require.Equal(t, 1, st.Requests["token"][200])
	require.Equal(t, 81, st.Total)
	f.srv.ResetStats()
	require.Zero(t, f.srv.Stats().Total)
}
