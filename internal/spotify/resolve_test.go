package spotify

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	zspotify "github.com/zmb3/spotify/v2"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

func TestResolveArtist(t *testing.T) {
	for _, mode := range []Mode{ModeExtended, ModeDevelopment} {
		t.Run(string(mode), func(t *testing.T) {
			f := startFake(t, spotifyfake.Options{Artists: 3000, Seed: 1, Mode: string(mode)})
			cat := f.srv.Catalog()
			refs := cat.Artists()
			c := newTestClient(t, f.url)
			ctx := context.Background()

			// Every name of a small catalog resolves exactly.
			for _, ref := range refs[:40] {
				r, err := c.ResolveArtist(ctx, mode, ref.Name)
				require.NoError(t, err)
				require.Equal(t, Resolution{Query: ref.Name, ArtistID: ref.ID, Name: ref.Name, Status: StatusExact, Candidates: 1}, r)
			}
			// Case, diacritics and spacing do not matter.
			var accented spotifyfake.ArtistRef
			for _, ref := range refs {
				if NormalizeName(ref.Name) != strings.ToLower(ref.Name) && !strings.Contains(ref.Name, "&") {
					accented = ref
					break
				}
			}
			r, err := c.ResolveArtist(ctx, mode, "  "+strings.ToUpper(NormalizeName(accented.Name))+" ")
			require.NoError(t, err)
			require.Equal(t, StatusExact, r.Status)
			require.Equal(t, accented.ID, r.ArtistID)

			r, err = c.ResolveArtist(ctx, mode, "Qwxz Nonexistent Zzyzx")
			require.NoError(t, err)
			require.Equal(t, StatusNotFound, r.Status)
			require.Empty(t, r.ArtistID)

			// Two artists share a name: popularity decides where the mode
			// has it; otherwise the name is ambiguous.
			byName := map[string][]spotifyfake.ArtistRef{}
			for _, ref := range refs {
				byName[ref.Name] = append(byName[ref.Name], ref)
			}
			var twins []spotifyfake.ArtistRef
			for _, same := range byName {
				if len(same) == 2 {
					a, _ := cat.Artist(same[0].ID)
					b, _ := cat.Artist(same[1].ID)
					if a.Popularity != b.Popularity {
						twins = same
						if b.Popularity > a.Popularity {
							twins = []spotifyfake.ArtistRef{same[1], same[0]}
						}
						break
					}
				}
			}
			require.NotEmpty(t, twins)
			r, err = c.ResolveArtist(ctx, mode, twins[0].Name)
			require.NoError(t, err)
			require.Equal(t, 2, r.Candidates)
			if mode == ModeExtended {
				require.Equal(t, StatusBest, r.Status)
				require.Equal(t, twins[0].ID, r.ArtistID, "the more popular one")
			} else {
				require.Equal(t, StatusAmbiguous, r.Status)
			}

			// An ID is not searched.
			calls := f.srv.Stats().Calls("search")
			r, err = c.ResolveArtist(ctx, mode, refs[5].ID)
			require.NoError(t, err)
			require.Equal(t, Resolution{Query: refs[5].ID, ArtistID: refs[5].ID, Status: StatusExact}, r)
			require.Equal(t, calls, f.srv.Stats().Calls("search"))

			_, err = c.ResolveArtist(ctx, mode, "  ")
			require.Equal(t, 400, asAPIError(err).Status)
		})
	}
}

func TestChoose(t *testing.T) {
	artist := func(id, name string, pop int) zspotify.FullArtist {
		a := zspotify.FullArtist{Popularity: zspotify.Numeric(pop)}
		a.ID, a.Name = zspotify.ID(id), name
		return a
	}
	tests := []struct {
		name   string
		mode   Mode
		query  string
		found  []zspotify.FullArtist
		status string
		id     string
		cands  int
	}{
		{"nothing", ModeExtended, "x", nil, StatusNotFound, "", 0},
		{"one exact among others", ModeExtended, "Mø", []zspotify.FullArtist{artist("a", "Mo Kelly", 90), artist("b", "MØ", 10)}, StatusExact, "b", 1},
		{"exact twins, popularity decides", ModeExtended, "Nova", []zspotify.FullArtist{artist("a", "Nova", 20), artist("b", "nova", 60)}, StatusBest, "b", 2},
		{"exact twins, popularity ties", ModeExtended, "Nova", []zspotify.FullArtist{artist("a", "Nova", 20), artist("b", "Nova", 20)}, StatusAmbiguous, "a", 2},
		{"exact twins without popularity", ModeDevelopment, "Nova", []zspotify.FullArtist{artist("a", "Nova", 0), artist("b", "Nova", 0)}, StatusAmbiguous, "a", 2},
		{"no exact, one result", ModeDevelopment, "Nova", []zspotify.FullArtist{artist("a", "Nova Collective", 0)}, StatusBest, "a", 1},
		{"no exact, popularity decides", ModeExtended, "Nova", []zspotify.FullArtist{artist("a", "Nova X", 5), artist("b", "Nova Y", 50)}, StatusBest, "b", 2},
		{"no exact, no popularity", ModeDevelopment, "Nova", []zspotify.FullArtist{artist("a", "Nova X", 0), artist("b", "Nova Y", 0)}, StatusAmbiguous, "a", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := choose(Resolution{Query: tt.query}, tt.mode, tt.found)
			require.Equal(t, tt.status, r.Status)
			require.Equal(t, tt.id, r.ArtistID)
			require.Equal(t, tt.cands, r.Candidates)
		})
	}
}
