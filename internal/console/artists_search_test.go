package console

import (
	"slices"
	"testing"
)

func testNameIndex(names map[string]string) *nameIndex {
	var rows []nameRow
	for id, name := range names {
		rows = append(rows, nameRow{ArtistID: id, Name: name})
	}
	return newNameIndex("2026-11-20", rows)
}

func TestNameSearch(t *testing.T) {
	idx := testNameIndex(map[string]string{
		"id0000000000000000000a": "The Beatles",
		"id0000000000000000000b": "Beat Happening",
		"id0000000000000000000c": "Beat",
		"id0000000000000000000d": "Heartbeat City",
		"id0000000000000000000e": "Björk",
		"id0000000000000000000f": "Sigur Rós",
	})
	tests := []struct {
		q    string
		want []string
	}{
		// Exact, then prefix, then a word's prefix, then anywhere.
		{"beat", []string{"Beat", "Beat Happening", "The Beatles", "Heartbeat City"}},
		{"  BEAT  ", []string{"Beat", "Beat Happening", "The Beatles", "Heartbeat City"}},
		{"björk", []string{"Björk"}},
		{"rós", []string{"Sigur Rós"}},
		{"id0000000000000000000f", []string{"Sigur Rós"}},
		{"nothing like it", nil},
		{"", nil},
		{"%", nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res := idx.search(tt.q)
			var got []string
			for _, h := range res.Hits {
				got = append(got, h.Name)
			}
			if !slices.Equal(got, tt.want) || res.Total != len(tt.want) {
				t.Errorf("search %q = %v (total %d), want %v", tt.q, got, res.Total, tt.want)
			}
		})
	}
}

func TestNameSearchLimit(t *testing.T) {
	names := map[string]string{}
	for i := range 120 {
		names[string(rune('A'+i%26))+string(rune('a'+i/26))+"00000000000000000000"] = "Band " + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	res := testNameIndex(names).search("band")
	if len(res.Hits) != maxSearchResults || res.Total != 120 {
		t.Fatalf("%d hits of %d, want %d of 120", len(res.Hits), res.Total, maxSearchResults)
	}
}
