package certs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// MinStorageKey is the shortest http.tls.acme.storage_key accepted.
const MinStorageKey = 16

// sealMagic starts every sealed value: format version 1.
const sealMagic = "rcs1"

// ErrSealed is wrapped when a stored value does not open with the storage
// key: another key, damage, or a value moved from another name.
var ErrSealed = errors.New("stored value does not open with http.tls.acme.storage_key")

// sealer encrypts and authenticates stored values with AES-256-GCM under a
// key derived (HKDF-SHA256) from the configured secret. The value's name is
// the additional data, so a value cannot be moved to another name. It is
// safe for concurrent use.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret string) (*sealer, error) {
	if len(secret) < MinStorageKey {
		return nil, fmt.Errorf("storage key: want at least %d bytes", MinStorageKey)
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "reelcache certs v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal returns magic, nonce and the sealed (modified time, value).
func (s *sealer) seal(name string, value []byte, modified time.Time) []byte {
	plain := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), uint64(modified.UnixNano()))
	plain = append(plain, value...)
	out := make([]byte, len(sealMagic)+s.aead.NonceSize(), len(sealMagic)+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	copy(out, sealMagic)
	rand.Read(out[len(sealMagic):])
	return s.aead.Seal(out, out[len(sealMagic):], plain, []byte(name))
}

// open reverses seal; its error wraps ErrSealed.
func (s *sealer) open(name string, sealed []byte) (value []byte, modified time.Time, err error) {
	n := len(sealMagic) + s.aead.NonceSize()
	if len(sealed) < n+8+s.aead.Overhead() || string(sealed[:len(sealMagic)]) != sealMagic {
		return nil, time.Time{}, fmt.Errorf("%s: %w (not a sealed value)", name, ErrSealed)
	}
	plain, err := s.aead.Open(nil, sealed[len(sealMagic):n], sealed[n:], []byte(name))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", name, ErrSealed)
	}
	return plain[8:], time.Unix(0, int64(binary.BigEndian.Uint64(plain))), nil
}
