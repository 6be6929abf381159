package tables

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDate(t *testing.T) {
	for _, tc := range []struct {
		day  string
		days Date
	}{
		{"1970-01-01", 0},
		{"1970-01-02", 1},
		{"1969-12-31", -1}, // releases before 1970 exist
		{"1955-07-01", -5298},
		{"1997-05-21", 10002},
	} {
		d, err := ParseDate(tc.day)
		if err != nil || d != tc.days {
			t.Errorf("ParseDate(%s) = %d, %v; want %d", tc.day, d, err, tc.days)
		}
		if d.String() != tc.day {
			t.Errorf("Date(%d).String() = %s, want %s", d, d.String(), tc.day)
		}
		if got := d.Time(); got.Format(time.DateOnly) != tc.day || got.Location() != time.UTC || got.Hour() != 0 {
			t.Errorf("Date(%d).Time() = %v, want midnight UTC of %s", d, got, tc.day)
		}
	}
	// The day of an instant is the day in its location.
	tokyo := time.FixedZone("JST", 9*3600)
	if got := DateOf(time.Date(2026, 3, 1, 2, 0, 0, 0, tokyo)).String(); got != "2026-03-01" {
		t.Errorf("DateOf(2026-03-01T02:00+09:00) = %s", got)
	}
	b, err := json.Marshal(Album{ReleaseDate: 10002})
	if err != nil {
		t.Fatal(err)
	}
	var a Album
	if err := json.Unmarshal(b, &a); err != nil || a.ReleaseDate != 10002 {
		t.Errorf("JSON round trip of %s: %d, %v", b, a.ReleaseDate, err)
	}
	if _, err := ParseDate("1997"); err == nil {
		t.Error("ParseDate(1997) succeeded; a date has a month and day")
	}
}
