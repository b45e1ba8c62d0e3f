package rtp

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

// A re-INVITE gives a new key for one direction (RFC 4568 §7.1.4): after
// Rekey on both ends the new key carries the audio, packets the peer sent
// under its old key just before still authenticate for the grace, and the
// direction whose key stayed keeps its context.
func TestRekey(t *testing.T) {
	checkGoroutines(t)
	pool := testPool(t, 8)
	for _, p := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		t.Run(p.String(), func(t *testing.T) {
			ka, kb := keyPair(t, p)
			ra, rb := newRecorder(), newRecorder()
			a := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.SRTP, cfg.Handler = ka, ra })
			b := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.SRTP, cfg.Handler = kb, rb })
			connect(a, b)
			send := func(s *Session, from, n int) {
				for i := from; i < from+n; i++ {
					if err := s.WriteRTP(payloadFor(i), 0, uint32(i*160), false); err != nil {
						t.Fatal(err)
					}
				}
			}
			send(a, 0, 10)
			rb.waitCount(t, 10, 2*time.Second)

			// b learns a's new key first; a still sends under the old one
			// for a moment (its re-INVITE's 200 OK is on the way).
			newA, _ := keyPair(t, p)
			ka2 := &SRTPKeys{Profile: p, LocalKey: newA.LocalKey, LocalSalt: newA.LocalSalt, RemoteKey: ka.RemoteKey, RemoteSalt: ka.RemoteSalt}
			kb2 := &SRTPKeys{Profile: p, LocalKey: kb.LocalKey, LocalSalt: kb.LocalSalt, RemoteKey: newA.LocalKey, RemoteSalt: newA.LocalSalt}
			oldTx := b.srtp.Load().txRTP
			if err := b.Rekey(kb2); err != nil {
				t.Fatal(err)
			}
			if b.srtp.Load().txRTP != oldTx {
				t.Error("Rekey replaced the context of a direction whose key did not change")
			}
			send(a, 10, 10) // old key, within the grace
			rb.waitCount(t, 20, 2*time.Second)
			if err := a.Rekey(ka2); err != nil {
				t.Fatal(err)
			}
			send(a, 20, 10) // new key
			rb.waitCount(t, 30, 2*time.Second)
			for i, pl := range rb.snapshot() {
				if !bytes.Equal(pl, payloadFor(i)) {
					t.Fatalf("packet %d wrong after the re-key", i)
				}
			}
			// b's own direction is untouched: a still hears b.
			send(b, 100, 5)
			ra.waitCount(t, 5, 2*time.Second)
			if st := b.Stats(); st.DecryptErrors != 0 {
				t.Errorf("%d decrypt errors across the re-key", st.DecryptErrors)
			}

			// One re-key later, the first key no longer opens anything:
			// only the key just replaced has a grace.
			third, _ := keyPair(t, p)
			kb3 := &SRTPKeys{Profile: p, LocalKey: kb.LocalKey, LocalSalt: kb.LocalSalt, RemoteKey: third.LocalKey, RemoteSalt: third.LocalSalt}
			if err := b.Rekey(kb3); err != nil {
				t.Fatal(err)
			}
			old := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.SRTP = ka })
			old.SetRemote(b.LocalAddr(), b.ports.RTCPAddr())
			for i := range 5 {
				if err := old.WriteRTP(payloadFor(i), 0, uint32(i*160), false); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 2*time.Second, "decrypt errors", func() bool { return b.Stats().DecryptErrors >= 5 })
			if rb.count() != 30 {
				t.Errorf("packets under a key two re-keys old delivered: %d", rb.count()-30)
			}
		})
	}
}

// Rekey turns SRTP on for a plain session, and refuses to turn it off.
func TestRekeyFromPlain(t *testing.T) {
	checkGoroutines(t)
	pool := testPool(t, 4)
	ka, kb := keyPair(t, srtp.ProtectionProfileAes128CmHmacSha1_80)
	rb := newRecorder()
	a := newTestSession(t, pool, nil)
	b := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.Handler = rb })
	connect(a, b)
	if err := a.Rekey(ka); err != nil {
		t.Fatal(err)
	}
	if err := b.Rekey(kb); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := a.WriteRTP(payloadFor(i), 0, uint32(i*160), false); err != nil {
			t.Fatal(err)
		}
	}
	rb.waitCount(t, 5, 2*time.Second)
	if err := a.Rekey(nil); err == nil {
		t.Error("Rekey(nil) turned SRTP off")
	}
}
