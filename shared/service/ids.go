package service

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// newToken returns a random 256-bit token (base64url) and the hex SHA-256 that is all the
// store ever keeps of it: session ids, admin API tokens and sign-in links alike.
func newToken() (plain, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, hashToken(plain)
}

// hashToken is the store key of a token.
func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// newID returns an opaque, URL-safe id for integrations: 128 random bits in lower-case
// base32 (26 characters, no punctuation, safe in paths and secret names).
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
