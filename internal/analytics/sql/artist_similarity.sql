-- artist_similarity: for each artist of the artists partition {{dt}}, its 10
-- most similar artists.
--
-- Candidates are blocked so the work grows linearly with the number of
-- artists rather than quadratically: two artists are compared only when they
-- share a genre and fall into the same block of that genre, a genre being cut
-- into blocks of at most {{similarity_block_size}} artists of neighbouring
-- popularity rank. Artists without genres get no candidates.
--
-- Base similarity: when both artists have mean audio features (extended mode
-- with access to audio features), 1 / (1 + RMS Euclidean distance) over
-- features standardized across the day's artists; otherwise the Jaccard
-- similarity of their genre sets. When both popularities are known the score
-- blends in popularity closeness: 0.8 * base + 0.2 * (1 - |Δpopularity| / 100).
--
-- The slice placeholder of candidate is TRUE, or a predicate on x.artist_id
-- for an engine that builds the mart in slices of artists (DuckDB, to bound
-- its memory).
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
  SELECT DISTINCT a.artist_id, g.genre
  FROM current_artist a
  CROSS JOIN UNNEST(a.genres) AS g (genre)
),
genre_count AS (
  SELECT artist_id, COUNT(*) AS genres
  FROM artist_genre
  GROUP BY artist_id
),
top_track AS (
  SELECT DISTINCT artist_id, track_id
  FROM artist_top_tracks
  WHERE dt = '{{dt}}'
),
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
artist_feature AS (
  SELECT t.artist_id,
         AVG(f.danceability) AS danceability,
         AVG(f.energy) AS energy,
         AVG(f.loudness) AS loudness,
         AVG(f.speechiness) AS speechiness,
         AVG(f.acousticness) AS acousticness,
         AVG(f.instrumentalness) AS instrumentalness,
         AVG(f.liveness) AS liveness,
         AVG(f.valence) AS valence,
         AVG(f.tempo) AS tempo
  FROM top_track t
  JOIN feature f ON f.track_id = t.track_id
  JOIN current_artist c ON c.artist_id = t.artist_id
  GROUP BY t.artist_id
),
feature_stats AS (
  SELECT AVG(danceability) AS m_danceability, STDDEV_POP(danceability) AS s_danceability,
         AVG(energy) AS m_energy, STDDEV_POP(energy) AS s_energy,
         AVG(loudness) AS m_loudness, STDDEV_POP(loudness) AS s_loudness,
         AVG(speechiness) AS m_speechiness, STDDEV_POP(speechiness) AS s_speechiness,
         AVG(acousticness) AS m_acousticness, STDDEV_POP(acousticness) AS s_acousticness,
         AVG(instrumentalness) AS m_instrumentalness, STDDEV_POP(instrumentalness) AS s_instrumentalness,
         AVG(liveness) AS m_liveness, STDDEV_POP(liveness) AS s_liveness,
         AVG(valence) AS m_valence, STDDEV_POP(valence) AS s_valence,
         AVG(tempo) AS m_tempo, STDDEV_POP(tempo) AS s_tempo
  FROM artist_feature
),
-- A feature without spread (one artist, or all equal) contributes 0.
standardized AS (
  SELECT a.artist_id,
         COALESCE((a.danceability - s.m_danceability) / NULLIF(s.s_danceability, 0), 0) AS z_danceability,
         COALESCE((a.energy - s.m_energy) / NULLIF(s.s_energy, 0), 0) AS z_energy,
         COALESCE((a.loudness - s.m_loudness) / NULLIF(s.s_loudness, 0), 0) AS z_loudness,
         COALESCE((a.speechiness - s.m_speechiness) / NULLIF(s.s_speechiness, 0), 0) AS z_speechiness,
         COALESCE((a.acousticness - s.m_acousticness) / NULLIF(s.s_acousticness, 0), 0) AS z_acousticness,
         COALESCE((a.instrumentalness - s.m_instrumentalness) / NULLIF(s.s_instrumentalness, 0), 0) AS z_instrumentalness,
         COALESCE((a.liveness - s.m_liveness) / NULLIF(s.s_liveness, 0), 0) AS z_liveness,
         COALESCE((a.valence - s.m_valence) / NULLIF(s.s_valence, 0), 0) AS z_valence,
         COALESCE((a.tempo - s.m_tempo) / NULLIF(s.s_tempo, 0), 0) AS z_tempo
  FROM artist_feature a
  CROSS JOIN feature_stats s
),
-- Blocks of nearly equal size (they differ by at most one artist), so no
-- artist is left alone in a small last block.
genre_member AS (
  SELECT g.artist_id, g.genre,
         ROW_NUMBER() OVER (
           PARTITION BY g.genre
           ORDER BY a.popularity DESC NULLS LAST, a.followers DESC NULLS LAST, g.artist_id
         ) AS pos,
         COUNT(*) OVER (PARTITION BY g.genre) AS members
  FROM artist_genre g
  JOIN current_artist a ON a.artist_id = g.artist_id
),
genre_block AS (
  SELECT artist_id, genre,
         CAST(FLOOR(CAST(pos - 1 AS DOUBLE) * CEILING(CAST(members AS DOUBLE) / {{similarity_block_size}}) / members) AS BIGINT) AS block
  FROM genre_member
),
candidate AS (
  SELECT DISTINCT x.artist_id, y.artist_id AS other_id
  FROM genre_block x
  JOIN genre_block y ON y.genre = x.genre AND y.block = x.block AND y.artist_id <> x.artist_id
  WHERE {{similarity_slice}}
),
shared AS (
  SELECT c.artist_id, c.other_id, COUNT(*) AS shared_genres
  FROM candidate c
  JOIN artist_genre gx ON gx.artist_id = c.artist_id
  JOIN artist_genre gy ON gy.artist_id = c.other_id AND gy.genre = gx.genre
  GROUP BY c.artist_id, c.other_id
),
-- Everything base needs of one artist, in one row: two joins per pair
-- instead of six keep the engine's hash tables few.
profile AS (
  SELECT a.artist_id, a.popularity, n.genres,
         z.artist_id IS NOT NULL AS has_features,
         z.z_danceability,
         z.z_energy,
         z.z_loudness,
         z.z_speechiness,
         z.z_acousticness,
         z.z_instrumentalness,
         z.z_liveness,
         z.z_valence,
         z.z_tempo
  FROM current_artist a
  JOIN genre_count n ON n.artist_id = a.artist_id
  LEFT JOIN standardized z ON z.artist_id = a.artist_id
),
base AS (
  SELECT s.artist_id, s.other_id, s.shared_genres,
         CASE
           WHEN px.has_features AND py.has_features THEN 'audio_features'
           ELSE 'genres'
         END AS basis,
         CASE
           WHEN px.has_features AND py.has_features THEN
             1 / (1 + SQRT((
                 POWER(px.z_danceability - py.z_danceability, 2)
               + POWER(px.z_energy - py.z_energy, 2)
               + POWER(px.z_loudness - py.z_loudness, 2)
               + POWER(px.z_speechiness - py.z_speechiness, 2)
               + POWER(px.z_acousticness - py.z_acousticness, 2)
               + POWER(px.z_instrumentalness - py.z_instrumentalness, 2)
               + POWER(px.z_liveness - py.z_liveness, 2)
               + POWER(px.z_valence - py.z_valence, 2)
               + POWER(px.z_tempo - py.z_tempo, 2)
             ) / 9))
           ELSE CAST(s.shared_genres AS DOUBLE) / (px.genres + py.genres - s.shared_genres)
         END AS similarity,
         px.popularity AS popularity,
         py.popularity AS other_popularity
  FROM shared s
  JOIN profile px ON px.artist_id = s.artist_id
  JOIN profile py ON py.artist_id = s.other_id
),
scored AS (
  SELECT artist_id, other_id, shared_genres, basis,
         CAST(
           CASE
             WHEN popularity IS NOT NULL AND other_popularity IS NOT NULL THEN
               0.8 * similarity + 0.2 * (1 - CAST(ABS(popularity - other_popularity) AS DOUBLE) / 100)
             ELSE similarity
           END AS DOUBLE) AS score
  FROM base
),
ranked AS (
  SELECT artist_id, other_id, shared_genres, basis, score,
         ROW_NUMBER() OVER (PARTITION BY artist_id ORDER BY score DESC, other_id) AS rank
  FROM scored
)
SELECT
  r.artist_id,
  a.name,
  CAST(r.rank AS INTEGER) AS rank,
  r.other_id AS similar_artist_id,
  o.name AS similar_name,
  r.score,
  r.basis,
  r.shared_genres
FROM ranked r
JOIN current_artist a ON a.artist_id = r.artist_id
JOIN current_artist o ON o.artist_id = r.other_id
WHERE r.rank <= 10
ORDER BY r.artist_id, r.rank
