// Package tables defines the curated tables of the lake: one Go struct per
// table whose parquet tags are the table's schema. The same schema serves both
// Spotify API modes; a field the mode does not return is a nil pointer, which
// is written as a Parquet NULL, never as zero. The logical date is not a
// column of the files: it is the dt= partition of their key (Hive style), so
// DuckDB and Athena read it from the path.
//
// The files are written for every engine (see lake.PartitionWriter): capture
// times are TIMESTAMP (microseconds, adjusted to UTC), release dates DATE,
// never text, so that they order and compare as instants and days.
//
// Every row carries its capture: fetched_at is the fetch time of the raw
// record it came from, and late_capture says that the raw data of the date
// was captured after the date's window (starter run --capture-now), i.e.
// present-day values labelled with the date.
package tables

import (
	"fmt"
	"time"
)

// Date is a calendar day, stored as a Parquet DATE: days since 1970-01-01.
// It is not a time.Time because parquet-go (v0.32) writes a time.Time into a
// DATE column as its Unix nanoseconds cut to 32 bits.
type Date int32

const secondsPerDay = 24 * 60 * 60

// DateOf is the day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	// Midnight UTC is a whole number of days from the epoch, before it too.
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay)
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q: %w", s, err)
	}
	return DateOf(t), nil
}

// Time is midnight UTC of the day.
func (d Date) Time() time.Time { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }

// String is the day as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format(time.DateOnly) }

// MarshalText writes the day as YYYY-MM-DD (in JSON too).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Names of the curated tables, as they appear in lake keys
// (curated/<table>/dt=YYYY-MM-DD/part-NNNNN.parquet) and in SQL.
const (
	Artists         = "artists"
	Albums          = "albums"
	Tracks          = "tracks"
	ArtistTopTracks = "artist_top_tracks"
	AudioFeatures   = "audio_features"
)

// All lists every curated table in the order the clean stage writes them.
var All = []string{Artists, Albums, Tracks, ArtistTopTracks, AudioFeatures}

// Artist is one row of the artists table.
type Artist struct {
	ArtistID    string    `parquet:"artist_id" json:"artist_id"`
	Name        string    `parquet:"name" json:"name"`
	Genres      []string  `parquet:"genres,list,optional" json:"genres"` // NULL when Spotify served none (development mode), [] when it served an empty list
	Popularity  *int32    `parquet:"popularity,optional" json:"popularity"`
	Followers   *int64    `parquet:"followers,optional" json:"followers"`
	ImageURL    *string   `parquet:"image_url,optional" json:"image_url"`
	SpotifyURL  *string   `parquet:"spotify_url,optional" json:"spotify_url"`
	FetchedAt   time.Time `parquet:"fetched_at,timestamp(microsecond)" json:"fetched_at"`
	LateCapture bool      `parquet:"late_capture" json:"late_capture"`
}

// Album is one row of the albums table.
type Album struct {
	AlbumID              string    `parquet:"album_id" json:"album_id"`
	ArtistID             string    `parquet:"artist_id" json:"artist_id"` // the tracked artist it was collected for
	Name                 string    `parquet:"name" json:"name"`
	AlbumType            string    `parquet:"album_type" json:"album_type"`
	ReleaseDate          Date      `parquet:"release_date,date" json:"release_date"`                // first day of the period when imprecise (a year-only date is January 1)
	ReleaseDatePrecision string    `parquet:"release_date_precision" json:"release_date_precision"` // year, month or day
	TotalTracks          int32     `parquet:"total_tracks" json:"total_tracks"`
	Label                *string   `parquet:"label,optional" json:"label"`
	Popularity           *int32    `parquet:"popularity,optional" json:"popularity"`
	AvailableMarkets     []string  `parquet:"available_markets,list,optional" json:"available_markets"`
	FetchedAt            time.Time `parquet:"fetched_at,timestamp(microsecond)" json:"fetched_at"`
	LateCapture          bool      `parquet:"late_capture" json:"late_capture"`
}

// Track is one row of the tracks table.
type Track struct {
	TrackID          string    `parquet:"track_id" json:"track_id"`
	Name             string    `parquet:"name" json:"name"`
	ArtistID         string    `parquet:"artist_id" json:"artist_id"` // the tracked artist it was collected for
	AlbumID          string    `parquet:"album_id" json:"album_id"`
	AlbumName        *string   `parquet:"album_name,optional" json:"album_name"`
	DurationMS       int32     `parquet:"duration_ms" json:"duration_ms"`
	Explicit         bool      `parquet:"explicit" json:"explicit"`
	TrackNumber      int32     `parquet:"track_number" json:"track_number"`
	DiscNumber       int32     `parquet:"disc_number" json:"disc_number"`
	Popularity       *int32    `parquet:"popularity,optional" json:"popularity"`
	AvailableMarkets []string  `parquet:"available_markets,list,optional" json:"available_markets"`
	FetchedAt        time.Time `parquet:"fetched_at,timestamp(microsecond)" json:"fetched_at"`
	LateCapture      bool      `parquet:"late_capture" json:"late_capture"`
}

// ArtistTopTrack is one row of the artist_top_tracks table.
type ArtistTopTrack struct {
	ArtistID string `parquet:"artist_id" json:"artist_id"`
	Market   string `parquet:"market" json:"market"`
	Rank     int32  `parquet:"rank" json:"rank"` // 1-based
	TrackID  string `parquet:"track_id" json:"track_id"`
	// FetchedAt is that of the top-tracks record the list came from.
	FetchedAt   time.Time `parquet:"fetched_at,timestamp(microsecond)" json:"fetched_at"`
	LateCapture bool      `parquet:"late_capture" json:"late_capture"`
}

// AudioFeature is one row of the audio_features table.
type AudioFeature struct {
	TrackID          string    `parquet:"track_id" json:"track_id"`
	Danceability     float64   `parquet:"danceability" json:"danceability"`
	Energy           float64   `parquet:"energy" json:"energy"`
	Key              int32     `parquet:"key" json:"key"`
	Loudness         float64   `parquet:"loudness" json:"loudness"`
	Mode             int32     `parquet:"mode" json:"mode"`
	Speechiness      float64   `parquet:"speechiness" json:"speechiness"`
	Acousticness     float64   `parquet:"acousticness" json:"acousticness"`
	Instrumentalness float64   `parquet:"instrumentalness" json:"instrumentalness"`
	Liveness         float64   `parquet:"liveness" json:"liveness"`
	Valence          float64   `parquet:"valence" json:"valence"`
	Tempo            float64   `parquet:"tempo" json:"tempo"`
	DurationMS       int32     `parquet:"duration_ms" json:"duration_ms"`
	TimeSignature    int32     `parquet:"time_signature" json:"time_signature"`
	FetchedAt        time.Time `parquet:"fetched_at,timestamp(microsecond)" json:"fetched_at"`
	LateCapture      bool      `parquet:"late_capture" json:"late_capture"`
}
