package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/roombridge/roombridge/gateway/room"
)

// BenchmarkForwardPion forwards packets through one real down track: the
// SFU's rewrite plus pion's interceptors (NACK responder, sender reports)
// and SRTP, to a loopback PeerConnection that does not read them. Allocs
// here are pion's (the receiving side's too, as it runs in this process).
func BenchmarkForwardPion(b *testing.B) {
	for _, kind := range []room.TrackKind{room.TrackKindAudio, room.TrackKindVideo} {
		b.Run(kind.String(), func(b *testing.B) { benchForwardPion(b, kind) })
	}
}

func benchForwardPion(b *testing.B, kind room.TrackKind) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	codec := codecInfo{MimeType: "audio/opus", ClockRate: 48000}
	size := 80
	if kind == room.TrackKindVideo {
		codec, size = codecInfo{MimeType: "video/VP8", ClockRate: 90000}, 1200
	}
	t := newPubTrack("TR_bench", kind, codec, &member{id: "PA_pub"}, s.m, func() {})
	server, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	client, err := newClientAPI(b).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	peer := testPeer(b, s.m)
	d := newDownTrack(t, peer)
	if _, err := server.AddTrack(d); err != nil {
		b.Fatal(err)
	}
	t.addSubscriber(d)
	signalPair(b, server, client)
	deadline := time.Now().Add(10 * time.Second)
	for d.bound.Load() == nil || server.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			b.Fatal("not connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	payload := make([]byte, size)
	payload[0] = 0x10
	hdr := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 42}
	p := &fwdPacket{hdr: hdr, payload: payload, level: 30, hasLevel: kind == room.TrackKindAudio}
	peers := []*rtcPeer{peer}
	for i := range 1000 { // warm pion's pools
		hdr.SequenceNumber++
		t.forward(p)
		waitSent(peers, uint64(i+1))
	}
	b.ReportAllocs()
	var fwd time.Duration
	cpu0 := cpuTime()
	b.ResetTimer()
	// The sender catches up every 16 packets, as between a room's ticks:
	// ns/packet is the forwarder's (the room tick's) time, cpu-ns/packet
	// the cost of one packet through the forwarder, the subscriber's
	// sender, pion and the socket.
	start := time.Now()
	for i := range b.N {
		hdr.SequenceNumber++
		hdr.Timestamp += 960
		t.forward(p)
		if i%16 == 15 || i == b.N-1 {
			fwd += time.Since(start)
			waitSent(peers, uint64(1000+i+1))
			start = time.Now()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(fwd.Nanoseconds())/float64(b.N), "ns/packet")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/packet")
	b.ReportMetric(float64(peer.downOut.q.Dropped()), "dropped")
}

// signalPair does a non-trickle offer/answer between two local
// PeerConnections.
func signalPair(b *testing.B, offerer, answerer *webrtc.PeerConnection) {
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gather := webrtc.GatheringCompletePromise(offerer)
	if err := offerer.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-gather
	if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gather = webrtc.GatheringCompletePromise(answerer)
	if err := answerer.SetLocalDescription(answer); err != nil {
		b.Fatal(err)
	}
	<-gather
	if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
		b.Fatal(err)
	}
}
