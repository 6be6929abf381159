package analytics

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// partition is the curated data of one dt. Rows of a field are written as
// part-00000; extraArtists as part-00001 of artists (duplicates that the
// marts must de-duplicate).
type partition struct {
	artists      []tables.Artist
	extraArtists []tables.Artist
	albums       []tables.Album
	tracks       []tables.Track
	topTracks    []tables.ArtistTopTrack
	features     []tables.AudioFeature
}

// dataset maps dt to its curated partition.
type dataset map[string]*partition

func (ds dataset) dates() []string {
	var dts []string
	for dt := range ds {
		dts = append(dts, dt)
	}
	sort.Strings(dts)
	return dts
}

// writeLake writes ds in the Hive layout of the lake under root. A table
// without rows in a partition gets no file there.
func writeLake(tb testing.TB, root string, ds dataset) {
	tb.Helper()
	for dt, p := range ds {
		writePart(tb, root, tables.Artists, dt, 0, p.artists)
		writePart(tb, root, tables.Artists, dt, 1, p.extraArtists)
		writePart(tb, root, tables.Albums, dt, 0, p.albums)
		writePart(tb, root, tables.Tracks, dt, 0, p.tracks)
		writePart(tb, root, tables.ArtistTopTracks, dt, 0, p.topTracks)
		writePart(tb, root, tables.AudioFeatures, dt, 0, p.features)
	}
}

func writePart[T any](tb testing.TB, root, table, dt string, part int, rows []T) {
	tb.Helper()
	if len(rows) == 0 {
		return
	}
	// The lake's own writer, so the files are what the clean stage writes.
	store, err := lake.Open(context.Background(), "file://"+root)
	if err != nil {
		tb.Fatal(err)
	}
	key := lake.PartKey(lake.CuratedPrefix(table, dt), part)
	if err := lake.WriteParquet(context.Background(), store, key, rows); err != nil {
		tb.Fatalf("write %s dt=%s: %v", table, dt, err)
	}
}

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }

// The reference implementations below compute each mart in plain Go from the
// dataset, independently of the SQL, as rows of column → value with int64 for
// integers, float64, string, []any for lists and nil for NULL.

