package test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// TestDigestReplayBaresip: baresip, a real phone with a password, calls
// room demo over a trunk with digest auth (MD5: baresip 1.0's libre 1.1
// gives up on a SHA-256 challenge) through a UDP tap that keeps what it
// sends. The call is answered. The Authorization header the tap captured,
// sent again from the same address on a new INVITE, gets 401, never 200:
// its nonce count was used. Sent on an INVITE to another room it gets 401
// too: the digest uri is not that room's.
func TestDigestReplayBaresip(t *testing.T) {
	harness.RequireTool(t, "baresip")
	srv := startSIPGateway(t, `
trunks:
  - { name: pbx, allow: [127.0.0.1/32], trusted: true, username: alice, password: s3cret-pass, digest_algorithms: [MD5] }
rooms:
  - { name: demo, pin: "1234", host_pin: "9999", aliases: ["4711"] }
  - { name: other, pin: "5678" }
`)
	tap := startUDPTap(t, srv.SIPAddr)
	src := filepath.Join(t.TempDir(), "600.wav")
	if err := baresip.WriteToneWAV(src, 600, toneAmplitude, 30); err != nil {
		t.Fatal(err)
	}
	phone := baresip.Start(t, baresip.Options{
		User: "alice", Target: "sip:demo@" + tap.addr(), Source: src, Duration: 8 * time.Second,
		AuthUser: "alice", Password: "s3cret-pass",
	})
	sipWaitRoom(t, srv, "demo", 10*time.Second, phone.Done(), "the authenticated baresip phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	invite := tap.authorizedInvite()
	if invite == "" {
		t.Fatal("the tap saw no INVITE with an Authorization header")
	}
	auth := headerLine(invite, "Authorization")
	ruri := strings.Fields(strings.SplitN(invite, "\r\n", 2)[0])[1]

	for _, tc := range []struct{ what, ruri string }{
		{"same room", ruri},
		{"another room", strings.Replace(ruri, "demo@", "other@", 1)},
	} {
		code, challenge := replayInvite(t, srv.SIPAddr, tc.ruri, auth)
		if code != 401 {
			t.Errorf("replayed Authorization (%s): %d, want 401", tc.what, code)
		}
		if !strings.Contains(challenge, "nonce=") {
			t.Errorf("replayed Authorization (%s): no fresh challenge: %q", tc.what, challenge)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := phone.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := scrape(ctx, t, srv, `roombridge_sip_refused_total{reason="auth_replayed"}`); got != "1" {
		t.Errorf("sip_refused_total{auth_replayed} = %q, want 1", got)
	}
}

// replayInvite sends a new INVITE (new Call-ID, branch and From tag) to
// ruri with the given Authorization header from a socket of its own on
// 127.0.0.1, and returns the final status and the challenge, if any.
func replayInvite(t *testing.T, gateway, ruri, auth string) (int, string) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst, err := net.ResolveUDPAddr("udp", gateway)
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().String()
	id := fmt.Sprintf("replay-%d", time.Now().UnixNano())
	body := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	msg := fmt.Sprintf("INVITE %[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[2]s;branch=z9hG4bK-%[3]s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:alice@127.0.0.1>;tag=%[3]s\r\nTo: <%[1]s>\r\nCall-ID: %[3]s\r\nCSeq: 2 INVITE\r\n"+
		"Contact: <sip:alice@%[2]s>\r\n%[4]s\r\nContent-Type: application/sdp\r\nContent-Length: %[5]d\r\n\r\n%[6]s",
		ruri, local, id, auth, len(body), body)
	if _, err := c.WriteTo([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no final response to the replay: %v", err)
		}
		res := string(buf[:n])
		var code int
		if _, err := fmt.Sscanf(res, "SIP/2.0 %d", &code); err != nil || code < 200 {
			continue
		}
		return code, headerLine(res, "WWW-Authenticate")
	}
}

// headerLine returns the first header line name: … of msg, "" if none.
func headerLine(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return l
		}
	}
	return ""
}

// udpTap relays one UDP client to a SIP server and keeps what the client
// sends: a man in the middle reading signalling, as anyone on a plain
// SIP path can.
type udpTap struct {
	ln       net.PacketConn
	upstream net.PacketConn
	server   net.Addr

	mu     sync.Mutex
	client net.Addr
	sent   []string
}

func startUDPTap(t *testing.T, server string) *udpTap {
	t.Helper()
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	tp := &udpTap{ln: ln, upstream: up, server: dst}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := ln.ReadFrom(buf)
			if err != nil {
				return
			}
			tp.mu.Lock()
			tp.client = from
			tp.sent = append(tp.sent, string(buf[:n]))
			tp.mu.Unlock()
			_, _ = up.WriteTo(buf[:n], dst)
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, _, err := up.ReadFrom(buf)
			if err != nil {
				return
			}
			tp.mu.Lock()
			client := tp.client
			tp.mu.Unlock()
			if client != nil {
				_, _ = ln.WriteTo(buf[:n], client)
			}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		_ = up.Close()
		wg.Wait()
	})
	return tp
}

func (tp *udpTap) addr() string { return tp.ln.LocalAddr().String() }

// authorizedInvite is the first INVITE the client sent with credentials.
func (tp *udpTap) authorizedInvite() string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, m := range tp.sent {
		if strings.HasPrefix(m, "INVITE ") && headerLine(m, "Authorization") != "" {
			return m
		}
	}
	return ""
}
