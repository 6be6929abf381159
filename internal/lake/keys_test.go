package lake_test

import (
	"testing"

	"github.com/metronome-data/metronome/internal/lake"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"RawKey", lake.RawKey("artists", "2026-11-01", 7), "raw/spotify/artists/dt=2026-11-01/batch=00007.jsonl.gz"},
		{"RawPrefix", lake.RawPrefix("top_tracks", "2026-11-01"), "raw/spotify/top_tracks/dt=2026-11-01/"},
		{"CuratedPrefix", lake.CuratedPrefix("artists", "2026-11-01"), "curated/artists/dt=2026-11-01/"},
		{"PartKey", lake.PartKey(lake.CuratedPrefix("tracks", "2026-11-01"), 12), "curated/tracks/dt=2026-11-01/part-00012.parquet"},
		{"QuarantineKey", lake.QuarantineKey("albums", "2026-11-01", 3), "quarantine/albums/dt=2026-11-01/batch=00003.jsonl.gz"},
		{"QuarantinePrefix", lake.QuarantinePrefix("albums", "2026-11-01"), "quarantine/albums/dt=2026-11-01/"},
		{"MartPrefix", lake.MartPrefix("artist_daily", "2026-11-01"), "marts/artist_daily/dt=2026-11-01/"},
		{"ManifestKey", lake.ManifestKey("2026-11-01"), "manifests/dt=2026-11-01/pipeline.json"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseBatchKey(t *testing.T) {
	tests := []struct {
		key     string
		want    int
		wantErr bool
	}{
		{lake.RawKey("artists", "2026-11-01", 42), 42, false},
		{lake.QuarantineKey("artists", "2026-11-01", 123456), 123456, false},
		{"raw/spotify/artists/dt=2026-11-01/batch=.jsonl.gz", 0, true},
		{"raw/spotify/artists/dt=2026-11-01/batch=x1.jsonl.gz", 0, true},
		{"raw/spotify/artists/dt=2026-11-01/batch=00001.json", 0, true},
		{"raw/spotify/artists/dt=2026-11-01/part-00001.parquet", 0, true},
	}
	for _, tt := range tests {
		got, err := lake.ParseBatchKey(tt.key)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseBatchKey(%q) = %d, %v; want %d, error %v", tt.key, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheckDate(t *testing.T) {
	for dt, ok := range map[string]bool{
		"2026-11-01": true, "2024-02-29": true,
		"2026-02-29": false, "2026-1-01": false, "20261101": false, "": false, "2026-11-01T00:00:00Z": false,
	} {
		if err := lake.CheckDate(dt); (err == nil) != ok {
			t.Errorf("CheckDate(%q) = %v, want ok=%v", dt, err, ok)
		}
	}
}
