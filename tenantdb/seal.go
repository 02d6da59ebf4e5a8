package tenantdb

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sealer encrypts channel credentials at rest with AES-256-GCM under the
// operator's key. Each sealed value names the key that sealed it, so the
// operator can rotate: the new key seals, old keys still open, and saving a
// channel again re-seals it under the new key.
type Sealer struct {
	current string
	keys    map[string]cipher.AEAD
}

// ParseSealKey reads a 32-byte key written as 64 hex digits or as base64
// (standard or URL alphabet, padded or not).
func ParseSealKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("a secret key is 32 random bytes, written as 64 hex digits or in base64 (openssl rand -base64 32)")
}

// NewSealer seals with current and opens with current or any of previous.
func NewSealer(current []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{keys: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{current}, previous...) {
		if len(k) != 32 {
			return nil, fmt.Errorf("secret key %d is %d bytes, want 32", i+1, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := keyID(k)
		if i == 0 {
			s.current = id
		}
		s.keys[id] = aead
	}
	return s, nil
}

// keyID names a key without revealing it: the first 8 hex digits of its
// SHA-256.
func keyID(k []byte) string {
	sum := sha256.Sum256(append([]byte("parley-seal-key\x00"), k...))
	return hex.EncodeToString(sum[:4])
}

// Seal encrypts plaintext bound to aad (the tenant and channel, so a sealed
// value copied to another channel or workspace does not open there).
func (s *Sealer) Seal(plaintext, aad []byte) (string, error) {
	aead := s.keys[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := aead.Seal(nonce, nonce, plaintext, aad)
	return "v1:" + s.current + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// ErrUnsealable is returned for a value sealed under a key this server does
// not have, or altered since.
var ErrUnsealable = errors.New("the channel's credentials cannot be decrypted with this server's secret keys")

// Open decrypts a value from Seal.
func (s *Sealer) Open(sealed string, aad []byte) ([]byte, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, ErrUnsealable
	}
	aead, ok := s.keys[parts[1]]
	if !ok {
		return nil, ErrUnsealable
	}
	ct, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(ct) < aead.NonceSize() {
		return nil, ErrUnsealable
	}
	pt, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrUnsealable
	}
	return pt, nil
}
