package serving

import (
	"context"
	"fmt"
	"slices"
)

// skDiscography is the SK of an artist's collected discography.
const skDiscography = "DISCOGRAPHY"

// Discography is what earlier runs collected of an artist's albums. In
// development mode the daily run fetches details only of albums not in it,
// and reads one page of the artist's albums when the listing's total has
// not changed since.
type Discography struct {
	// Total is the `total` of the artist's albums listing when it was last
	// read whole.
	Total int
	// AlbumIDs are the albums already in the lake, sorted.
	AlbumIDs []string
	// DT is the date of the run that wrote it.
	DT string
}

// PutDiscography records an artist's discography as of dt; an older date
// never replaces a newer one.
func (s *Store) PutDiscography(ctx context.Context, dt, artistID string, d Discography) error {
	if err := validateDT(dt); err != nil {
		return err
	}
	ids := slices.Clone(d.AlbumIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	it := Item{PK: artistPK(artistID), SK: skDiscography, DT: dt,
		Attrs: attrs{}.num("total", int64(d.Total)).strs("album_ids", ids)}
	if err := validateItem(it); err != nil {
		return fmt.Errorf("store discography of %s: %w", artistID, err)
	}
	if _, err := s.t.putIfNotOlder(ctx, []Item{it}); err != nil {
		return fmt.Errorf("store discography of %s: %w", artistID, err)
	}
	return nil
}

// Discography reads what earlier runs collected of an artist's albums;
// found is false before the first run that collected them.
func (s *Store) Discography(ctx context.Context, artistID string) (d Discography, found bool, err error) {
	it, ok, err := s.t.get(ctx, key{artistPK(artistID), skDiscography})
	if err != nil {
		return d, false, fmt.Errorf("read discography of %s: %w", artistID, err)
	}
	if !ok {
		return d, false, nil
	}
	total, _ := attrInt(it.Attrs, "total")
	return Discography{Total: int(total), AlbumIDs: attrStrings(it.Attrs, "album_ids"), DT: it.DT}, true, nil
}
