package botapi

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseArtist(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantID bool
	}{
		{"  Daft   Punk ", "Daft Punk", false},
		{extendedID, extendedID, true},
		{"spotify:artist:" + extendedID, extendedID, true},
		{"https://open.spotify.com/artist/" + extendedID, extendedID, true},
		{"https://open.spotify.com/intl-fr/artist/" + extendedID + "?si=abc", extendedID, true},
		{"<https://open.spotify.com/artist/" + extendedID + "|Radiohead>", extendedID, true},
		{"<https://open.spotify.com/artist/" + extendedID + ">", extendedID, true},
		{"https://open.spotify.com/track/" + extendedID, "https://open.spotify.com/track/" + extendedID, false},
		{"https://open.spotify.com.evil.example/artist/" + extendedID, "https://open.spotify.com.evil.example/artist/" + extendedID, false},
		{"spotify:artist:short", "spotify:artist:short", false},
		{extendedID + "X", extendedID + "X", false},
		{"AC/DC", "AC/DC", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, isID := ParseArtist(tt.in)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantID, isID)
		})
	}
}
