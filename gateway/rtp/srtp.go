package rtp

import (
	"fmt"

	"github.com/pion/srtp/v3"
)

// SRTPKeys are the SDES keys of one leg (RFC 4568 §6.1): ours encrypt what
// we send, the peer's from its a=crypto line decrypt what we receive.
// Profile is the IANA protection profile of the negotiated suite, which is
// what sdp.CryptoSuite.ProfileID returns.
type SRTPKeys struct {
	Profile    srtp.ProtectionProfile
	LocalKey   []byte
	LocalSalt  []byte
	RemoteKey  []byte
	RemoteSalt []byte
}

// supportedProfile reports whether p is a profile SDES can negotiate here:
// the RFC 4568 AES-CM suites, their RFC 6188 256-bit variants and the
// RFC 7714 AEAD suites. The NULL profiles are refused, they carry no
// confidentiality.
func supportedProfile(p srtp.ProtectionProfile) bool {
	switch p {
	case srtp.ProtectionProfileAes128CmHmacSha1_80,
		srtp.ProtectionProfileAes128CmHmacSha1_32,
		srtp.ProtectionProfileAes256CmHmacSha1_80,
		srtp.ProtectionProfileAes256CmHmacSha1_32,
		srtp.ProtectionProfileAeadAes128Gcm,
		srtp.ProtectionProfileAeadAes256Gcm:
		return true
	}
	return false
}

func (k *SRTPKeys) validate() error {
	if !supportedProfile(k.Profile) {
		return fmt.Errorf("%w: %s", ErrUnsupportedProfile, k.Profile)
	}
	keyLen, err := k.Profile.KeyLen()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedProfile, err)
	}
	saltLen, err := k.Profile.SaltLen()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedProfile, err)
	}
	for _, f := range []struct {
		name string
		b    []byte
		want int
	}{
		{"LocalKey", k.LocalKey, keyLen},
		{"LocalSalt", k.LocalSalt, saltLen},
		{"RemoteKey", k.RemoteKey, keyLen},
		{"RemoteSalt", k.RemoteSalt, saltLen},
	} {
		if len(f.b) != f.want {
			return fmt.Errorf("%w: %s is %d bytes, %s needs %d", ErrInvalidKey, f.name, len(f.b), k.Profile, f.want)
		}
	}
	return nil
}

// srtpContexts holds one pion context per direction and protocol. A
// srtp.Context is not safe for concurrent use and keeps per-SSRC replay and
// rollover state, so each context has exactly one user: the RTP send path
// (under txMu), the RTCP send path (under rtcpTxMu), and the reader
// goroutine that sees RTP and RTCP respectively.
type srtpContexts struct {
	txRTP, txRTCP, rxRTP, rxRTCP *srtp.Context
	overhead                     int // worst-case bytes SRTP(C) adds to a packet
}

func newSRTPContexts(k *SRTPKeys) (*srtpContexts, error) {
	if err := k.validate(); err != nil {
		return nil, err
	}
	mk := func(key, salt []byte) (*srtp.Context, error) {
		c, err := srtp.CreateContext(key, salt, k.Profile)
		if err != nil {
			return nil, fmt.Errorf("rtp: srtp context: %w", err)
		}
		return c, nil
	}
	var c srtpContexts
	var err error
	if c.txRTP, err = mk(k.LocalKey, k.LocalSalt); err != nil {
		return nil, err
	}
	if c.txRTCP, err = mk(k.LocalKey, k.LocalSalt); err != nil {
		return nil, err
	}
	if c.rxRTP, err = mk(k.RemoteKey, k.RemoteSalt); err != nil {
		return nil, err
	}
	if c.rxRTCP, err = mk(k.RemoteKey, k.RemoteSalt); err != nil {
		return nil, err
	}
	rtpTag, _ := k.Profile.AuthTagRTPLen()
	rtcpTag, _ := k.Profile.AuthTagRTCPLen()
	aead, _ := k.Profile.AEADAuthTagLen()
	// SRTCP adds the E flag and index (4 bytes, RFC 3711 §3.4).
	c.overhead = max(rtpTag, rtcpTag) + aead + 4
	return &c, nil
}
