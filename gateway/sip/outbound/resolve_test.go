package outbound_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/sip/uac"
)

// dnsServer serves the zone's records (in zone-file syntax) on a loopback
// UDP port and returns its address.
func dnsServer(t *testing.T, zone string) string {
	t.Helper()
	records := map[string][]dns.RR{} // by "name type"
	for line := range strings.SplitSeq(strings.TrimSpace(zone), "\n") {
		rr, err := dns.NewRR(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		key := strings.ToLower(rr.Header().Name) + " " + dns.TypeToString[rr.Header().Rrtype]
		records[key] = append(records[key], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		m.Answer = records[strings.ToLower(q.Name)+" "+dns.TypeToString[q.Qtype]]
		if len(m.Answer) == 0 {
			known := false
			for k := range records {
				if strings.HasPrefix(k, strings.ToLower(q.Name)+" ") {
					known = true
				}
			}
			if !known {
				m.Rcode = dns.RcodeNameError
			}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown(); <-done })
	return pc.LocalAddr().String()
}

const zone = `
carrier.example. 60 IN NAPTR 10 50 "s" "SIPS+D2T" "" _sips._tcp.carrier.example.
carrier.example. 60 IN NAPTR 20 50 "s" "SIP+D2U" "" _sip._udp.carrier.example.
carrier.example. 60 IN NAPTR 30 50 "s" "SIP+D2X" "" _sip._x.carrier.example.
_sips._tcp.carrier.example. 60 IN SRV 10 0 5061 tls1.carrier.example.
_sip._udp.carrier.example. 60 IN SRV 10 0 5070 a.carrier.example.
_sip._udp.carrier.example. 60 IN SRV 20 0 5080 b.carrier.example.
tls1.carrier.example. 60 IN A 127.0.0.11
a.carrier.example. 60 IN A 127.0.0.12
b.carrier.example. 60 IN A 127.0.0.13
_sip._tcp.srvonly.example. 60 IN SRV 5 0 5090 a.carrier.example.
plain.example. 60 IN A 127.0.0.14
`

func TestResolve(t *testing.T) {
	r := outbound.Resolver{Server: dnsServer(t, zone), Timeout: 2 * time.Second}
	for _, tc := range []struct {
		host   string
		port   uint16
		tp     uac.Transport
		secure bool
		want   string
	}{
		// NAPTR picks transports in order; SRV orders servers.
		{"carrier.example", 0, uac.TransportUnknown, false, "tls:127.0.0.11:5061 udp:127.0.0.12:5070 udp:127.0.0.13:5080"},
		// sips: only the TLS services.
		{"carrier.example", 0, uac.TransportUnknown, true, "tls:127.0.0.11:5061"},
		// A transport parameter skips NAPTR: the SRV of that transport.
		{"carrier.example", 0, uac.TransportUDP, false, "udp:127.0.0.12:5070 udp:127.0.0.13:5080"},
		// No NAPTR: SRV for each transport.
		{"srvonly.example", 0, uac.TransportUnknown, false, "tcp:127.0.0.12:5090"},
		// Neither: A records, default port.
		{"plain.example", 0, uac.TransportUnknown, false, "udp:127.0.0.14:5060"},
		{"plain.example", 0, uac.TransportUnknown, true, "tls:127.0.0.14:5061"},
		// A port: no SRV.
		{"a.carrier.example", 5999, uac.TransportTCP, false, "tcp:127.0.0.12:5999"},
		// An address: as it is.
		{"127.0.0.9", 0, uac.TransportUnknown, false, "udp:127.0.0.9:5060"},
	} {
		ts, err := r.Resolve(context.Background(), tc.host, tc.port, tc.tp, tc.secure)
		if err != nil {
			t.Errorf("%s: %v", tc.host, err)
			continue
		}
		var got []string
		for _, x := range ts {
			got = append(got, x.String())
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s %d %v %v: %s, want %s", tc.host, tc.port, tc.tp, tc.secure, g, tc.want)
		}
	}
	if _, err := r.Resolve(context.Background(), "nowhere.example", 0, uac.TransportUnknown, false); err == nil {
		t.Error("nowhere.example resolved")
	}
}

// A trunk URI without a port is dialled at the servers SRV names, and the
// second server carries the call when the first one is down (RFC 3263
// §4.3).
func TestDialSRVFailover(t *testing.T) {
	silent := silentUDP(t)
	srv := startUASAddr(t)
	_, sp, _ := net.SplitHostPort(silent)
	_, gp, _ := net.SplitHostPort(srv)
	z := fmt.Sprintf(`
_sip._udp.trunk.example. 60 IN SRV 10 0 %s down.trunk.example.
_sip._udp.trunk.example. 60 IN SRV 20 0 %s up.trunk.example.
down.trunk.example. 60 IN A 127.0.0.1
up.trunk.example. 60 IN A 127.0.0.1`, sp, gp)
	m, err := outbound.New(outbound.Config{
		Trunks:   []outbound.Trunk{{Name: "srv", URI: "sip:trunk.example;transport=udp", InviteTimeout: 500 * time.Millisecond}},
		LocalIP:  loopback,
		Resolver: outbound.Resolver{Server: dnsServer(t, z)},
		Logger:   testLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	var attempts []string
	call, err := m.Dial(ctxT(t, 10*time.Second), outbound.DialRequest{
		To: "+15551234567", Offer: offer(t),
		OnAttempt: func(a outbound.Attempt) { attempts = append(attempts, a.Target.Addr.String()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer call.Hangup(context.Background())
	if len(attempts) != 2 || attempts[1] != srv || call.Target.Addr.String() != srv {
		t.Errorf("attempts %v, answered by %v", attempts, call.Target)
	}
}
