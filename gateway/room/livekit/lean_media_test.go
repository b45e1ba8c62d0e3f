package livekit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestLeanCertificateRenewed: the certificate every lean PeerConnection
// shares is replaced before it expires (pion refuses an expired one), and
// kept while it is valid.
func TestLeanCertificateRenewed(t *testing.T) {
	lm, err := newLeanMedia(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	first, err := lm.certificate()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := lm.certificate(); !again.Equals(first) {
		t.Error("a valid certificate was replaced")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	soon, err := webrtc.NewCertificate(key, x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	lm.cert = *soon
	renewed, err := lm.certificate()
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Equals(*soon) || time.Until(renewed.Expires()) < certRenewal {
		t.Errorf("a certificate expiring in an hour was kept (now expires %v)", renewed.Expires())
	}
	pc, err := lm.newPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.Close()
}
