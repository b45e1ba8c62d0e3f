package sdp

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// CryptoSuite is an SDES crypto suite (RFC 4568 §6.2, RFC 6188, RFC 7714
// §12).
type CryptoSuite uint8

// Crypto suites. The zero value is a suite this package does not know.
const (
	SuiteUnknown CryptoSuite = iota
	AES_CM_128_HMAC_SHA1_80
	AES_CM_128_HMAC_SHA1_32
	AEAD_AES_128_GCM
	AEAD_AES_256_GCM
	AES_256_CM_HMAC_SHA1_80
	AES_256_CM_HMAC_SHA1_32
)

// DefaultSuites is our preference order when answering or offering SDES.
// The 80-bit tag comes first: every SIP device supports it and it is the
// one RFC 4568 §6.2 recommends.
var DefaultSuites = []CryptoSuite{
	AES_CM_128_HMAC_SHA1_80,
	AES_CM_128_HMAC_SHA1_32,
	AEAD_AES_128_GCM,
	AEAD_AES_256_GCM,
}

var suiteInfo = [...]struct {
	name      string
	key, salt int
	profile   uint16
}{
	SuiteUnknown: {name: "unknown"},
	// RFC 4568 §6.2.1: 128-bit key and 112-bit salt.
	AES_CM_128_HMAC_SHA1_80: {"AES_CM_128_HMAC_SHA1_80", 16, 14, 0x0001},
	AES_CM_128_HMAC_SHA1_32: {"AES_CM_128_HMAC_SHA1_32", 16, 14, 0x0002},
	// RFC 7714 §12: the GCM suites use a 96-bit salt.
	AEAD_AES_128_GCM: {"AEAD_AES_128_GCM", 16, 12, 0x0007},
	AEAD_AES_256_GCM: {"AEAD_AES_256_GCM", 32, 12, 0x0008},
	// RFC 6188 §7.1: 256-bit key, 112-bit salt.
	AES_256_CM_HMAC_SHA1_80: {"AES_256_CM_HMAC_SHA1_80", 32, 14, 0x0003},
	AES_256_CM_HMAC_SHA1_32: {"AES_256_CM_HMAC_SHA1_32", 32, 14, 0x0004},
}

// String returns the suite name as written in SDP.
func (s CryptoSuite) String() string {
	if int(s) >= len(suiteInfo) {
		return "unknown"
	}
	return suiteInfo[s].name
}

// KeyLen is the master key length in bytes, 0 for an unknown suite.
func (s CryptoSuite) KeyLen() int {
	if int(s) >= len(suiteInfo) {
		return 0
	}
	return suiteInfo[s].key
}

// SaltLen is the master salt length in bytes, 0 for an unknown suite.
func (s CryptoSuite) SaltLen() int {
	if int(s) >= len(suiteInfo) {
		return 0
	}
	return suiteInfo[s].salt
}

// ProfileID is the IANA SRTP protection profile number of the suite
// (RFC 5764 §4.1.2, RFC 7714 §14.2), 0 for an unknown suite. It equals
// srtp.ProtectionProfile in github.com/pion/srtp.
func (s CryptoSuite) ProfileID() uint16 {
	if int(s) >= len(suiteInfo) {
		return 0
	}
	return suiteInfo[s].profile
}

// ParseCryptoSuite maps an SDP suite name to a CryptoSuite, SuiteUnknown
// if it is not one we know.
func ParseCryptoSuite(name string) CryptoSuite {
	// FreeSWITCH spells the RFC 6188 suites its own way.
	switch name {
	case "AES_CM_256_HMAC_SHA1_80":
		return AES_256_CM_HMAC_SHA1_80
	case "AES_CM_256_HMAC_SHA1_32":
		return AES_256_CM_HMAC_SHA1_32
	}
	for i := 1; i < len(suiteInfo); i++ {
		if suiteInfo[i].name == name {
			return CryptoSuite(i)
		}
	}
	return SuiteUnknown
}

