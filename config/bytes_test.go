package config

import "testing"

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "", want: 0},
		{in: "256MiB", want: 256 << 20},
		{in: "512MB", want: 512e6},
		{in: "1.5GiB", want: 3 << 29},
		{in: " 64 KiB ", want: 64 << 10},
		{in: "100B", want: 100},
		{in: "256", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "-1GB", wantErr: true},
		{in: "0MB", wantErr: true},
		{in: "lots", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBytes(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseBytes(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
