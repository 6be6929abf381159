// Package tables defines the curated tables of the lake: one Go struct per
// table whose parquet tags are the table's schema. The same schema serves both
// Spotify API modes; a field the mode does not return is a nil pointer, which
// is written as a Parquet NULL, never as zero. The logical date is not a
// column of the files: it is the dt= partition of their key (Hive style), so
// DuckDB and Athena read it from the path.
package tables

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
	ArtistID   string   `parquet:"artist_id" json:"artist_id"`
	Name       string   `parquet:"name" json:"name"`
	Genres     []string `parquet:"genres,list" json:"genres"`
	Popularity *int32   `parquet:"popularity,optional" json:"popularity"`
	Followers  *int64   `parquet:"followers,optional" json:"followers"`
	ImageURL   *string  `parquet:"image_url,optional" json:"image_url"`
	SpotifyURL *string  `parquet:"spotify_url,optional" json:"spotify_url"`
	FetchedAt  string   `parquet:"fetched_at" json:"fetched_at"` // RFC 3339, UTC
}

// Album is one row of the albums table.
type Album struct {
	AlbumID              string   `parquet:"album_id" json:"album_id"`
	ArtistID             string   `parquet:"artist_id" json:"artist_id"` // the tracked artist it was collected for
	Name                 string   `parquet:"name" json:"name"`
	AlbumType            string   `parquet:"album_type" json:"album_type"`
	ReleaseDate          string   `parquet:"release_date" json:"release_date"`                     // ISO date, first day of the period when imprecise
	ReleaseDatePrecision string   `parquet:"release_date_precision" json:"release_date_precision"` // year, month or day
	TotalTracks          int32    `parquet:"total_tracks" json:"total_tracks"`
	Label                *string  `parquet:"label,optional" json:"label"`
	Popularity           *int32   `parquet:"popularity,optional" json:"popularity"`
	AvailableMarkets     []string `parquet:"available_markets,list,optional" json:"available_markets"`
	FetchedAt            string   `parquet:"fetched_at" json:"fetched_at"`
}

// Track is one row of the tracks table.
type Track struct {
	TrackID          string   `parquet:"track_id" json:"track_id"`
	Name             string   `parquet:"name" json:"name"`
	ArtistID         string   `parquet:"artist_id" json:"artist_id"` // the tracked artist it was collected for
	AlbumID          string   `parquet:"album_id" json:"album_id"`
	AlbumName        *string  `parquet:"album_name,optional" json:"album_name"`
	DurationMS       int32    `parquet:"duration_ms" json:"duration_ms"`
	Explicit         bool     `parquet:"explicit" json:"explicit"`
	TrackNumber      int32    `parquet:"track_number" json:"track_number"`
	DiscNumber       int32    `parquet:"disc_number" json:"disc_number"`
	Popularity       *int32   `parquet:"popularity,optional" json:"popularity"`
	AvailableMarkets []string `parquet:"available_markets,list,optional" json:"available_markets"`
	FetchedAt        string   `parquet:"fetched_at" json:"fetched_at"`
}

// ArtistTopTrack is one row of the artist_top_tracks table.
type ArtistTopTrack struct {
	ArtistID string `parquet:"artist_id" json:"artist_id"`
	Market   string `parquet:"market" json:"market"`
	Rank     int32  `parquet:"rank" json:"rank"` // 1-based
	TrackID  string `parquet:"track_id" json:"track_id"`
}

// AudioFeature is one row of the audio_features table.
type AudioFeature struct {
	TrackID          string  `parquet:"track_id" json:"track_id"`
	Danceability     float64 `parquet:"danceability" json:"danceability"`
	Energy           float64 `parquet:"energy" json:"energy"`
	Key              int32   `parquet:"key" json:"key"`
	Loudness         float64 `parquet:"loudness" json:"loudness"`
	Mode             int32   `parquet:"mode" json:"mode"`
	Speechiness      float64 `parquet:"speechiness" json:"speechiness"`
	Acousticness     float64 `parquet:"acousticness" json:"acousticness"`
	Instrumentalness float64 `parquet:"instrumentalness" json:"instrumentalness"`
	Liveness         float64 `parquet:"liveness" json:"liveness"`
	Valence          float64 `parquet:"valence" json:"valence"`
	Tempo            float64 `parquet:"tempo" json:"tempo"`
	DurationMS       int32   `parquet:"duration_ms" json:"duration_ms"`
	TimeSignature    int32   `parquet:"time_signature" json:"time_signature"`
}
