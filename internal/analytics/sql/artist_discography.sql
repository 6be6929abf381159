-- artist_discography: one row per artist of the artists partition {{dt}},
-- built from albums and album tracks, the data both API modes return.
-- Development mode collects discographies incrementally (a partition may hold
-- only new releases), so every release known up to the day counts, each at its
-- latest version. Counts are NULL, not 0, when nothing was collected for the
-- artist; popularity and followers are NULL in development mode.
WITH
current_artist AS (
  SELECT artist_id, name, popularity, followers
  FROM (
    SELECT artist_id, name, popularity, followers,
           ROW_NUMBER() OVER (PARTITION BY artist_id ORDER BY fetched_at DESC) AS pos
    FROM artists
    WHERE dt = '{{dt}}'
  ) a
  WHERE pos = 1
),
-- Release facts are keyed by release_date (real history), never by dt: dt
-- only picks the latest version of each album.
album AS (
  SELECT artist_id, album_id, album_type, release_date
  FROM (
    SELECT artist_id, album_id, album_type, release_date,
           ROW_NUMBER() OVER (PARTITION BY artist_id, album_id ORDER BY dt DESC, fetched_at DESC) AS pos
    FROM albums
    WHERE dt <= '{{dt}}'
  ) a
  WHERE pos = 1
),
-- Only tracks of the artist's albums: extended mode also writes top tracks
-- to the tracks table, which are not a discography.
track AS (
  SELECT t.artist_id, t.track_id, t.duration_ms, t.explicit
  FROM (
    SELECT artist_id, track_id, album_id, duration_ms, explicit,
           ROW_NUMBER() OVER (PARTITION BY artist_id, track_id ORDER BY dt DESC, fetched_at DESC) AS pos
    FROM tracks
    WHERE dt <= '{{dt}}'
  ) t
  JOIN album a ON a.artist_id = t.artist_id AND a.album_id = t.album_id
  WHERE t.pos = 1
),
album_stats AS (
  SELECT artist_id,
         COUNT(*) AS release_count,
         SUM(CASE WHEN album_type = 'album' THEN 1 ELSE 0 END) AS album_count,
         SUM(CASE WHEN album_type = 'single' THEN 1 ELSE 0 END) AS single_count,
         SUM(CASE WHEN album_type = 'compilation' THEN 1 ELSE 0 END) AS compilation_count,
         MIN(release_date) AS first_release_date,
         MAX(release_date) AS latest_release_date
  FROM album
  GROUP BY artist_id
),
year_type AS (
  SELECT artist_id,
         CAST(EXTRACT(YEAR FROM release_date) AS INTEGER) AS release_year,
         album_type,
         COUNT(*) AS releases
  FROM album
  WHERE release_date IS NOT NULL
  GROUP BY artist_id, CAST(EXTRACT(YEAR FROM release_date) AS INTEGER), album_type
),
releases_by_year AS (
  SELECT artist_id,
         ARRAY_AGG(
           CAST(ROW(release_year, album_type, releases) AS ROW(release_year INTEGER, album_type VARCHAR, releases BIGINT))
           ORDER BY release_year, album_type
         ) AS releases_by_year
  FROM year_type
  GROUP BY artist_id
),
track_stats AS (
  SELECT artist_id,
         COUNT(*) AS track_count,
         AVG(CAST(duration_ms AS DOUBLE)) AS mean_track_duration_ms,
         AVG(CASE WHEN explicit THEN 1.0 ELSE 0.0 END) AS explicit_share
  FROM track
  GROUP BY artist_id
)
SELECT
  c.artist_id,
  c.name,
  c.popularity,
  c.followers,
  a.release_count,
  CAST(a.album_count AS BIGINT) AS album_count,
  CAST(a.single_count AS BIGINT) AS single_count,
  CAST(a.compilation_count AS BIGINT) AS compilation_count,
  a.first_release_date,
  a.latest_release_date,
  y.releases_by_year,
  t.track_count,
  t.mean_track_duration_ms,
  CAST(t.explicit_share AS DOUBLE) AS explicit_share
FROM current_artist c
LEFT JOIN album_stats a ON a.artist_id = c.artist_id
LEFT JOIN releases_by_year y ON y.artist_id = c.artist_id
LEFT JOIN track_stats t ON t.artist_id = c.artist_id
ORDER BY c.artist_id
