// Package statecookie seals small values (the OAuth state, PKCE verifier, integration id
// and return_to of a sign-in attempt) into a cookie value that the browser carries but can
// neither read nor change, and makes MACs for CSRF tokens. Nothing is stored server-side,
// so starting a sign-in writes nothing to the database.
package statecookie

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// MaxTokenSize bounds a sealed token: browsers keep about 4 KiB per cookie, and refusing
// bigger input early keeps an attacker from making us decrypt megabytes.
const MaxTokenSize = 4096

// MinKeySize is the shortest master key accepted.
const MinKeySize = 32

// HKDF contexts: one master key, independent keys per use, so a MAC can never be confused
// with a ciphertext and a key rotation of one use does not touch the other.
const (
	sealInfo = "forgelink state cookie v1"
	macInfo  = "forgelink state cookie v1 mac"
)

// expiredMessage is the one message users see, whatever went wrong: telling a tampered
// cookie from an expired one helps nobody but an attacker.
const expiredMessage = "Your sign-in attempt expired or was not started here. Please start again."

// Sealer seals and opens tokens with keys derived from a current master key and,
// during a key rotation, a previous one. Safe for concurrent use.
type Sealer struct {
	keys []keySet // keys[0] is derived from the current key: the only one that seals and MACs
}

// keySet holds the keys derived from one master key.
type keySet struct {
	aead   cipher.AEAD
	macKey []byte
}

// New derives the Sealer's keys from current (at least 32 bytes, e.g. the
// template-generated cookie secret) and from any previous keys.
//
// Rotation: seal and MAC with current only; open and verify with current or previous, so
// that pending sign-ins (10 minutes) and CSRF tokens of open pages survive one rotation.
// Deploy the new key as current with the old one as previous, and drop the previous key
// once the longest-lived token sealed with it has expired. Empty previous keys are
// ignored (none configured); each one kept costs an extra decryption attempt on tokens
// that fail to open.
func New(current []byte, previous ...[]byte) (*Sealer, error) {
	cur, err := deriveKeys(current)
	if err != nil {
		return nil, err
	}
	s := &Sealer{keys: []keySet{cur}}
	for _, p := range previous {
		if len(p) == 0 || bytes.Equal(p, current) {
			continue
		}
		ks, err := deriveKeys(p)
		if err != nil {
			return nil, fmt.Errorf("statecookie: previous key: %w", err)
		}
		s.keys = append(s.keys, ks)
	}
	return s, nil
}

// deriveKeys derives the sealing and MAC keys of one master key.
func deriveKeys(key []byte) (keySet, error) {
	if len(key) < MinKeySize {
		return keySet{}, fmt.Errorf("statecookie: key must be at least %d bytes, got %d", MinKeySize, len(key))
	}
	encKey, err := hkdf.Key(sha256.New, key, nil, sealInfo, 32)
	if err != nil {
		return keySet{}, err
	}
	macKey, err := hkdf.Key(sha256.New, key, nil, macInfo, 32)
	if err != nil {
		return keySet{}, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return keySet{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keySet{}, err
	}
	return keySet{aead: aead, macKey: macKey}, nil
}

// envelope is what gets encrypted. Exp is in Unix milliseconds.
type envelope struct {
	Exp int64           `json:"exp"`
	V   json.RawMessage `json:"v"`
}

// Seal encrypts v (as JSON) with an expiry of now+ttl and returns
// base64url(nonce|ciphertext).
//
// The plaintext is the JSON of envelope, written around v's JSON by hand: marshalling
// envelope itself would re-validate and re-compact v's JSON (json.RawMessage), which made
// up a third of Seal on every login click. json.Marshal's output is already compact, so
// the bytes are exactly those of json.Marshal(envelope{...}) and Open reads them as ever.
func (s *Sealer) Seal(v any, now time.Time, ttl time.Duration) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", forgelink.Wrap(forgelink.EINTERNAL, err, "Could not start the sign-in.")
	}
	aead := s.keys[0].aead // only ever the current key
	ns := aead.NonceSize()
	const head, tail = `{"exp":`, `,"v":`
	buf := make([]byte, ns, ns+len(head)+20+len(tail)+len(body)+1+aead.Overhead())
	rand.Read(buf) // the nonce; never fails (crypto/rand panics rather than return an error)
	plain := append(buf[ns:], head...)
	plain = strconv.AppendInt(plain, now.Add(ttl).UnixMilli(), 10)
	plain = append(plain, tail...)
	plain = append(plain, body...)
	plain = append(plain, '}')
	// Encrypt in place: the ciphertext overwrites the plaintext right after the nonce.
	sealed := aead.Seal(buf[:ns], buf[:ns], plain, []byte(sealInfo))
	token := base64.RawURLEncoding.EncodeToString(sealed)
	if len(token) > MaxTokenSize {
		return "", forgelink.Errorf(forgelink.EINTERNAL, "Could not start the sign-in (state too large).")
	}
	return token, nil
}

// Open checks and decrypts token into v, with the current key or a previous one. Every
// failure — oversize, malformed, tampered, unknown key, expired — is the same EEXPIRED
// error for the user; the cause is wrapped for the logs.
func (s *Sealer) Open(token string, now time.Time, v any) error {
	if len(token) > MaxTokenSize {
		return expired(errors.New("token too large"))
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return expired(errors.New("token is not base64url"))
	}
	plain, err := s.decrypt(raw)
	if err != nil {
		return expired(err)
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return expired(fmt.Errorf("token envelope: %w", err))
	}
	if now.UnixMilli() >= env.Exp {
		return expired(errors.New("token expired"))
	}
	if err := json.Unmarshal(env.V, v); err != nil {
		return expired(fmt.Errorf("token value: %w", err))
	}
	return nil
}

// decrypt opens raw (nonce|ciphertext) with the first key that authenticates it. All keys
// use AES-256-GCM, so nonce size and overhead are the same.
func (s *Sealer) decrypt(raw []byte) ([]byte, error) {
	ns, overhead := s.keys[0].aead.NonceSize(), s.keys[0].aead.Overhead()
	if len(raw) < ns+overhead {
		return nil, errors.New("token too short")
	}
	for _, k := range s.keys {
		if plain, err := k.aead.Open(nil, raw[:ns], raw[ns:], []byte(sealInfo)); err == nil {
			return plain, nil
		}
	}
	return nil, errors.New("token does not authenticate (tampered or unknown key)")
}

func expired(cause error) error {
	return forgelink.Wrap(forgelink.EEXPIRED, cause, expiredMessage)
}

// MAC returns base64url(HMAC-SHA256(macKey, purpose, msg)) with the current key, e.g. a
// CSRF token bound to a session: MAC("csrf", sessionID). The purpose is length-prefixed
// so that ("ab","c") and ("a","bc") never collide. Check a submitted MAC with VerifyMAC,
// which also accepts the previous key's.
func (s *Sealer) MAC(purpose, msg string) string { return s.keys[0].mac(purpose, msg) }

// VerifyMAC reports whether mac is MAC(purpose, msg) under the current or a previous key,
// comparing in constant time, so that forms rendered before a key rotation still submit.
func (s *Sealer) VerifyMAC(purpose, msg, mac string) bool {
	ok := false
	for _, k := range s.keys {
		ok = Equal(k.mac(purpose, msg), mac) || ok // no short cut: the same work for every key
	}
	return ok
}

func (k keySet) mac(purpose, msg string) string {
	m := hmac.New(sha256.New, k.macKey)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(purpose)))
	m.Write(n[:])
	m.Write([]byte(purpose))
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Equal compares two tokens (e.g. a submitted CSRF token with MAC's) in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
