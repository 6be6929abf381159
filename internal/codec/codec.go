// Package codec encrypts Temporal payloads with AES-256-GCM, so workflow
// and activity inputs, results, heartbeats and signals are stored in
// Temporal's history as ciphertext. Every encrypted payload names the key it
// was sealed with in its metadata (MetadataKeyID); decryption picks the key
// by that name, so keys rotate: configure the new key next to the old ones,
// make it active, and histories written with older keys stay readable for
// as long as those keys stay configured.
//
// The codec plugs into the SDK with converter.NewCodecDataConverter (see
// DataConverter) and into the Temporal Web UI through a codec server
// (converter.NewPayloadCodecHTTPHandler; `starter codec-server`).
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// MetadataKeyID is the payload metadata key naming the encryption key.
	MetadataKeyID = "encryption-key-id"
	// EncodingEncrypted is the payload encoding of an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
	// KeySize is the size of an AES-256 key in bytes.
	KeySize = 32
)

// Codec is a converter.PayloadCodec that seals payloads with the active key
// and opens them with the key their metadata names.
type Codec struct {
	aeads  map[string]cipher.AEAD
	active string
	rand   io.Reader
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec over keys (key ID → 32-byte AES-256 key) that
// encrypts with activeKeyID. An empty activeKeyID is allowed only when
// there is exactly one key.
func New(keys map[string][]byte, activeKeyID string) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no encryption keys: want at least one key ID with a 32-byte AES-256 key")
	}
	c := &Codec{aeads: make(map[string]cipher.AEAD, len(keys)), rand: rand.Reader}
	for id, key := range keys {
		if err := checkKeyID(id); err != nil {
			return nil, err
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("encryption key %q has %d bytes: want %d (AES-256)", id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("encryption key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encryption key %q: %w", id, err)
		}
		c.aeads[id] = aead
	}
	switch {
	case activeKeyID == "" && len(keys) == 1:
		for id := range keys {
			activeKeyID = id
		}
	case activeKeyID == "":
		return nil, fmt.Errorf("no active encryption key among %s: name the key that encrypts new payloads",
			strings.Join(c.KeyIDs(), ", "))
	}
	if _, ok := c.aeads[activeKeyID]; !ok {
		return nil, fmt.Errorf("active encryption key %q is not one of the configured keys %s",
			activeKeyID, strings.Join(c.KeyIDs(), ", "))
	}
	c.active = activeKeyID
	return c, nil
}

// FromConfig builds a codec from the configuration's forms: keys as
// ParseKeys reads them and the active key ID. Empty keys mean encryption is
// off: it returns nil and no error.
func FromConfig(keys, activeKeyID string) (*Codec, error) {
	if strings.TrimSpace(keys) == "" {
		if activeKeyID != "" {
			return nil, fmt.Errorf("active encryption key %q is set but no keys are configured", activeKeyID)
		}
		return nil, nil
	}
	parsed, err := ParseKeys(keys)
	if err != nil {
		return nil, err
	}
	return New(parsed, activeKeyID)
}

// ParseKeys reads "ID=BASE64KEY,ID=BASE64KEY": key IDs of letters, digits,
// '.', '_' and '-', each with 32 bytes of standard base64 (GenerateKey
// makes one). Spaces around entries are ignored.
func ParseKeys(spec string) (map[string][]byte, error) {
	keys := map[string][]byte{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, b64, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, fmt.Errorf("encryption key entry %d has no '=': want ID=BASE64KEY", i+1)
		}
		id = strings.TrimSpace(id)
		if err := checkKeyID(id); err != nil {
			return nil, err
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("encryption key %q is given twice", id)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			// The error is about the key's text: never echo the text.
			return nil, fmt.Errorf("encryption key %q is not standard base64", id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("encryption key %q has %d bytes: want %d (AES-256)", id, len(key), KeySize)
		}
		keys[id] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("no encryption keys: want ID=BASE64KEY[,ID=BASE64KEY…]")
	}
	return keys, nil
}

// GenerateKey returns a new random AES-256 key in the base64 form ParseKeys
// reads.
func GenerateKey() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate encryption key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

func checkKeyID(id string) error {
	if id == "" {
		return errors.New("encryption key ID is empty: want a name of letters, digits, '.', '_' or '-'")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("encryption key ID %q: want letters, digits, '.', '_' or '-' only", id)
		}
	}
	return nil
}

// ActiveKeyID is the ID of the key that encrypts new payloads.
func (c *Codec) ActiveKeyID() string { return c.active }

// KeyIDs returns the configured key IDs, sorted.
func (c *Codec) KeyIDs() []string {
	ids := make([]string, 0, len(c.aeads))
	for id := range c.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Encode seals every payload, metadata included, with the active key. The
// key ID is bound to the ciphertext as additional data, so a payload
// relabelled with another key's ID fails to open.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("marshal payload %d for encryption: %w", i, err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := io.ReadFull(c.rand, nonce); err != nil {
			return payloads, fmt.Errorf("draw nonce for payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.active),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.active)),
		}
	}
	return out, nil
}

// Decode opens every encrypted payload with the key its metadata names.
// Payloads that are not encrypted (written before encryption was turned on)
// pass through unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return payloads, fmt.Errorf("encrypted payload %d has no %s metadata", i, MetadataKeyID)
		}
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("payload %d is encrypted with key %q, which is not configured (configured: %s)",
				i, id, strings.Join(c.KeyIDs(), ", "))
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return payloads, fmt.Errorf("encrypted payload %d is %d bytes, too short to be AES-GCM", i, len(data))
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("decrypt payload %d with key %q (tampered, or sealed with another key): %w", i, id, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return payloads, fmt.Errorf("unmarshal decrypted payload %d: %w", i, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// DataConverter returns the SDK's default data converter with c applied to
// every payload, for client.Options.DataConverter. A nil c returns the
// default converter unchanged.
func DataConverter(c *Codec) converter.DataConverter {
	if c == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}
