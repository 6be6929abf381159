-- artist_daily: one row per artist of the artists partition {{dt}}.
-- Change columns compare with the artist's previous available partition
-- (the latest earlier dt in which the artist appears), so a skipped day does
-- not erase the change. Columns the API mode cannot fill stay NULL.
--
-- A late capture (captured after its date's window, --capture-now) holds
-- the values of the day it was captured, not of its date: when the date's
-- row or the previous date's row is one, the previous_* and *_change
-- columns are NULL rather than a change over the wrong interval. A row
-- written before late_capture existed counts as on time.
WITH
current_artist AS (
  SELECT artist_id, name, genres, popularity, followers, late_capture
  FROM (
    SELECT artist_id, name, genres, popularity, followers,
           COALESCE(late_capture, FALSE) AS late_capture,
           ROW_NUMBER() OVER (PARTITION BY artist_id ORDER BY fetched_at DESC) AS pos
    FROM artists
    WHERE dt = '{{dt}}'
  ) a
  WHERE pos = 1
),
previous_artist AS (
  SELECT artist_id, dt, popularity, followers, late_capture
  FROM (
    SELECT artist_id, dt, popularity, followers,
           COALESCE(late_capture, FALSE) AS late_capture,
           ROW_NUMBER() OVER (PARTITION BY artist_id ORDER BY dt DESC, fetched_at DESC) AS pos
    FROM artists
    WHERE dt < '{{dt}}'
  ) p
  WHERE pos = 1
),
-- The previous row, when comparing with it is meaningful.
comparable_previous AS (
  SELECT p.artist_id, p.dt, p.popularity, p.followers
  FROM previous_artist p
  JOIN current_artist c ON c.artist_id = p.artist_id
  WHERE NOT c.late_capture AND NOT p.late_capture
),
top_track AS (
  SELECT DISTINCT artist_id, track_id
  FROM artist_top_tracks
  WHERE dt = '{{dt}}'
),
-- Popularity is a daily measure: only the partition of the day counts.
track_of_day AS (
  SELECT track_id, MAX(popularity) AS popularity
  FROM tracks
  WHERE dt = '{{dt}}'
  GROUP BY track_id
),
-- Audio features of a track never change, and a run may collect them only
-- once: take the latest row up to the day.
feature AS (
  SELECT track_id, danceability, energy, loudness, speechiness, acousticness,
         instrumentalness, liveness, valence, tempo
  FROM (
    SELECT f.*, ROW_NUMBER() OVER (PARTITION BY track_id ORDER BY dt DESC) AS pos
    FROM audio_features f
    WHERE dt <= '{{dt}}'
  ) f
  WHERE pos = 1
),
top_track_stats AS (
  SELECT t.artist_id,
         COUNT(*) AS top_track_count,
         AVG(tr.popularity) AS mean_track_popularity,
         COUNT(f.track_id) AS audio_feature_tracks,
         AVG(f.danceability) AS mean_danceability,
         AVG(f.energy) AS mean_energy,
         AVG(f.loudness) AS mean_loudness,
         AVG(f.speechiness) AS mean_speechiness,
         AVG(f.acousticness) AS mean_acousticness,
         AVG(f.instrumentalness) AS mean_instrumentalness,
         AVG(f.liveness) AS mean_liveness,
         AVG(f.valence) AS mean_valence,
         AVG(f.tempo) AS mean_tempo
  FROM top_track t
  LEFT JOIN track_of_day tr ON tr.track_id = t.track_id
  LEFT JOIN feature f ON f.track_id = t.track_id
  GROUP BY t.artist_id
)
SELECT
  c.artist_id,
  c.name,
  c.genres,
  c.popularity,
  c.followers,
  c.late_capture,
  CAST(p.dt AS DATE) AS previous_dt,
  p.popularity AS previous_popularity,
  p.followers AS previous_followers,
  c.popularity - p.popularity AS popularity_change,
  c.followers - p.followers AS followers_change,
  s.top_track_count,
  CAST(s.mean_track_popularity AS DOUBLE) AS mean_track_popularity,
  -- NULL rather than 0 when the app has no access to audio features.
  CASE WHEN s.audio_feature_tracks > 0 THEN s.audio_feature_tracks END AS audio_feature_tracks,
  s.mean_danceability,
  s.mean_energy,
  s.mean_loudness,
  s.mean_speechiness,
  s.mean_acousticness,
  s.mean_instrumentalness,
  s.mean_liveness,
  s.mean_valence,
  s.mean_tempo
FROM current_artist c
LEFT JOIN comparable_previous p ON p.artist_id = c.artist_id
LEFT JOIN top_track_stats s ON s.artist_id = c.artist_id
ORDER BY c.artist_id
