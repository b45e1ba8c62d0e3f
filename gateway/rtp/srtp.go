package rtp

import (
	"bytes"
	"fmt"
	"time"

	pionrtp "github.com/pion/rtp"
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
//
// Rekey replaces the whole set; a context whose key did not change is
// carried over (its replay and rollover state with it, and it keeps its
// one user). For rekeyGrace after the peer's key changed, what it sent
// under the old key may still arrive: the receive path then decrypts out
// of place into a scratch buffer of its own and, failing, tries the
// previous contexts.
type srtpContexts struct {
	keys                         SRTPKeys
	txRTP, txRTCP, rxRTP, rxRTCP *srtp.Context
	overhead                     int // worst-case bytes SRTP(C) adds to a packet

	prev                    *srtpContexts // before the last re-key of the peer's key
	prevUntil               int64         // Session.nanos() until which prev is tried
	rtpScratch, rtcpScratch []byte        // one per receiving goroutine, during the grace
}

// rekeyGrace is how long packets under the peer's previous key are still
// accepted after a re-key.
const rekeyGrace = 2 * time.Second

func newSRTPContexts(k *SRTPKeys) (*srtpContexts, error) {
	return rekeyContexts(nil, k, 0)
}

// rekeyContexts makes the contexts for k, carrying over those of old whose
// keys are the same; now is Session.nanos().
func rekeyContexts(old *srtpContexts, k *SRTPKeys, now int64) (*srtpContexts, error) {
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
	c := srtpContexts{keys: k.clone()}
	var err error
	if old != nil && old.keys.Profile == k.Profile && bytes.Equal(old.keys.LocalKey, k.LocalKey) && bytes.Equal(old.keys.LocalSalt, k.LocalSalt) {
		c.txRTP, c.txRTCP = old.txRTP, old.txRTCP
	} else {
		if c.txRTP, err = mk(k.LocalKey, k.LocalSalt); err != nil {
			return nil, err
		}
		if c.txRTCP, err = mk(k.LocalKey, k.LocalSalt); err != nil {
			return nil, err
		}
	}
	if old != nil && old.keys.Profile == k.Profile && bytes.Equal(old.keys.RemoteKey, k.RemoteKey) && bytes.Equal(old.keys.RemoteSalt, k.RemoteSalt) {
		c.rxRTP, c.rxRTCP = old.rxRTP, old.rxRTCP
		c.prev, c.prevUntil, c.rtpScratch, c.rtcpScratch = old.prev, old.prevUntil, old.rtpScratch, old.rtcpScratch
	} else {
		if c.rxRTP, err = mk(k.RemoteKey, k.RemoteSalt); err != nil {
			return nil, err
		}
		if c.rxRTCP, err = mk(k.RemoteKey, k.RemoteSalt); err != nil {
			return nil, err
		}
		if old != nil {
			c.prev, c.prevUntil = old, now+int64(rekeyGrace)
			c.rtpScratch, c.rtcpScratch = make([]byte, receiveMTU), make([]byte, receiveMTU)
		}
	}
	rtpTag, _ := k.Profile.AuthTagRTPLen()
	rtcpTag, _ := k.Profile.AuthTagRTCPLen()
	aead, _ := k.Profile.AEADAuthTagLen()
	// SRTCP adds the E flag and index (4 bytes, RFC 3711 §3.4).
	c.overhead = max(rtpTag, rtcpTag) + aead + 4
	return &c, nil
}

func (k *SRTPKeys) clone() SRTPKeys {
	return SRTPKeys{
		Profile:  k.Profile,
		LocalKey: bytes.Clone(k.LocalKey), LocalSalt: bytes.Clone(k.LocalSalt),
		RemoteKey: bytes.Clone(k.RemoteKey), RemoteSalt: bytes.Clone(k.RemoteSalt),
	}
}

// decryptRTP authenticates and decrypts b, in place unless a re-key's
// grace is running (see srtpContexts). RTP reader goroutine only.
func (c *srtpContexts) decryptRTP(b []byte, h *pionrtp.Header, now int64) ([]byte, error) {
	if c.prev == nil || now > c.prevUntil {
		return c.rxRTP.DecryptRTP(b, b, h)
	}
	if out, err := c.rxRTP.DecryptRTP(c.rtpScratch, b, h); err == nil {
		return out, nil
	}
	return c.prev.rxRTP.DecryptRTP(b, b, h)
}

// decryptRTCP is decryptRTP for SRTCP; RTCP reader goroutine only.
func (c *srtpContexts) decryptRTCP(b []byte, now int64) ([]byte, error) {
	if c.prev == nil || now > c.prevUntil {
		return c.rxRTCP.DecryptRTCP(b, b, nil)
	}
	if out, err := c.rxRTCP.DecryptRTCP(c.rtcpScratch, b, nil); err == nil {
		return out, nil
	}
	return c.prev.rxRTCP.DecryptRTCP(b, b, nil)
}

// Rekey replaces the session's SDES keys, as a re-INVITE that changed
// a=crypto asks (RFC 4568 §7.1.4), or turns SRTP on for a session that
// was plain. What we send is encrypted with the new local key from the
// next packet; what we receive is decrypted with the new remote key and,
// for a short grace, with the previous one too. A direction whose key did
// not change keeps its context, so that its rollover counter never
// restarts under the same key. It cannot turn SRTP off: nil keys are an
// error.
func (s *Session) Rekey(k *SRTPKeys) error {
	if k == nil {
		return fmt.Errorf("%w: no keys", ErrInvalidKey)
	}
	s.rekeyMu.Lock()
	defer s.rekeyMu.Unlock()
	c, err := rekeyContexts(s.srtp.Load(), k, s.nanos())
	if err != nil {
		return err
	}
	s.srtp.Store(c)
	return nil
}
