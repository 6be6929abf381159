package spotify

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizeName(t *testing.T) {
	tests := map[string]string{
		"Björk":                 "bjork",
		"  Sigur   Rós ":        "sigur ros",
		"Simon & Garfunkel":     "simon and garfunkel",
		"AC/DC":                 "ac dc",
		"Mø":                    "mo",
		"The Velvet Foxes!":     "the velvet foxes",
		"Beyoncé":               "beyonce",
		"":                      "",
		"P!nk":                  "p nk",
		"Ólafur Arnalds (live)": "olafur arnalds live",
	}
	for in, want := range tests {
		require.Equal(t, want, NormalizeName(in), in)
	}
}

func TestIsID(t *testing.T) {
	tests := map[string]bool{
		"0TnOYISbd1XYRBk9myaseg":  true,
		"0TnOYISbd1XYRBk9myase":   false,
		"0TnOYISbd1XYRBk9myaseg0": false,
		"0TnOYISbd1XYRBk9mya eg":  false,
		"Pitbull":                 false,
	}
	for in, want := range tests {
		require.Equal(t, want, IsID(in), in)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"auto": ModeAuto, " Extended ": ModeExtended, "development": ModeDevelopment} {
		got, err := ParseMode(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := ParseMode("turbo")
	require.ErrorContains(t, err, `"turbo"`)
}
