package sdp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestCryptoSuiteSizes(t *testing.T) {
	tests := []struct {
		suite           CryptoSuite
		key, salt, line int
		profile         uint16
	}{
		{AES_CM_128_HMAC_SHA1_80, 16, 14, 30, 0x0001},
		{AES_CM_128_HMAC_SHA1_32, 16, 14, 30, 0x0002},
		{AEAD_AES_128_GCM, 16, 12, 28, 0x0007},
		{AEAD_AES_256_GCM, 32, 12, 44, 0x0008},
		{AES_256_CM_HMAC_SHA1_80, 32, 14, 46, 0x0003},
		{AES_256_CM_HMAC_SHA1_32, 32, 14, 46, 0x0004},
	}
	for _, tc := range tests {
		if tc.suite.KeyLen() != tc.key || tc.suite.SaltLen() != tc.salt || tc.suite.ProfileID() != tc.profile {
			t.Errorf("%v: %d+%d profile %#x", tc.suite, tc.suite.KeyLen(), tc.suite.SaltLen(), tc.suite.ProfileID())
		}
		if ParseCryptoSuite(tc.suite.String()) != tc.suite {
			t.Errorf("%v does not round-trip", tc.suite)
		}
		c, err := NewCrypto(7, tc.suite)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Key) != tc.line || len(c.MasterKey()) != tc.key || len(c.MasterSalt()) != tc.salt {
			t.Errorf("%v: generated %d bytes", tc.suite, len(c.Key))
		}
		back, err := ParseCrypto(c.String())
		if err != nil || !bytes.Equal(back.Key, c.Key) || back.Suite != tc.suite || back.Tag != 7 {
			t.Errorf("%v: round trip %q → %+v, %v", tc.suite, c.String(), back, err)
		}
	}
	if _, err := NewCrypto(1, SuiteUnknown); !errors.Is(err, ErrBadCrypto) {
		t.Errorf("NewCrypto(unknown) err = %v", err)
	}
	if SuiteUnknown.KeyLen() != 0 || CryptoSuite(200).String() != "unknown" || CryptoSuite(200).KeyLen() != 0 {
		t.Error("unknown suite has sizes")
	}
}

func TestCryptoKeySplit(t *testing.T) {
	key := make([]byte, 30)
	for i := range key {
		key[i] = byte(i)
	}
	line := "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(key) + "|2^20|1:32"
	c, err := ParseCrypto(line)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.MasterKey(), key[:16]) || !bytes.Equal(c.MasterSalt(), key[16:]) {
		t.Errorf("key %x salt %x", c.MasterKey(), c.MasterSalt())
	}
	if c.Lifetime != 1<<20 || c.MKI != 1 || c.MKILen != 32 {
		t.Errorf("lifetime %d MKI %d:%d", c.Lifetime, c.MKI, c.MKILen)
	}
	if got := "a=crypto:" + c.String(); got != line {
		t.Errorf("String = %q\nwant     %q", got, line)
	}

	gcm := make([]byte, 44)
	for i := range gcm {
		gcm[i] = byte(100 + i)
	}
	c, err = ParseCrypto("2 AEAD_AES_256_GCM inline:" + base64.RawStdEncoding.EncodeToString(gcm)) // unpadded
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.MasterKey(), gcm[:32]) || !bytes.Equal(c.MasterSalt(), gcm[32:]) {
		t.Errorf("GCM-256 key %x salt %x", c.MasterKey(), c.MasterSalt())
	}
}

func TestParseCrypto(t *testing.T) {
	k30 := base64.StdEncoding.EncodeToString(make([]byte, 30))
	k28 := base64.StdEncoding.EncodeToString(make([]byte, 28))
	ok := []struct {
		in       string
		suite    CryptoSuite
		lifetime uint64
		mkiLen   int
		params   int
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30, AES_CM_128_HMAC_SHA1_80, 0, 0, 0},
		{"crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" + k30 + "|1048576", AES_CM_128_HMAC_SHA1_32, 1 << 20, 0, 0},
		{"a=crypto:3 AEAD_AES_128_GCM inline:" + k28 + "|2^31", AEAD_AES_128_GCM, 1 << 31, 0, 0},
		{"9 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|4:2", AES_CM_128_HMAC_SHA1_80, 0, 2, 0},
		{"1 AES_CM_128_HMAC_SHA1_80 INLINE:" + k30 + " KDR=1 UNENCRYPTED_SRTCP", AES_CM_128_HMAC_SHA1_80, 0, 0, 2},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + ";inline:" + k30, AES_CM_128_HMAC_SHA1_80, 0, 0, 0},
		{"1 F8_128_HMAC_SHA1_80 inline:" + k30, SuiteUnknown, 0, 0, 0},
		{"  1   AES_CM_128_HMAC_SHA1_80   inline:" + k30 + "  ", AES_CM_128_HMAC_SHA1_80, 0, 0, 0},
	}
	for _, tc := range ok {
		c, err := ParseCrypto(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if c.Suite != tc.suite || c.Lifetime != tc.lifetime || c.MKILen != tc.mkiLen || len(c.SessionParams) != tc.params {
			t.Errorf("%q: %+v", tc.in, c)
		}
		// Formatting then parsing again must give the same value.
		back, err := ParseCrypto(c.String())
		if err != nil || back.String() != c.String() {
			t.Errorf("%q: re-parse %q: %v", tc.in, c.String(), err)
		}
	}

	bad := []string{
		"",
		"1 AES_CM_128_HMAC_SHA1_80",
		"x AES_CM_128_HMAC_SHA1_80 inline:" + k30,
		"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + k30,
		"1 AES_CM_128_HMAC_SHA1_80 uri:http://x",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k28, // wrong length for the suite
		"1 AEAD_AES_256_GCM inline:" + k30,
		"1 AES_CM_128_HMAC_SHA1_80 inline:!!!!",
		"1 AES_CM_128_HMAC_SHA1_80 inline:",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|2^64",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|0",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:0",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|256:1",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:4|2^20",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|1:4|1:4",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|2^20|2^20",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + k30 + "|2^20|1:4|x",
	}
	for _, in := range bad {
		if _, err := ParseCrypto(in); !errors.Is(err, ErrBadCrypto) {
			t.Errorf("%q: err = %v, want ErrBadCrypto", in, err)
		}
	}
}

func TestCryptoFreeSWITCHSpelling(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(make([]byte, 46))
	c, err := ParseCrypto("1 AES_CM_256_HMAC_SHA1_80 inline:" + k)
	if err != nil || c.Suite != AES_256_CM_HMAC_SHA1_80 {
		t.Fatalf("%+v %v", c, err)
	}
	// The answer echoes the offer's spelling.
	if !strings.Contains(c.String(), "AES_CM_256_HMAC_SHA1_80") {
		t.Errorf("String = %q", c.String())
	}
}

func TestNewCryptoRandom(t *testing.T) {
	a, _ := NewCrypto(1, AES_CM_128_HMAC_SHA1_80)
	b, _ := NewCrypto(1, AES_CM_128_HMAC_SHA1_80)
	if bytes.Equal(a.Key, b.Key) {
		t.Error("two generated keys are equal")
	}
}
