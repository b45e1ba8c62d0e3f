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

// TestBaresipCapture replays what baresip 1.0 sent (testdata/baresip-h264.pcap,
// two seconds of its H.264 RTP in packetization-mode 1, recorded by
// test.TestBaresipVideo with ROOMBRIDGE_RECORD_VIDEO=dir; its offer is
// gateway/sdp/testdata/baresip-h264.sdp): the
// moving test picture decoded and encoded again by baresip's avformat and
// avcodec (libx264) modules at 320×180 and 15 fps, SPS, PPS and SEI as
// single NAL unit packets, slices as FU-A of 1024-byte payloads, and two
// IDRs it sent when asked (RTCP PLI, SIP INFO).
func TestBaresipCapture(t *testing.T) {
	pkts := readPcap(t, "baresip-h264.pcap")
	c := &collector{}
	d := NewDepacketizer(c.add, 0)
	for _, p := range pkts {
		if d.Push(p.pkt) {
			t.Fatalf("keyframe wanted at packet %d", p.pkt.SequenceNumber)
		}
	}
	st := d.Stats()
	t.Logf("%d packets, %+v", len(pkts), st)
	if st.Width != 320 || st.Height != 180 || st.Lost != 0 || st.Dropped != 0 || st.Keyframes < 3 || !c.keys[0] {
		t.Errorf("stats %+v", st)
	}
	if st.FrameRate < 14 || st.FrameRate > 16 {
		t.Errorf("frame rate %.2f, want 15", st.FrameRate)
	}
}
