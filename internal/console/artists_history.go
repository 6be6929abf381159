package console

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
)

// An artist's history is "every date in the lake": the dates with a run
// manifest. The lake's curated artists partitions are the truth; the
// serving store's History holds the same values (the store stage writes a
// SNAP#<dt> item from the curated row, on every run of every date), read
// with one query instead of a scan of every partition. So the page reads
// History and asks the lake, through SQL, only for the dates History does
// not hold: dates processed before the serving store existed or against
// another one, or dates the artist was not tracked on, which then stay
// gaps. The answer is cached by those dates' manifests.

// artistDay is what the lake holds of an artist on one date.
type artistDay struct {
	Name       string
	Popularity *int
	Followers  *int64
}

// artistHistory is an artist's values by date, and what the page says
// about where they came from.
type artistHistory struct {
	days map[string]artistDay
	// fromLake is how many dates were read from the lake, not the store.
	fromLake int
	// unread are the dates neither the store holds nor the lake could be
	// asked about (a remote lake): gaps whether or not the artist has a
	// value.
	unread []string
}

// history reads the values of artist id over dates: History of the
// serving store, then the lake for the dates it lacks.
func (c *Console) history(ctx context.Context, id string, dates []string) (artistHistory, error) {
	h := artistHistory{days: map[string]artistDay{}}
	if c.o.Serving != nil {
		snaps, err := c.o.Serving.History(ctx, id)
		if err != nil {
			return h, err
		}
		h.days = snapshotDays(snaps)
	}
	var missing []string
	for _, d := range dates {
		if _, ok := h.days[d]; !ok {
			missing = append(missing, d)
		}
	}
	if len(missing) == 0 {
		return h, nil
	}
	root, local := c.o.Lake.LocalDir()
	if c.o.Query == nil || !local {
		h.unread = missing
		return h, nil
	}
	// The lake's answer holds while the dates' manifests do.
	stamps := make([]string, len(missing))
	for i, d := range missing {
		m, err := c.manifest(ctx, d)
		if err != nil {
			return h, err
		}
		stamps[i] = d + "\x00" + manifestStamp(m)
	}
	fromLake, err := c.lakeHistory.get(id+"\x00"+strings.Join(stamps, "\x00"), func() (map[string]artistDay, error) {
		return queryArtistDays(ctx, c.o.Query, root, id, missing)
	})
	if err != nil {
		return h, err
	}
	for d, v := range fromLake {
		h.days[d] = v
		h.fromLake++
	}
	return h, nil
}

// memo keeps answers that the lake's manifests make immutable, keyed by
// what they were read from (an artist and the stamps of the manifests
// involved); it is emptied when it holds maxMemo answers.
type memo[V any] struct {
	mu      sync.Mutex
	answers map[string]V
}

// maxMemo bounds a memo: thousands of artists' pages.
const maxMemo = 4096

// get returns the answer of key, reading it first if it has none.
func (m *memo[V]) get(key string, read func() (V, error)) (V, error) {
	m.mu.Lock()
	v, ok := m.answers[key]
	m.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.answers == nil || len(m.answers) >= maxMemo {
		m.answers = map[string]V{}
	}
	m.answers[key] = v
	return v, nil
}

// queryArtistDays reads the artist's rows of dates from the curated
// artists table. The view prunes partitions by dt, so only those dates'
// files are read. id and dates are checked here, whoever the caller: they
// become SQL literals.
func queryArtistDays(ctx context.Context, q Querier, root, id string, dates []string) (map[string]artistDay, error) {
	if !spotify.IsID(id) {
		return nil, fmt.Errorf("artist ID %q: want 22 base-62 characters", id)
	}
	lits := make([]string, len(dates))
	for i, d := range dates {
		if err := lake.CheckDate(d); err != nil {
			return nil, err
		}
		lits[i] = sqlString(d)
	}
	sql := `SELECT dt, name, popularity, followers FROM artists
WHERE artist_id = ` + sqlString(id) + ` AND dt IN (` + strings.Join(lits, ", ") + `)
ORDER BY dt, fetched_at`
	res, err := q.Query(ctx, root, sql)
	if err != nil {
		return nil, fmt.Errorf("read the lake's history of artist %s: %w", id, err)
	}
	days := map[string]artistDay{}
	for _, row := range res.Rows {
		dt, _ := row[0].(string)
		name, _ := row[1].(string)
		// The latest fetch of a date wins, as in the marts.
		days[dt] = artistDay{Name: name, Popularity: intValue(row[2]), Followers: int64Value(row[3])}
	}
	return days, nil
}

// sqlString is s as an SQL string literal. Every caller passes checked
// values (IDs, dates); the quoting is the second line of defence.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func intValue(v any) *int {
	n := int64Value(v)
	if n == nil {
		return nil
	}
	i := int(*n)
	return &i
}

func int64Value(v any) *int64 {
	var n int64
	switch v := v.(type) {
	case int32:
		n = int64(v)
	case int64:
		n = v
	case int:
		n = int64(v)
	default:
		return nil
	}
	return &n
}

// snapshotDays are the serving store's snapshots by date.
func snapshotDays(snaps []serving.ArtistSnapshot) map[string]artistDay {
	days := make(map[string]artistDay, len(snaps))
	for _, s := range snaps {
		days[s.DT] = artistDay{Name: s.Name, Popularity: s.Popularity, Followers: s.Followers}
	}
	return days
}
