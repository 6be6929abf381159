-- genre_daily: one row per genre of the artists partition {{dt}}. In
-- development mode popularity and followers are NULL, so are their aggregates,
-- and the top artists fall back to name order.
WITH
current_artist AS (
  SELECT artist_id, name, genres, popularity, followers
  FROM (
    SELECT artist_id, name, genres, popularity, followers,
           ROW_NUMBER() OVER (PARTITION BY artist_id ORDER BY fetched_at DESC) AS pos
    FROM artists
    WHERE dt = '{{dt}}'
  ) a
  WHERE pos = 1
),
artist_genre AS (
  SELECT DISTINCT a.artist_id, a.name, a.popularity, a.followers, g.genre
  FROM current_artist a
  CROSS JOIN UNNEST(a.genres) AS g (genre)
),
ranked AS (
  SELECT genre, artist_id, name,
         ROW_NUMBER() OVER (
           PARTITION BY genre
           ORDER BY popularity DESC NULLS LAST, followers DESC NULLS LAST, name, artist_id
         ) AS pos
  FROM artist_genre
),
top_artist AS (
  SELECT genre,
         ARRAY_AGG(name ORDER BY pos) AS top_artists,
         ARRAY_AGG(artist_id ORDER BY pos) AS top_artist_ids
  FROM ranked
  WHERE pos <= 3
  GROUP BY genre
),
genre_stats AS (
  SELECT genre,
         COUNT(*) AS artists,
         AVG(popularity) AS mean_popularity,
         SUM(followers) AS total_followers
  FROM artist_genre
  GROUP BY genre
)
SELECT
  s.genre,
  s.artists,
  CAST(s.mean_popularity AS DOUBLE) AS mean_popularity,
  CAST(s.total_followers AS BIGINT) AS total_followers,
  t.top_artists,
  t.top_artist_ids
FROM genre_stats s
JOIN top_artist t ON t.genre = s.genre
ORDER BY s.genre
