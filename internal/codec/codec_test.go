package codec

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// key returns a deterministic 32-byte key filled with b.
func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func keySpec(pairs ...string) string { return strings.Join(pairs, ",") }

func entry(id string, b byte) string { return id + "=" + base64.StdEncoding.EncodeToString(key(b)) }

func mustCodec(t *testing.T, keys map[string][]byte, active string) *Codec {
	t.Helper()
	c, err := New(keys, active)
	require.NoError(t, err)
	return c
}

// payloads are what the default converter makes of typical values.
func payloads(t *testing.T) []*commonpb.Payload {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	var out []*commonpb.Payload
	for _, v := range []any{
		map[string]any{"date": "2026-11-01", "artists": []string{"Daft Punk", "Air"}},
		"plain string",
		[]byte{0, 1, 2, 255},
		nil,
		strings.Repeat("large payload ", 10_000),
	} {
		p, err := dc.ToPayload(v)
		require.NoError(t, err)
		out = append(out, p)
	}
	return out
}

func TestRoundTripKeepsPayloadsAndHidesData(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": key(1)}, "")
	require.Equal(t, "k1", c.ActiveKeyID(), "a single key is active by default")
	in := payloads(t)

	enc, err := c.Encode(in)
	require.NoError(t, err)
	require.Len(t, enc, len(in))
	for i, p := range enc {
		require.Equal(t, EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
		require.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
		require.Len(t, p.Metadata, 2, "the original metadata is encrypted too")
		if len(in[i].Data) > 4 {
			require.NotContains(t, string(p.Data), string(in[i].Data[:5]), "ciphertext shows no plaintext")
		}
	}
	again, err := c.Encode(in)
	require.NoError(t, err)
	require.NotEqual(t, enc[0].Data, again[0].Data, "a fresh nonce for every encryption")

	dec, err := c.Decode(enc)
	require.NoError(t, err)
	require.Len(t, dec, len(in))
	for i := range in {
		require.True(t, proto.Equal(in[i], dec[i]), "payload %d: %v != %v", i, in[i], dec[i])
	}
}

func TestDataConverterRoundTrip(t *testing.T) {
	type input struct {
		Date    string   `json:"date"`
		Artists []string `json:"artists"`
	}
	dc := DataConverter(mustCodec(t, map[string][]byte{"k1": key(1)}, "k1"))
	want := input{Date: "2026-11-01", Artists: []string{"Daft Punk"}}
	p, err := dc.ToPayload(want)
	require.NoError(t, err)
	require.NotContains(t, string(p.Data), "Daft Punk")
	var got input
	require.NoError(t, dc.FromPayload(p, &got))
	require.Equal(t, want, got)

	require.Equal(t, converter.GetDefaultDataConverter(), DataConverter(nil), "no codec, no encryption")
}

func TestTamperingIsDetected(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": key(1), "k2": key(2)}, "k1")
	tests := []struct {
		name   string
		tamper func(p *commonpb.Payload)
		want   string
	}{
		{"flipped ciphertext byte", func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 0x01 }, `decrypt payload 0 with key "k1"`},
		{"flipped nonce byte", func(p *commonpb.Payload) { p.Data[0] ^= 0x80 }, `decrypt payload 0 with key "k1"`},
		{"flipped tag byte", func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 0x01 }, `decrypt payload 0 with key "k1"`},
		{"truncated", func(p *commonpb.Payload) { p.Data = p.Data[:10] }, "too short"},
		{"relabelled with another configured key", func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") }, `decrypt payload 0 with key "k2"`},
		{"key ID removed", func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) }, "has no encryption-key-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Encode(payloads(t)[:1])
			require.NoError(t, err)
			tt.tamper(enc[0])
			_, err = c.Decode(enc)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestUnknownKeyIDIsAnError(t *testing.T) {
	old := mustCodec(t, map[string][]byte{"2025-q4": key(1)}, "2025-q4")
	enc, err := old.Encode(payloads(t)[:1])
	require.NoError(t, err)
	current := mustCodec(t, map[string][]byte{"2026-q1": key(2)}, "2026-q1")
	_, err = current.Decode(enc)
	require.ErrorContains(t, err, `encrypted with key "2025-q4", which is not configured (configured: 2026-q1)`)
}

// Rotation: a new key becomes active, payloads sealed with the old one stay
// readable while it is configured, and only while it is.
func TestKeyRotation(t *testing.T) {
	in := payloads(t)[:2]
	before := mustCodec(t, map[string][]byte{"k1": key(1)}, "k1")
	oldEnc, err := before.Encode(in)
	require.NoError(t, err)

	rotated := mustCodec(t, map[string][]byte{"k1": key(1), "k2": key(2)}, "k2")
	newEnc, err := rotated.Encode(in)
	require.NoError(t, err)
	require.Equal(t, "k2", string(newEnc[0].Metadata[MetadataKeyID]), "new payloads use the new key")

	// One batch may mix payloads of both keys (an old history continued).
	mixed, err := rotated.Decode([]*commonpb.Payload{oldEnc[0], newEnc[1]})
	require.NoError(t, err)
	require.True(t, proto.Equal(in[0], mixed[0]))
	require.True(t, proto.Equal(in[1], mixed[1]))

	retired := mustCodec(t, map[string][]byte{"k2": key(2)}, "k2")
	_, err = retired.Decode(newEnc)
	require.NoError(t, err)
	_, err = retired.Decode(oldEnc)
	require.ErrorContains(t, err, `key "k1", which is not configured`)

	// Payloads written before encryption was turned on pass through.
	plain, err := rotated.Decode(in)
	require.NoError(t, err)
	require.True(t, proto.Equal(in[0], plain[0]))
}

func TestParseKeysAndConfig(t *testing.T) {
	keys, err := ParseKeys(keySpec(entry("k1", 1), " "+entry("k2", 2)+" ", ""))
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{"k1": key(1), "k2": key(2)}, keys)

	generated, err := GenerateKey()
	require.NoError(t, err)
	keys, err = ParseKeys("gen=" + generated)
	require.NoError(t, err)
	require.Len(t, keys["gen"], KeySize)

	short := "short=" + base64.StdEncoding.EncodeToString(key(1)[:16])
	secretText := "not*base64*" + strings.Repeat("x", 40)
	tests := []struct {
		name, keys, active, want string
	}{
		{"no equals", "k1", "", "entry 1 has no '='"},
		{"empty ID", "=" + base64.StdEncoding.EncodeToString(key(1)), "", "key ID is empty"},
		{"bad ID", keySpec(entry("k 1", 1)), "", `key ID "k 1"`},
		{"not base64", "k1=" + secretText, "", `key "k1" is not standard base64`},
		{"AES-128 key", short, "", `key "short" has 16 bytes: want 32`},
		{"duplicate ID", keySpec(entry("k1", 1), entry("k1", 2)), "", `key "k1" is given twice`},
		{"only separators", " , ,", "", "no encryption keys"},
		{"several keys, none active", keySpec(entry("k1", 1), entry("k2", 2)), "", "no active encryption key among k1, k2"},
		{"active key unknown", keySpec(entry("k1", 1)), "k9", `active encryption key "k9" is not one of the configured keys k1`},
		{"active key without keys", "", "k1", `active encryption key "k1" is set but no keys`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromConfig(tt.keys, tt.active)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, c)
			require.NotContains(t, err.Error(), secretText, "an error never echoes key material")
		})
	}

	c, err := FromConfig("", "")
	require.NoError(t, err)
	require.Nil(t, c, "no keys: encryption off")

	c, err = FromConfig(keySpec(entry("k1", 1), entry("k2", 2)), "k1")
	require.NoError(t, err)
	require.Equal(t, []string{"k1", "k2"}, c.KeyIDs())
	require.Equal(t, "k1", c.ActiveKeyID())
}
