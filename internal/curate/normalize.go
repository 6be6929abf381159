package curate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/metronome-data/metronome/internal/tables"
)

// Reason codes of rejected records, as written to the quarantine and
// counted in Report.Rejected.
const (
	ReasonMalformedJSON        = "malformed_json"          // the line or its data does not decode
	ReasonCorruptObject        = "corrupt_object"          // the raw object's gzip stream is truncated or corrupt: what follows its complete lines
	ReasonMissingField         = "missing_field"           // a required field is absent, null or empty
	ReasonInvalidID            = "invalid_id"              // not 22 base-62 characters
	ReasonPopularityOutOfRange = "popularity_out_of_range" // popularity outside 0–100
	ReasonNegativeValue        = "negative_value"          // negative followers, duration, count …
	ReasonValueOutOfRange      = "value_out_of_range"      // e.g. an audio feature ratio outside 0–1
	ReasonBadDate              = "bad_date"                // release date not matching its precision
	ReasonInvalidMarket        = "invalid_market"          // not an ISO 3166-1 alpha-2 code
	ReasonWrongPartition       = "wrong_partition"         // the record's dt is not the run's date
)

// rejection is why a record or item is refused; it becomes a quarantine line.
type rejection struct {
	reason string
	detail string
}

func (r *rejection) Error() string { return r.reason + ": " + r.detail }

func reject(reason, format string, args ...any) *rejection {
	return &rejection{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// spotifyIDLen is the length of every Spotify ID (base-62).
const spotifyIDLen = 22

// validID reports whether id is 22 base-62 characters.
func validID(id string) bool {
	if len(id) != spotifyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// checkID returns id if it is a valid Spotify ID.
func checkID(field, id string) (string, *rejection) {
	if id == "" {
		return "", reject(ReasonMissingField, "%s is missing", field)
	}
	if !validID(id) {
		return "", reject(ReasonInvalidID, "%s %q is not 22 base-62 characters", field, id)
	}
	return id, nil
}

// normText is a display string as stored: Unicode NFC, no surrounding
// white space. NFC first, so that a decomposed accent at an edge is
// composed before trimming.
func normText(s string) string {
	return strings.TrimSpace(norm.NFC.String(s))
}

// requiredName returns the normalized name, which must not be empty.
func requiredName(field string, s *string) (string, *rejection) {
	if s == nil {
		return "", reject(ReasonMissingField, "%s is missing", field)
	}
	n := normText(*s)
	if n == "" {
		return "", reject(ReasonMissingField, "%s is empty", field)
	}
	return n, nil
}

// optionalText returns the normalized string, or nil when absent or empty.
func optionalText(s *string) *string {
	if s == nil {
		return nil
	}
	n := normText(*s)
	if n == "" {
		return nil
	}
	return &n
}

// normGenres lower-cases, normalizes and de-duplicates genres, keeping the
// order of first appearance (Spotify's order). Absent or null (nil: what
// development mode serves for many artists) stays NULL; a list Spotify
// served empty stays an empty list, an artist known to have no genre.
func normGenres(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, g := range in {
		g = norm.NFC.String(strings.ToLower(normText(g)))
		if g != "" && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// popularity checks an optional popularity: absent stays NULL.
func popularity(p *int64) (*int32, *rejection) {
	if p == nil {
		return nil, nil
	}
	if *p < 0 || *p > 100 {
		return nil, reject(ReasonPopularityOutOfRange, "popularity %d is outside 0–100", *p)
	}
	v := int32(*p)
	return &v, nil
}

// nonNegative32 checks a required non-negative count that fits an int32.
func nonNegative32(field string, p *int64) (int32, *rejection) {
	if p == nil {
		return 0, reject(ReasonMissingField, "%s is missing", field)
	}
	if *p < 0 {
		return 0, reject(ReasonNegativeValue, "%s %d is negative", field, *p)
	}
	if *p > math.MaxInt32 {
		return 0, reject(ReasonValueOutOfRange, "%s %d is too large", field, *p)
	}
	return int32(*p), nil
}

// followers checks an optional follower count: absent stays NULL.
func followers(p *int64) (*int64, *rejection) {
	if p == nil {
		return nil, nil
	}
	if *p < 0 {
		return nil, reject(ReasonNegativeValue, "followers %d is negative", *p)
	}
	v := *p
	return &v, nil
}

// Release date precisions.
const (
	precisionYear  = "year"
	precisionMonth = "month"
	precisionDay   = "day"
)

var dateLayouts = map[string]string{
	precisionYear:  "2006",
	precisionMonth: "2006-01",
	precisionDay:   "2006-01-02",
}

// releaseDate parses a Spotify release date with its precision and returns
// the first day of the period (midnight UTC; a year-only date is January 1)
// and the precision. A missing
// precision is inferred from the date's shape. Year 0000, which Spotify
// uses for unknown dates, is rejected.
func releaseDate(date, precision *string) (tables.Date, string, *rejection) {
	if date == nil || strings.TrimSpace(*date) == "" {
		return 0, "", reject(ReasonMissingField, "release_date is missing")
	}
	d := strings.TrimSpace(*date)
	p := ""
	if precision != nil {
		p = strings.ToLower(strings.TrimSpace(*precision))
	}
	if p == "" {
		switch len(d) {
		case 4:
			p = precisionYear
		case 7:
			p = precisionMonth
		default:
			p = precisionDay
		}
	}
	layout, ok := dateLayouts[p]
	if !ok {
		return 0, "", reject(ReasonBadDate, "release_date_precision %q is not year, month or day", p)
	}
	t, err := time.Parse(layout, d)
	if err != nil || t.Format(layout) != d {
		return 0, "", reject(ReasonBadDate, "release_date %q does not match precision %s (%s)", d, p, layout)
	}
	if t.Year() < 1 {
		return 0, "", reject(ReasonBadDate, "release_date %q has year 0", d)
	}
	return tables.DateOf(t), p, nil
}

// normMarkets upper-cases, de-duplicates and sorts market codes, each of
// which must be ISO 3166-1 alpha-2. Absent (nil) stays NULL; present but
// empty stays an empty list (available nowhere).
func normMarkets(in []string) ([]string, *rejection) {
	if in == nil {
		return nil, nil
	}
	out := make([]string, 0, len(in))
	for _, m := range in {
		c, rej := market(m)
		if rej != nil {
			return nil, rej
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// market normalizes one market code.
func market(m string) (string, *rejection) {
	c, ok := isoCountries[strings.ToUpper(strings.TrimSpace(m))]
	if !ok {
		return "", reject(ReasonInvalidMarket, "market %q is not an ISO 3166-1 alpha-2 code", m)
	}
	return c, nil
}