// Crypto is one SDES a=crypto attribute (RFC 4568 §9.1):
//
//	a=crypto:<tag> <suite> inline:<key||salt>[|<lifetime>][|<MKI>:<length>] [<session-params>]
//
// Only the first key-params is kept; several keys per line are allowed by
// the RFC but not used by SIP devices.
type Crypto struct {
	// Tag identifies the line within its m= section (RFC 4568 §9.1); an
	// answer echoes the tag of the offer line it accepts (§7.1.2).
	Tag uint32
	// Suite is the crypto suite; SuiteName keeps the name as written, so
	// that an answer echoes the offer's spelling and unknown suites
	// round-trip. String uses Suite's name when SuiteName is empty.
	Suite     CryptoSuite
	SuiteName string
	// Key is the master key followed by the master salt, decoded from
	// base64. For known suites its length is KeyLen()+SaltLen().
	Key []byte
	// Lifetime is the master key lifetime in packets, 0 when not given.
	Lifetime uint64
	// MKI and MKILen are the master key identifier and its length in bytes
	// (RFC 3711 §3.1); MKILen is 0 when no MKI is used.
	MKI    uint64
	MKILen int
	// SessionParams are the optional session parameters (RFC 4568 §6.3),
	// such as "UNENCRYPTED_SRTCP" or "KDR=0".
	SessionParams []string
}

// MasterKey returns the master key part of Key, nil if Key is too short.
func (c *Crypto) MasterKey() []byte {
	n := c.Suite.KeyLen()
	if n == 0 || len(c.Key) < n+c.Suite.SaltLen() {
		return nil
	}
	return c.Key[:n]
}

// MasterSalt returns the master salt part of Key, nil if Key is too short.
func (c *Crypto) MasterSalt() []byte {
	n, s := c.Suite.KeyLen(), c.Suite.SaltLen()
	if n == 0 || len(c.Key) < n+s {
		return nil
	}
	return c.Key[n : n+s]
}

// NewCrypto returns a crypto line for suite with a fresh random master key
// and salt from crypto/rand (RFC 4568 §6.1: keys must be random).
func NewCrypto(tag uint32, suite CryptoSuite) (Crypto, error) {
	n := suite.KeyLen() + suite.SaltLen()
	if n == 0 {
		return Crypto{}, fmt.Errorf("%w: cannot generate a key for suite %v", ErrBadCrypto, suite)
	}
	key := make([]byte, n)
	_, _ = rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	return Crypto{Tag: tag, Suite: suite, SuiteName: suite.String(), Key: key}, nil
}

// ParseCrypto parses an a=crypto attribute. It accepts the attribute value
// ("1 AES_CM_128_HMAC_SHA1_80 inline:…") with or without the "a=crypto:" or
// "crypto:" prefix. A suite this package does not know parses without error
// (its key is decoded but its length not checked), so that an offer listing
// it next to a known one stays usable; Suite is then SuiteUnknown.
func ParseCrypto(s string) (Crypto, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "a=")
	s = strings.TrimPrefix(s, "crypto:")
	fields := strings.Fields(s)
	if len(fields) < 3 {
		return Crypto{}, fmt.Errorf("%w: want tag, suite and key params: %q", ErrBadCrypto, s)
	}
	var c Crypto
	// RFC 4568 §9.1: tag = 1*9DIGIT.
	tag, err := strconv.ParseUint(fields[0], 10, 32)
	if err != nil || len(fields[0]) > 9 {
		return Crypto{}, fmt.Errorf("%w: bad tag %q", ErrBadCrypto, fields[0])
	}
	c.Tag = uint32(tag)
	c.SuiteName = fields[1]
	c.Suite = ParseCryptoSuite(fields[1])
	// Several key-params are separated by ';' (RFC 4568 §9.1); keep the
	// first inline one.
	kp, _, _ := strings.Cut(fields[2], ";")
	method, info, ok := strings.Cut(kp, ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return Crypto{}, fmt.Errorf("%w: key method %q, want inline", ErrBadCrypto, method)
	}
	if err := c.parseKeyInfo(info); err != nil {
		return Crypto{}, err
	}
	if len(fields) > 3 {
		c.SessionParams = append([]string(nil), fields[3:]...)
	}
	return c, nil
}

