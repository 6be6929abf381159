package spotifyfake

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIDsRoundTrip(t *testing.T) {
	codec := newIDCodec(7)
	refs := []ref{
		{kind: kindArtist, artist: 0},
		{kind: kindArtist, artist: MaxArtists - 1},
		{kind: kindAlbum, artist: 123, album: 45},
		{kind: kindTrack, artist: 199_999, album: 59, track: 74},
		{kind: kindTrack, artist: 1, album: 0, track: 65535},
	}
	seen := map[string]bool{}
	for _, r := range refs {
		id := codec.encode(r)
		require.True(t, IsBase62ID(id), id)
		require.False(t, seen[id], "IDs are distinct")
		seen[id] = true
		got, ok := codec.decode(id)
		require.True(t, ok, id)
		require.Equal(t, r, got)
	}
}

func TestIDsRejectWhatTheCatalogNeverIssued(t *testing.T) {
	codec := newIDCodec(7)
	id := codec.encode(ref{kind: kindArtist, artist: 42})
	tests := []struct {
		name string
		id   string
	}{
		{"one character changed", id[:10] + string(flip(id[10])) + id[11:]},
		{"other seed", newIDCodec(8).encode(ref{kind: kindArtist, artist: 42})},
		{"real Spotify ID", "0TnOYISbd1XYRBk9myaseg"},
		{"too short", id[:21]},
		{"not base 62", id[:21] + "-"},
		{"above 128 bits", "zzzzzzzzzzzzzzzzzzzzzz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := codec.decode(tt.id)
			require.False(t, ok)
		})
	}
}

func flip(b byte) byte {
	if b == 'a' {
		return 'b'
	}
	return 'a'
}

func TestIsBase62ID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0TnOYISbd1XYRBk9myaseg", true},
		{"0TnOYISbd1XYRBk9myase", false},
		{"0TnOYISbd1XYRBk9myaseg1", false},
		{"0TnOYISbd1XYRBk9mya_eg", false},
		{"", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, IsBase62ID(tt.in), tt.in)
	}
}
