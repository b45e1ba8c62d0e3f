package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SIP credential limits: a name fits a SIP user part; credentials are for
// one working day at most, the page asks for new ones when they run out.
const (
	maxSIPCredentialTTL = 24 * time.Hour
	sipCredentialRandom = 8  // base32 characters of randomness in a username
	sipPasswordLen      = 24 // base64url characters: 144 bits
	// sipCredentialContext separates these MACs from join tokens signed
	// with the same secret.
	sipCredentialContext = "roombridge sip credential\x00"
)

var sipCredentialNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// SIPCredentials mints short-lived SIP accounts for browser users and
// checks them for the SIP registrar. A username is NAME.EXPIRY.RANDOM (the
// expiry in unix seconds) and its password an HMAC of the username, so
// nothing is stored and every gateway sharing the secret accepts the
// account until it expires. It is safe for concurrent use.
type SIPCredentials struct {
	secret     []byte
	defaultTTL time.Duration
	now        func() time.Time
}

// NewSIPCredentials returns a minter signing with secret (share it between
// nodes; empty means a random one, and accounts then die with a restart).
// defaultTTL applies when Mint gets none (one hour when not positive).
func NewSIPCredentials(secret []byte, defaultTTL time.Duration) *SIPCredentials {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	if defaultTTL <= 0 {
		defaultTTL = time.Hour
	}
	return &SIPCredentials{secret: append([]byte(nil), secret...), defaultTTL: min(defaultTTL, maxSIPCredentialTTL), now: time.Now}
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Mint returns a new account for name (a lower-case label shown in the
// username; "web" when empty) valid for ttl (the default when zero).
func (c *SIPCredentials) Mint(name string, ttl time.Duration) (username, password string, expires time.Time) {
	if name == "" {
		name = "web"
	}
	if ttl <= 0 {
		ttl = c.defaultTTL
	}
	expires = time.Unix(c.now().Add(ttl).Unix(), 0).UTC()
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	username = name + "." + strconv.FormatInt(expires.Unix(), 10) + "." + lowerBase32.EncodeToString(rnd[:])
	return username, c.password(username), expires
}

// Password returns a minted account's password while it is valid; false
// for an expired or malformed username.
func (c *SIPCredentials) Password(username string) (string, bool) {
	name, rest, ok := strings.Cut(username, ".")
	if !ok || !sipCredentialNameRe.MatchString(name) {
		return "", false
	}
	exp, rnd, ok := strings.Cut(rest, ".")
	if !ok || len(rnd) != sipCredentialRandom {
		return "", false
	}
	if _, err := lowerBase32.DecodeString(rnd); err != nil {
		return "", false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || strconv.FormatInt(unix, 10) != exp || !c.now().Before(time.Unix(unix, 0)) {
		return "", false
	}
	return c.password(username), true
}

func (c *SIPCredentials) password(username string) string {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(sipCredentialContext))
	m.Write([]byte(username))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:sipPasswordLen]
}
