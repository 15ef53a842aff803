// Package secret seals sensitive fields at rest (SPEC §6.1, §11): TINs,
// bank account numbers and IBANs are encrypted with AES-256-GCM under a key
// from configuration (PAYRUN_DATA_KEY) before they reach the database, and
// only their last four characters are kept in the clear for display.
//
// A sealed value is: version byte (1) | 12-byte random nonce | ciphertext+tag.
// The associated data binds a value to its column ("tax_forms.tin"), so a
// sealed TIN copied into another column does not open.
//
// Digest gives a keyed HMAC-SHA256 of a value, derived from the same key, so
// "did the TIN change?" is answered without decrypting anything.
//
// Development mode (PAYRUN_DEV=1) uses a fixed, publicly known key and says so
// loudly; without it, a missing or malformed key is an error and payrun
// refuses to start. Secrets never appear in errors or logs from this package.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// KeySize is the AES-256 key size in bytes.
const KeySize = 32

const version byte = 1

// DevKeyBanner is printed when the development key is in use.
const DevKeyBanner = "*** PAYRUN_DEV=1: sensitive data is sealed with the PUBLIC development key. Never use this mode with real data. ***"

// devKey is the fixed development key: "payrun-development-key-NOT-SECRET".
var devKey = sha256.Sum256([]byte("payrun-development-key-NOT-SECRET"))

// ErrNoKey is returned by FromConfig when no key is configured outside
// development mode.
var ErrNoKey = errors.New("PAYRUN_DATA_KEY is not set: set it to base64 of 32 random bytes (e.g. `head -c32 /dev/urandom | base64`), or set PAYRUN_DEV=1 for a development-only key")

// ErrOpen is returned when a sealed value does not open: wrong key, wrong
// column, or corrupted bytes.
var ErrOpen = errors.New("sealed value does not open with this key")

// Sealer encrypts and decrypts field values.
type Sealer struct {
	aead      cipher.AEAD
	digestKey []byte
	rand      io.Reader
	// Dev is true when the public development key is in use.
	Dev bool
}

// FromConfig builds a Sealer from PAYRUN_DATA_KEY (base64, 32 bytes) or, in
// development mode with no key, the development key.
// Errors: ErrNoKey, or a message saying what is wrong with the key (never the key).
func FromConfig(base64Key string, dev bool) (*Sealer, error) {
	if base64Key == "" {
		if !dev {
			return nil, ErrNoKey
		}
		sealer, err := New(devKey[:])
		if err != nil {
			return nil, err
		}
		sealer.Dev = true
		return sealer, nil
	}
	key, err := base64.StdEncoding.DecodeString(base64Key)
	if err != nil {
		return nil, errors.New("PAYRUN_DATA_KEY is not valid base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("PAYRUN_DATA_KEY decodes to %d bytes, want %d", len(key), KeySize)
	}
	return New(key)
}

// New builds a Sealer from a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("payrun digest key"))
	return &Sealer{aead: aead, digestKey: mac.Sum(nil), rand: rand.Reader}, nil
}

// Seal encrypts plaintext for the column named by context. An empty
// plaintext seals to nil (no value).
func (s *Sealer) Seal(plaintext, context string) ([]byte, error) {
	if plaintext == "" {
		return nil, nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, version)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, []byte(plaintext), []byte(context)), nil
}

// Open decrypts a value sealed for context. nil opens to "".
// Errors: ErrOpen.
func (s *Sealer) Open(sealed []byte, context string) (string, error) {
	if sealed == nil {
		return "", nil
	}
	nonceSize := s.aead.NonceSize()
	if len(sealed) < 1+nonceSize+s.aead.Overhead() || sealed[0] != version {
		return "", ErrOpen
	}
	plaintext, err := s.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], []byte(context))
	if err != nil {
		return "", ErrOpen
	}
	return string(plaintext), nil
}

// Digest is a keyed HMAC-SHA256 of value for context: equal values give
// equal digests under one key, and the digest reveals nothing without it.
// An empty value digests to nil.
func (s *Sealer) Digest(value, context string) []byte {
	if value == "" {
		return nil
	}
	mac := hmac.New(sha256.New, s.digestKey)
	mac.Write([]byte(context))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return mac.Sum(nil)
}

// Last4 is what payrun keeps in the clear to show a sealed value.
func Last4(value string) string {
	if len(value) <= 4 {
		return value
	}
	return value[len(value)-4:]
}