// parseKeyInfo parses key-info: key-salt ["|" lifetime] ["|" mki].
func (c *Crypto) parseKeyInfo(info string) error {
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return fmt.Errorf("%w: too many key-info fields in %q", ErrBadCrypto, info)
	}
	key, err := decodeKey(parts[0])
	if err != nil {
		return err
	}
	if want := c.Suite.KeyLen() + c.Suite.SaltLen(); want != 0 && len(key) != want {
		return fmt.Errorf("%w: %v key is %d bytes, want %d", ErrBadCrypto, c.Suite, len(key), want)
	}
	c.Key = key
	for _, p := range parts[1:] {
		// An MKI field contains ':'; a lifetime does not (RFC 4568 §9.1).
		if v, l, ok := strings.Cut(p, ":"); ok {
			if c.MKILen != 0 {
				return fmt.Errorf("%w: two MKI fields", ErrBadCrypto)
			}
			mki, err1 := strconv.ParseUint(v, 10, 64)
			n, err2 := strconv.Atoi(l)
			// RFC 4568 §9.1: mki-length 1–128 bytes; we keep MKIs that fit
			// 8 bytes, which is all anyone uses.
			if err1 != nil || err2 != nil || n < 1 || n > 128 || (n < 8 && mki>>(8*uint(n)) != 0) {
				return fmt.Errorf("%w: bad MKI %q", ErrBadCrypto, p)
			}
			c.MKI, c.MKILen = mki, n
			continue
		}
		if c.Lifetime != 0 || c.MKILen != 0 {
			return fmt.Errorf("%w: misplaced lifetime %q", ErrBadCrypto, p)
		}
		lt, err := parseLifetime(p)
		if err != nil {
			return err
		}
		c.Lifetime = lt
	}
	return nil
}

// decodeKey decodes the base64 key||salt. RFC 4568 §6.1 uses padded
// base64, but some devices leave the padding out; accept both.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty key", ErrBadCrypto)
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		return k, nil
	}
	k, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: key is not base64: %w", ErrBadCrypto, err)
	}
	return k, nil
}

// parseLifetime parses "2^20" or a decimal packet count (RFC 4568 §9.1).
func parseLifetime(s string) (uint64, error) {
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.ParseUint(exp, 10, 8)
		if err != nil || n > 63 {
			return 0, fmt.Errorf("%w: bad lifetime %q", ErrBadCrypto, s)
		}
		return 1 << n, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: bad lifetime %q", ErrBadCrypto, s)
	}
	return n, nil
}

// String formats the attribute value (without "a=crypto:"), e.g.
// "1 AES_CM_128_HMAC_SHA1_80 inline:KEY|2^20|1:32". A lifetime that is a
// power of two is written as 2^n, the form every device understands.
func (c Crypto) String() string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(uint64(c.Tag), 10))
	b.WriteByte(' ')
	name := c.SuiteName
	if name == "" {
		name = c.Suite.String()
	}
	b.WriteString(name)
	b.WriteString(" inline:")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Key))
	if c.Lifetime != 0 {
		b.WriteByte('|')
		if c.Lifetime&(c.Lifetime-1) == 0 {
			b.WriteString("2^")
			b.WriteString(strconv.Itoa(log2(c.Lifetime)))
		} else {
			b.WriteString(strconv.FormatUint(c.Lifetime, 10))
		}
	}
	if c.MKILen != 0 {
		b.WriteByte('|')
		b.WriteString(strconv.FormatUint(c.MKI, 10))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(c.MKILen))
	}
	for _, p := range c.SessionParams {
		b.WriteByte(' ')
		b.WriteString(p)
	}
	return b.String()
}

func log2(v uint64) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}
