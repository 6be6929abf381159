package spotifyfake

import (
	"math/bits"
)

// Spotify IDs are the base-62 form of a 128-bit number, 22 characters long.
// The catalog packs what an ID names (kind, artist, album, track) into those
// 128 bits, scrambles them with a keyed permutation so they look random, and
// fills the spare bits with a keyed check value. Any entity is then found from
// its ID without an index, and an ID the catalog never issued is recognised
// as unknown.

const (
	idLen          = 22
	base62Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	checkBits      = 48
	checkMask      = 1<<checkBits - 1
	feistelRounds  = 4
)

type kind uint8

const (
	kindArtist kind = iota + 1
	kindAlbum
	kindTrack
)

// ref names one catalog entity: an artist, one of its albums, or one track
// of that album.
type ref struct {
	kind   kind
	artist uint32
	album  uint16
	track  uint16
}

type idCodec struct {
	keys [feistelRounds]uint64
	salt uint64
}

func newIDCodec(seed int64) idCodec {
	var c idCodec
	s := uint64(seed) ^ 0x5eed5eed5eed5eed
	for i := range c.keys {
		c.keys[i] = splitmix(&s)
	}
	c.salt = splitmix(&s)
	return c
}

func (c idCodec) check(hi uint64, track uint16) uint64 {
	return mix64(hi^c.salt^uint64(track)*0x9e3779b97f4a7c15) & checkMask
}

func (c idCodec) encode(r ref) string {
	hi := uint64(r.kind)<<56 | uint64(r.artist)<<24 | uint64(r.album)<<8
	lo := uint64(r.track)<<checkBits | c.check(hi, r.track)
	for _, k := range c.keys {
		hi, lo = lo, hi^mix64(lo^k)
	}
	return base62Encode(hi, lo)
}

// decode returns the entity an ID names; ok is false for anything that is
// not an ID this catalog's seed would issue.
func (c idCodec) decode(id string) (ref, bool) {
	hi, lo, ok := base62Decode(id)
	if !ok {
		return ref{}, false
	}
	for i := len(c.keys) - 1; i >= 0; i-- {
		hi, lo = lo^mix64(hi^c.keys[i]), hi
	}
	track := uint16(lo >> checkBits)
	if lo&checkMask != c.check(hi, track) || hi&0xff != 0 {
		return ref{}, false
	}
	r := ref{
		kind:   kind(hi >> 56),
		artist: uint32(hi >> 24),
		album:  uint16(hi >> 8),
		track:  track,
	}
	return r, true
}

// IsBase62ID reports whether s has the form of a Spotify ID: 22 base-62
// characters.
func IsBase62ID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if base62Value(s[i]) < 0 {
			return false
		}
	}
	return true
}

func base62Value(ch byte) int {
	switch {
	case ch >= '0' && ch <= '9':
		return int(ch - '0')
	case ch >= 'a' && ch <= 'z':
		return int(ch-'a') + 10
	case ch >= 'A' && ch <= 'Z':
		return int(ch-'A') + 36
	}
	return -1
}

func base62Encode(hi, lo uint64) string {
	var out [idLen]byte
	for i := idLen - 1; i >= 0; i-- {
		var r uint64
		hi, r = hi/62, hi%62
		lo, r = bits.Div64(r, lo, 62)
		out[i] = base62Alphabet[r]
	}
	return string(out[:])
}

func base62Decode(s string) (hi, lo uint64, ok bool) {
	if !IsBase62ID(s) {
		return 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		d := uint64(base62Value(s[i]))
		// (hi, lo) = (hi, lo)*62 + d, refusing anything above 128 bits.
		carryHi, newHi := bits.Mul64(hi, 62)
		if carryHi != 0 {
			return 0, 0, false
		}
		carryLo, newLo := bits.Mul64(lo, 62)
		newLo, c := bits.Add64(newLo, d, 0)
		newHi, c2 := bits.Add64(newHi, carryLo, c)
		if c2 != 0 {
			return 0, 0, false
		}
		hi, lo = newHi, newLo
	}
	return hi, lo, true
}

// splitmix advances a SplitMix64 state and returns its next output.
func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	return mix64(*s)
}

func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// rng is a small deterministic generator: every catalog entity draws its
// attributes from its own stream, so generating one entity never depends on
// having generated others.
type rng struct{ s uint64 }

func newRNG(seed int64, parts ...uint64) *rng {
	s := uint64(seed) * 0x2545f4914f6cdd1d
	for _, p := range parts {
		s = mix64(s ^ p + 0x9e3779b97f4a7c15)
	}
	return &rng{s: s}
}

func (r *rng) next() uint64 { return splitmix(&r.s) }

// intn returns a number in [0, n); n must be positive.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) chance(p float64) bool { return r.float() < p }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }
