package video

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// capturedPacket is one RTP packet of a capture and when it arrived.
type capturedPacket struct {
	at  time.Duration
	pkt *rtp.Packet
}

// readPcap reads the RTP packets of a pcap file of testdata with link type
// RAW (IPv4, UDP, RTP), as test/video_baresip_test.go records them.
func readPcap(t testing.TB, name string) []capturedPacket {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(b[20:]) != 101 {
		t.Fatalf("%s: not a little-endian LINKTYPE_RAW pcap", name)
	}
	var out []capturedPacket
	for b = b[24:]; len(b) >= 16; {
		sec, usec, n := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), int(binary.LittleEndian.Uint32(b[8:]))
		b = b[16:]
		if n > len(b) || n < 28 || b[0]>>4 != 4 || b[9] != 17 {
			t.Fatalf("%s: bad record", name)
		}
		ihl := int(b[0]&0x0f) * 4
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), b[ihl+8:n]...)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, capturedPacket{at: time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, pkt: &p})
		b = b[n:]
	}
	return out
}

// TestCaptures replays what real peers sent, recorded by the end-to-end
// tests with ROOMBRIDGE_RECORD_VIDEO=dir:
//
//   - baresip-h264.pcap (test.TestBaresipVideo; its offer is
//     gateway/sdp/testdata/baresip-h264.sdp): baresip 1.0's avcodec
//     (libx264) encoding a moving picture at 320×180 and 15 fps in
//     packetization-mode 1: SPS, PPS and an x264 SEI as single NAL unit
//     packets, slices as FU-A of 1024-byte payloads, and IDRs it sent when
//     asked by RTCP PLI and SIP INFO;
//   - chromium-h264.pcap (test.TestChromiumH264; its offer is
//     chromium-h264-offer.sdp): Chromium's fake camera at 640×360 asked
//     for 15 fps (it sent about 9 on the loaded machine that recorded
//     it) as constrained baseline (OpenH264), SPS and PPS in a STAP-A,
//     padding-only packets between frames (bandwidth probing), and IDRs
//     it sent when asked by PLI and FIR.
//
// Every access unit must come back whole, at the size sent.
func TestCaptures(t *testing.T) {
	for _, tc := range []struct {
		file          string
		width, height int
		keyframes     uint64
	}{
		{"baresip-h264.pcap", 320, 180, 3},
		{"chromium-h264.pcap", 640, 360, 2},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pkts := readPcap(t, tc.file)
			c := &collector{}
			d := NewDepacketizer(c.add, 0)
			for _, p := range pkts {
				if d.Push(p.pkt) {
					t.Fatalf("keyframe wanted at packet %d", p.pkt.SequenceNumber)
				}
			}
			st := d.Stats()
			t.Logf("%d packets, %+v", len(pkts), st)
			if st.Width != tc.width || st.Height != tc.height || st.Lost != 0 || st.Dropped != 0 || st.Keyframes < tc.keyframes || !c.keys[0] {
				t.Errorf("stats %+v", st)
			}
			// The meter (RTP timestamps of the last frames) against the
			// frames over the capture's arrival times: close, though the
			// rate sent wanders (Chromium's drops under load).
			span := (pkts[len(pkts)-1].at - pkts[0].at).Seconds()
			if want := float64(st.Frames-1) / span; st.FrameRate < 0.75*want || st.FrameRate > 1.25*want {
				t.Errorf("frame rate %.2f, %.2f by arrival", st.FrameRate, want)
			}
		})
	}
}
