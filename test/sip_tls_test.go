package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// TestSIPTLSWithRequiredSRTP: two phones dial the room over SIP/TLS to a
// trunk that requires SRTP; each hears the other and not itself. A plain
// RTP offer over the same TLS connection gets 488.
func TestSIPTLSWithRequiredSRTP(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSignedCert(t, dir)
	port := freeLoopbackPort(t)
	startSIPGateway(t, fmt.Sprintf(`
sip:
  listen: [tls://127.0.0.1:%d]
  tls: { cert: %q, key: %q }
trunks:
  - { name: secure, allow: [127.0.0.0/8], srtp: require, trusted: true }
`, port, cert, key))
	target := fmt.Sprintf("sip:demo@127.0.0.1:%d", port)

	a := sipStartCaller(t, caller.Options{
		Target: target, Transport: uac.TransportTLS, Insecure: true, SRTP: true,
		Codec: caller.CodecPCMU, Tone: 440, Duration: 8 * time.Second,
	})
	b := sipStartCaller(t, caller.Options{
		Target: target, Transport: uac.TransportTLS, Insecure: true, SRTP: true,
		Codec: caller.CodecPCMA, Tone: 1000, Duration: 8 * time.Second,
		PortMin: 35000, PortMax: 35999,
	})

	plain, err := caller.Run(t.Context(), caller.Options{
		Target: target, Transport: uac.TransportTLS, Insecure: true,
		Codec: caller.CodecPCMU, Tone: 300, Duration: time.Second,
		PortMin: 34000, PortMax: 34999,
	})
	if err == nil || plain == nil || plain.Status != 488 {
		t.Errorf("plain RTP offer to an SRTP-only trunk: report %+v, err %v; want 488", plain, err)
	}

	ra, rb := a.wait(t, 30*time.Second), b.wait(t, 30*time.Second)
	for _, c := range []struct {
		name       string
		r          *caller.Report
		hear, self float64
	}{{"A", ra, 1000, 440}, {"B", rb, 440, 1000}} {
		heard, own, off := c.r.PowerAt(c.hear), c.r.PowerAt(c.self), c.r.PowerAt(3100)
		t.Logf("%s: %.1f dBFS, peaks %v, power other %.3g own %.3g unrelated %.3g", c.name, c.r.HeardRMS, c.r.Peaks, heard, own, off)
		if heard < 100*off || heard < 10*own {
			t.Errorf("%s does not clearly hear the other phone over TLS+SRTP", c.name)
		}
	}
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key as PEM.
func selfSignedCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "roombridge test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
