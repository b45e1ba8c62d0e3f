package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Token errors returned by Verify; both mean "do not admit".
var (
	ErrTokenInvalid = errors.New("api: invalid join token")
	ErrTokenExpired = errors.New("api: join token expired")
)

const (
	tokenVersion = 1
	// maxTokenLen bounds the work Verify does on untrusted input; a real
	// token is well under 300 characters.
	maxTokenLen = 1024
	// tokenContext separates these MACs from anything else the same secret
	// might ever sign.
	tokenContext = "roombridge join token\x00"
)

// Tokens mints and verifies join tokens for the web client: who (a display
// name) may join which room until when. A token is
//
//	base64url(payload) "." base64url(HMAC-SHA256(secret, context || payload))
//
// with payload = version (1 byte) || expiry (unix seconds, 8 bytes big
// endian) || uvarint len || room || uvarint len || name. It is not
// encrypted: room and name are readable, only forgery is prevented. Tokens
// is safe for concurrent use.
type Tokens struct {
	secret     []byte
	defaultTTL time.Duration
	now        func() time.Time // tests move the clock
}

// NewTokens returns a Tokens signing with secret. An empty secret means a
// random one, so tokens then stop working at restart (and on other nodes);
// share a configured secret between nodes. defaultTTL applies when Mint is
// given none (one hour when defaultTTL is not positive).
func NewTokens(secret []byte, defaultTTL time.Duration) *Tokens {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	}
	if defaultTTL <= 0 {
		defaultTTL = time.Hour
	}
	return &Tokens{secret: append([]byte(nil), secret...), defaultTTL: defaultTTL, now: time.Now}
}

// DefaultTTL is the lifetime of tokens minted without one.
func (t *Tokens) DefaultTTL() time.Duration { return t.defaultTTL }

// Mint returns a token admitting name to room until expires. A ttl of zero
// or less means the default TTL. Expiry has one-second resolution.
func (t *Tokens) Mint(room, name string, ttl time.Duration) (token string, expires time.Time) {
	if ttl <= 0 {
		ttl = t.defaultTTL
	}
	expires = time.Unix(t.now().Add(ttl).Unix(), 0).UTC()
	payload := make([]byte, 0, 1+8+2*binary.MaxVarintLen64+len(room)+len(name))
	payload = append(payload, tokenVersion)
	payload = binary.BigEndian.AppendUint64(payload, uint64(expires.Unix()))
	payload = binary.AppendUvarint(payload, uint64(len(room)))
	payload = append(payload, room...)
	payload = binary.AppendUvarint(payload, uint64(len(name)))
	payload = append(payload, name...)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(t.mac(payload)), expires
}

// Verify checks a token's signature and expiry and returns what it grants.
// The signature is checked, in constant time, before any field is read.
func (t *Tokens) Verify(token string) (room, name string, err error) {
	if len(token) > maxTokenLen {
		return "", "", ErrTokenInvalid
	}
	p64, m64, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrTokenInvalid
	}
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, t.mac(payload)) {
		return "", "", ErrTokenInvalid
	}
	exp, room, name, ok := parsePayload(payload)
	if !ok {
		return "", "", ErrTokenInvalid
	}
	if !t.now().Before(exp) {
		return "", "", ErrTokenExpired
	}
	return room, name, nil
}

func (t *Tokens) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, t.secret)
	h.Write([]byte(tokenContext))
	h.Write(payload)
	return h.Sum(nil)
}

// parsePayload is the inverse of the encoding in Mint.
func parsePayload(p []byte) (exp time.Time, room, name string, ok bool) {
	if len(p) < 9 || p[0] != tokenVersion {
		return time.Time{}, "", "", false
	}
	exp = time.Unix(int64(binary.BigEndian.Uint64(p[1:9])), 0)
	p = p[9:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return "", false
		}
		s := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return s, true
	}
	if room, ok = str(); !ok {
		return time.Time{}, "", "", false
	}
	if name, ok = str(); !ok || len(p) != 0 {
		return time.Time{}, "", "", false
	}
	return exp, room, name, true
}