// currentArtists returns the artists of dt, the latest fetched row of each.
func currentArtists(ds dataset, dt string) map[string]tables.Artist {
	out := map[string]tables.Artist{}
	p := ds[dt]
	if p == nil {
		return out
	}
	for _, a := range append(append([]tables.Artist{}, p.artists...), p.extraArtists...) {
		if old, ok := out[a.ArtistID]; !ok || a.FetchedAt.After(old.FetchedAt) {
			out[a.ArtistID] = a
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func uniqueGenres(a tables.Artist) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range a.Genres {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

func optInt32(p *int32) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

func optInt64(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func stringList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// featureNames are the audio features the marts average, in SQL order.
var featureNames = []string{"danceability", "energy", "loudness", "speechiness", "acousticness",
	"instrumentalness", "liveness", "valence", "tempo"}

func featureVector(f tables.AudioFeature) []float64 {
	return []float64{f.Danceability, f.Energy, f.Loudness, f.Speechiness, f.Acousticness,
		f.Instrumentalness, f.Liveness, f.Valence, f.Tempo}
}

// latestFeatures returns, per track, its audio features from the latest dt up to dt.
func latestFeatures(ds dataset, dt string) map[string]tables.AudioFeature {
	out := map[string]tables.AudioFeature{}
	for _, d := range ds.dates() {
		if d > dt {
			break
		}
		for _, f := range ds[d].features {
			out[f.TrackID] = f
		}
	}
	return out
}

// topTracksOf returns the distinct top tracks of each artist on dt.
func topTracksOf(ds dataset, dt string) map[string][]string {
	out := map[string][]string{}
	seen := map[[2]string]bool{}
	if ds[dt] == nil {
		return out
	}
	for _, t := range ds[dt].topTracks {
		k := [2]string{t.ArtistID, t.TrackID}
		if !seen[k] {
			seen[k] = true
			out[t.ArtistID] = append(out[t.ArtistID], t.TrackID)
		}
	}
	return out
}

// artistFeatureMeans returns the mean audio features of each artist of
// current over its top tracks of dt that have features.
func artistFeatureMeans(ds dataset, dt string, current map[string]tables.Artist) map[string][]float64 {
	features := latestFeatures(ds, dt)
	out := map[string][]float64{}
	for artist, tracks := range topTracksOf(ds, dt) {
		if _, ok := current[artist]; !ok {
			continue
		}
		sum := make([]float64, len(featureNames))
		n := 0
		for _, id := range tracks {
			f, ok := features[id]
			if !ok {
				continue
			}
			for i, v := range featureVector(f) {
				sum[i] += v
			}
			n++
		}
		if n == 0 {
			continue
		}
		for i := range sum {
			sum[i] /= float64(n)
		}
		out[artist] = sum
	}
	return out
}

func refArtistDaily(ds dataset, dt string) []map[string]any {
	current := currentArtists(ds, dt)
	top := topTracksOf(ds, dt)
	features := latestFeatures(ds, dt)
	trackPopularity := map[string]*int32{}
	for _, t := range ds[dt].tracks {
		if t.Popularity != nil && (trackPopularity[t.TrackID] == nil || *t.Popularity > *trackPopularity[t.TrackID]) {
			trackPopularity[t.TrackID] = t.Popularity
		} else if _, ok := trackPopularity[t.TrackID]; !ok {
			trackPopularity[t.TrackID] = nil
		}
	}
	dates := ds.dates()

	var rows []map[string]any
	for _, id := range sortedKeys(current) {
		a := current[id]
		row := map[string]any{
			"artist_id": a.ArtistID, "name": a.Name, "genres": stringList(a.Genres),
			"popularity": optInt32(a.Popularity), "followers": optInt64(a.Followers),
			"late_capture": a.LateCapture, "previous_dt": nil, "previous_popularity": nil, "previous_followers": nil,
			"popularity_change": nil, "followers_change": nil,
			"top_track_count": nil, "mean_track_popularity": nil, "audio_feature_tracks": nil,
		}
		for _, f := range featureNames {
			row["mean_"+f] = nil
		}
		for i := len(dates) - 1; i >= 0; i-- {
			if dates[i] >= dt {
				continue
			}
			prev, ok := currentArtists(ds, dates[i])[id]
			if !ok {
				continue
			}
			if a.LateCapture || prev.LateCapture {
				break // no comparison across a late capture
			}
			row["previous_dt"] = dates[i]
			row["previous_popularity"] = optInt32(prev.Popularity)
			row["previous_followers"] = optInt64(prev.Followers)
			if a.Popularity != nil && prev.Popularity != nil {
				row["popularity_change"] = int64(*a.Popularity - *prev.Popularity)
			}
			if a.Followers != nil && prev.Followers != nil {
				row["followers_change"] = *a.Followers - *prev.Followers
			}
			break
		}
		if tracks := top[id]; len(tracks) > 0 {
			row["top_track_count"] = int64(len(tracks))
			var popSum float64
			var popN int
			sum := make([]float64, len(featureNames))
			var n int
			for _, t := range tracks {
				if p := trackPopularity[t]; p != nil {
					popSum += float64(*p)
					popN++
				}
				if f, ok := features[t]; ok {
					for i, v := range featureVector(f) {
						sum[i] += v
					}
					n++
				}
			}
			if popN > 0 {
				row["mean_track_popularity"] = popSum / float64(popN)
			}
			if n > 0 {
				row["audio_feature_tracks"] = int64(n)
				for i, f := range featureNames {
					row["mean_"+f] = sum[i] / float64(n)
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// morePopular orders artists as the marts rank them: popularity then
// followers, both descending with NULL last. decided is false on a tie, which
// the caller breaks.
func morePopular(a, b tables.Artist) (less bool, decided bool) {
	if c := cmpDescNullLast(ptrFloat32(a.Popularity), ptrFloat32(b.Popularity)); c != 0 {
		return c < 0, true
	}
	if c := cmpDescNullLast(ptrFloat64(a.Followers), ptrFloat64(b.Followers)); c != 0 {
		return c < 0, true
	}
	return false, false
}

func ptrFloat32(p *int32) *float64 {
	if p == nil {
		return nil
	}
	v := float64(*p)
	return &v
}

func ptrFloat64(p *int64) *float64 {
	if p == nil {
		return nil
	}
	v := float64(*p)
	return &v
}

func cmpDescNullLast(a, b *float64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	case *a > *b:
		return -1
	case *a < *b:
		return 1
	}
	return 0
}

func refGenreDaily(ds dataset, dt string) []map[string]any {
	current := currentArtists(ds, dt)
	members := map[string][]tables.Artist{}
	for _, id := range sortedKeys(current) {
		for _, g := range uniqueGenres(current[id]) {
			members[g] = append(members[g], current[id])
		}
	}
	var rows []map[string]any
	for _, g := range sortedKeys(members) {
		m := members[g]
		row := map[string]any{"genre": g, "artists": int64(len(m)), "mean_popularity": nil, "total_followers": nil}
		var popSum float64
		var popN int
		var followers int64
		var followersN int
		for _, a := range m {
			if a.Popularity != nil {
				popSum += float64(*a.Popularity)
				popN++
			}
			if a.Followers != nil {
				followers += *a.Followers
				followersN++
			}
		}
		if popN > 0 {
			row["mean_popularity"] = popSum / float64(popN)
		}
		if followersN > 0 {
			row["total_followers"] = followers
		}
		sort.SliceStable(m, func(i, j int) bool {
			if less, ok := morePopular(m[i], m[j]); ok {
				return less
			}
			if m[i].Name != m[j].Name {
				return m[i].Name < m[j].Name
			}
			return m[i].ArtistID < m[j].ArtistID
		})
		var names, ids []any
		for _, a := range m[:min(3, len(m))] {
			names = append(names, a.Name)
			ids = append(ids, a.ArtistID)
		}
		row["top_artists"], row["top_artist_ids"] = names, ids
		rows = append(rows, row)
	}
	return rows
}

func refDiscography(ds dataset, dt string) []map[string]any {
	current := currentArtists(ds, dt)
	// Latest version up to dt of each (artist, album) and (artist, track):
	// the latest dt, then the latest fetch.
	type version struct {
		dt        string
		fetchedAt time.Time
	}
	newer := func(v, old version, ok bool) bool {
		return !ok || v.dt > old.dt || v.dt == old.dt && v.fetchedAt.After(old.fetchedAt)
	}
	albums := map[[2]string]tables.Album{}
	albumVersion := map[[2]string]version{}
	tracks := map[[2]string]tables.Track{}
	trackVersion := map[[2]string]version{}
	for _, d := range ds.dates() {
		if d > dt {
			break
		}
		for _, a := range ds[d].albums {
			k, v := [2]string{a.ArtistID, a.AlbumID}, version{d, a.FetchedAt}
			if old, ok := albumVersion[k]; newer(v, old, ok) {
				albums[k], albumVersion[k] = a, v
			}
		}
		for _, t := range ds[d].tracks {
			k, v := [2]string{t.ArtistID, t.TrackID}, version{d, t.FetchedAt}
			if old, ok := trackVersion[k]; newer(v, old, ok) {
				tracks[k], trackVersion[k] = t, v
			}
		}
	}

	var rows []map[string]any
	for _, id := range sortedKeys(current) {
		a := current[id]
		row := map[string]any{
			"artist_id": a.ArtistID, "name": a.Name,
			"popularity": optInt32(a.Popularity), "followers": optInt64(a.Followers),
			"release_count": nil, "album_count": nil, "single_count": nil, "compilation_count": nil,
			"first_release_date": nil, "latest_release_date": nil, "releases_by_year": nil,
			"track_count": nil, "mean_track_duration_ms": nil, "explicit_share": nil,
		}
		var n, albumN, singleN, compilationN int64
		var first, latest string
		byYearType := map[string]int64{}
		for k, al := range albums {
			if k[0] != id {
				continue
			}
			n++
			switch al.AlbumType {
			case "album":
				albumN++
			case "single":
				singleN++
			case "compilation":
				compilationN++
			}
			released := al.ReleaseDate.String()
			if first == "" || released < first {
				first = released
			}
			if released > latest {
				latest = released
			}
			byYearType[released[:4]+"|"+al.AlbumType]++
		}
		if n > 0 {
			row["release_count"], row["album_count"], row["single_count"], row["compilation_count"] = n, albumN, singleN, compilationN
			row["first_release_date"], row["latest_release_date"] = first, latest
			var byYear []any
			for _, k := range sortedKeys(byYearType) {
				var year int64
				fmt.Sscan(k[:4], &year)
				byYear = append(byYear, map[string]any{"release_year": year, "album_type": k[5:], "releases": byYearType[k]})
			}
			row["releases_by_year"] = byYear
		}
		var trackN, explicitN int64
		var duration float64
		for k, t := range tracks {
			if k[0] != id {
				continue
			}
			if _, ok := albums[[2]string{id, t.AlbumID}]; !ok {
				continue
			}
			trackN++
			duration += float64(t.DurationMS)
			if t.Explicit {
				explicitN++
			}
		}
		if trackN > 0 {
			row["track_count"] = trackN
			row["mean_track_duration_ms"] = duration / float64(trackN)
			row["explicit_share"] = float64(explicitN) / float64(trackN)
		}
		rows = append(rows, row)
	}
	return rows
}

// refSimilarity computes artist_similarity: blocks of nearly equal size per
// genre in popularity order, then audio-feature or genre similarity blended
// with popularity, top 10 per artist.
func refSimilarity(ds dataset, dt string, blockSize int) []map[string]any {
	current := currentArtists(ds, dt)
	genres := map[string]map[string]bool{}
	members := map[string][]tables.Artist{}
	for _, id := range sortedKeys(current) {
		genres[id] = map[string]bool{}
		for _, g := range uniqueGenres(current[id]) {
			genres[id][g] = true
			members[g] = append(members[g], current[id])
		}
	}

	means := artistFeatureMeans(ds, dt, current)
	z := standardize(means)

	candidates := map[string]map[string]bool{}
	for _, g := range sortedKeys(members) {
		m := members[g]
		sort.SliceStable(m, func(i, j int) bool {
			if less, ok := morePopular(m[i], m[j]); ok {
				return less
			}
			return m[i].ArtistID < m[j].ArtistID
		})
		n := float64(len(m))
		blocks := map[int64][]string{}
		for pos, a := range m {
			b := int64(math.Floor(float64(pos) * math.Ceil(n/float64(blockSize)) / n))
			blocks[b] = append(blocks[b], a.ArtistID)
		}
		for _, block := range blocks {
			for _, x := range block {
				for _, y := range block {
					if x == y {
						continue
					}
					if candidates[x] == nil {
						candidates[x] = map[string]bool{}
					}
					candidates[x][y] = true
				}
			}
		}
	}

	type scored struct {
		other, basis string
		score        float64
		shared       int64
	}
	var rows []map[string]any
	for _, id := range sortedKeys(candidates) {
		var list []scored
		for other := range candidates[id] {
			var shared int64
			for g := range genres[id] {
				if genres[other][g] {
					shared++
				}
			}
			s := scored{other: other, shared: shared, basis: "genres"}
			zx, okx := z[id]
			zy, oky := z[other]
			if okx && oky {
				var sum float64
				for i := range zx {
					sum += (zx[i] - zy[i]) * (zx[i] - zy[i])
				}
				s.basis = "audio_features"
				s.score = 1 / (1 + math.Sqrt(sum/9))
			} else {
				s.score = float64(shared) / float64(int64(len(genres[id]))+int64(len(genres[other]))-shared)
			}
			if px, py := current[id].Popularity, current[other].Popularity; px != nil && py != nil {
				s.score = 0.8*s.score + 0.2*(1-math.Abs(float64(*px-*py))/100)
			}
			list = append(list, s)
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].score != list[j].score {
				return list[i].score > list[j].score
			}
			return list[i].other < list[j].other
		})
		for rank, s := range list[:min(SimilarTop, len(list))] {
			rows = append(rows, map[string]any{
				"artist_id": id, "name": current[id].Name, "rank": int64(rank + 1),
				"similar_artist_id": s.other, "similar_name": current[s.other].Name,
				"score": s.score, "basis": s.basis, "shared_genres": s.shared,
			})
		}
	}
	return rows
}

// standardize returns z-scores per feature over all artists (population
// standard deviation by Welford's method, as DuckDB's STDDEV_POP); a
// feature without spread scores 0.
func standardize(means map[string][]float64) map[string][]float64 {
	ids := sortedKeys(means)
	mean := make([]float64, len(featureNames))
	sd := make([]float64, len(featureNames))
	for k := range featureNames {
		var m, m2 float64
		for n, id := range ids {
			x := means[id][k]
			delta := x - m
			m += delta / float64(n+1)
			m2 += delta * (x - m)
		}
		mean[k] = m
		if len(ids) > 0 {
			sd[k] = math.Sqrt(m2 / float64(len(ids)))
		}
	}
	z := map[string][]float64{}
	for _, id := range ids {
		v := make([]float64, len(featureNames))
		for k := range v {
			if sd[k] != 0 {
				v[k] = (means[id][k] - mean[k]) / sd[k]
			}
		}
		z[id] = v
	}
	return z
}
