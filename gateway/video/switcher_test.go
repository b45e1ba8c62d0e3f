package video

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// room is a test room: sources named a and b sending the x264 stream at
// 30 fps with their own timestamps (b five frames ahead, and without
// SPS/PPS after its keyframe at step 5), into a Switcher and one
// Packetizer; what the room system receives is depacketized again.
type room struct {
	t     *testing.T
	sw    *Switcher
	pk    *Packetizer
	rx    *Depacketizer
	got   collector
	pkts  []*rtp.Packet
	aus   [][]byte
	now   time.Time
	frame int
	sent  []string // source of each access unit sent
	asks  []string
}

func newRoom(t *testing.T) *room {
	r := &room{t: t, sw: NewSwitcher(SwitcherConfig{}), aus: readAUs(t, x264Stream), now: time.Unix(1000, 0)}
	var err error
	r.pk, err = NewPacketizer(PacketizerConfig{Mode: 1, MTU: 500, SSRC: 0xabc, PayloadType: 96, FirstSequence: 65000}, func(b []byte) error {
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), b...)); err != nil {
			t.Fatal(err)
		}
		r.pkts = append(r.pkts, &p)
		r.rx.Push(&p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.rx = NewDepacketizer(r.got.add, 0)
	return r
}

// step sends one frame of each source and advances the clock by 33 ms.
func (r *room) step() {
	for _, id := range []string{"a", "b"} {
		i := r.frame
		base := uint32(5_000_000)
		if id == "b" {
			i += 5
			base = 123
		}
		au := r.aus[i%len(r.aus)]
		if id == "b" && i > 10 {
			au = stripParams(au)
		}
		f, ok := r.sw.Frame(id, au, base+uint32(i)*3000, r.now)
		if !ok {
			continue
		}
		if f.Switched && !f.Keyframe {
			r.t.Fatalf("switched to %s on a non-key frame", id)
		}
		if f.Keyframe {
			if n := types(nals(f.Data)); len(n) < 4 || n[1] != NALSPS || n[2] != NALPPS {
				r.t.Errorf("keyframe of %s at step %d sent as %v", id, r.frame, n)
			}
		}
		if err := r.pk.Packetize(f.Data, f.Timestamp); err != nil {
			r.t.Fatal(err)
		}
		r.sent = append(r.sent, id)
	}
	if id, ok := r.sw.Poll(r.now); ok {
		r.asks = append(r.asks, id)
	}
	r.frame++
	r.now = r.now.Add(33 * time.Millisecond)
}

// TestSwitcher switches a → b → a → b: each switch happens at the new
// source's next keyframe, the old source flows until then, and the room
// system's stream has no sequence gap, no timestamp going back, and
// decodes whole (every access unit delivered, SPS/PPS before every IDR,
// even b's second keyframe, which came without them).
func TestSwitcher(t *testing.T) {
	r := newRoom(t)
	switchedAt := map[int]string{}
	for _, sel := range []struct {
		at   int
		id   string
		want int // step of the switch: the source's next keyframe
	}{{0, "a", 0}, {3, "b", 5}, {6, "a", 10}, {11, "b", 15}} {
		for r.frame < sel.at {
			r.step()
		}
		if !r.sw.Select(sel.id, r.now) || r.sw.Select(sel.id, r.now) {
			t.Fatalf("select %s: keyframe asks wrong", sel.id)
		}
		for r.sw.Current() != sel.id && r.frame < 40 {
			if r.frame > sel.at && r.sw.Current() != "" && len(r.sent) > 0 && r.sent[len(r.sent)-1] == sel.id {
				t.Fatalf("%s forwarded before its switch", sel.id)
			}
			r.step()
		}
		if got := r.frame - 1; got != sel.want {
			t.Errorf("switched to %s at step %d, want %d", sel.id, got, sel.want)
		}
		switchedAt[len(r.sent)-1] = sel.id
	}
	for r.frame < 20 {
		r.step()
	}
	if st := r.sw.Stats(); st.Switches != 4 || st.Abandoned != 0 || st.Undecodable != 0 {
		t.Errorf("stats %+v", st)
	}
	// One source at a time, changing only at the switches.
	for i := 1; i < len(r.sent); i++ {
		if id, ok := switchedAt[i]; ok != (r.sent[i] != r.sent[i-1]) || ok && r.sent[i] != id {
			t.Errorf("access unit %d from %s after %s", i, r.sent[i], r.sent[i-1])
		}
	}

	// The room system's view.
	for i, p := range r.pkts {
		if p.SSRC != 0xabc || p.SequenceNumber != uint16(65000+i) {
			t.Fatalf("packet %d: ssrc %x seq %d", i, p.SSRC, p.SequenceNumber)
		}
		if i > 0 && int32(p.Timestamp-r.pkts[i-1].Timestamp) < 0 {
			t.Fatalf("packet %d: timestamp went back %d → %d", i, r.pkts[i-1].Timestamp, p.Timestamp)
		}
	}
	rx := r.rx.Stats()
	if rx.Lost != 0 || rx.Dropped != 0 || rx.ParamsInserted != 0 || int(rx.Frames) != len(r.sent) || rx.Keyframes < 4 {
		t.Errorf("room system: %+v, %d sent", rx, len(r.sent))
	}
	for i, au := range r.got.aus {
		if r.got.keys[i] {
			n := nals(au)
			if NALType(n[1]) != NALSPS || NALType(n[2]) != NALPPS {
				t.Errorf("keyframe %d without SPS/PPS: %v", i, types(n))
			}
		}
		if i > 0 {
			if d := r.got.ts[i] - r.got.ts[i-1]; d == 0 || d > 2*3000 {
				t.Errorf("access unit %d: timestamp step %d", i, d)
			}
		}
	}
}

// TestSwitcherTimeout: a source that never sends a keyframe is asked
// again every KeyframeRetry and given up after SwitchTimeout; the old one
// flows on throughout.
func TestSwitcherTimeout(t *testing.T) {
	sw := NewSwitcher(SwitcherConfig{KeyframeRetry: 100 * time.Millisecond, SwitchTimeout: time.Second})
	now := time.Unix(0, 0)
	aus := readAUs(t, x264Stream)
	sw.Select("a", now)
	if _, ok := sw.Frame("a", aus[1], 0, now); ok {
		t.Fatal("switched at a non-key frame")
	}
	if _, ok := sw.Frame("a", aus[0], 0, now); !ok {
		t.Fatal("no switch at a keyframe")
	}
	sw.Select("b", now)
	asks := 0
	for i := 1; i <= 40; i++ {
		now = now.Add(33 * time.Millisecond)
		if _, ok := sw.Frame("a", aus[i%10+1], uint32(i*3000), now); !ok && i < 40 {
			t.Fatalf("a stopped at %d", i)
		}
		if _, ok := sw.Frame("b", aus[1], uint32(i*3000), now); ok {
			t.Fatal("b forwarded without a keyframe")
		}
		if id, ok := sw.Poll(now); ok {
			if id != "b" {
				t.Fatalf("asked %q", id)
			}
			asks++
		}
	}
	if sw.Pending() != "" || sw.Current() != "a" || sw.Stats().Abandoned != 1 || asks < 6 || asks > 10 {
		t.Errorf("pending %q current %q asks %d stats %+v", sw.Pending(), sw.Current(), asks, sw.Stats())
	}

	// With nothing on the output, a switch is never given up.
	sw.Remove("a")
	sw.Select("b", now)
	for range 100 {
		now = now.Add(100 * time.Millisecond)
		sw.Poll(now)
	}
	if sw.Pending() != "b" {
		t.Error("pending switch given up with nothing to show")
	}
	// A keyframe without SPS/PPS ever seen cannot be switched to.
	if _, ok := sw.Frame("b", stripParams(aus[0]), 0, now); ok || sw.Stats().Undecodable != 1 {
		t.Errorf("undecodable keyframe switched to: %+v", sw.Stats())
	}
	f, ok := sw.Frame("b", aus[0], 0, now)
	if !ok || !f.Switched || sw.Current() != "b" {
		t.Fatal("no switch to b")
	}
	// Its timeline continues after a's.
	if int32(f.Timestamp-uint32(39*3000)) <= 0 {
		t.Errorf("timestamp %d after a's %d", f.Timestamp, 39*3000)
	}
	// Selecting the current source cancels a pending switch.
	sw.Select("c", now)
	sw.Select("b", now)
	if sw.Pending() != "" {
		t.Error("pending switch not cancelled")
	}
}

// TestSwitcherSourceClockJump: a source whose timestamps jump (it
// republished) stays continuous on the output.
func TestSwitcherSourceClockJump(t *testing.T) {
	sw := NewSwitcher(SwitcherConfig{})
	aus := readAUs(t, x264Stream)
	now := time.Unix(0, 0)
	sw.Select("a", now)
	var last uint32
	for i, ts := range []uint32{1000, 4000, 7000, 50, 3050, 4_000_000_000, 4_000_003_000} {
		f, ok := sw.Frame("a", aus[i%10], ts, now)
		if !ok {
			t.Fatalf("frame %d dropped", i)
		}
		if i > 0 && (int32(f.Timestamp-last) <= 0 || f.Timestamp-last > 3000) {
			t.Errorf("frame %d: %d after %d", i, f.Timestamp, last)
		}
		last = f.Timestamp
		now = now.Add(33 * time.Millisecond)
	}
}

func TestKeyframeLimiter(t *testing.T) {
	var l KeyframeLimiter
	now := time.Unix(0, 0)
	if !l.Request(now) {
		t.Fatal("first request held")
	}
	if l.Request(now.Add(100*time.Millisecond)) || l.Request(now.Add(200*time.Millisecond)) {
		t.Fatal("requests within the interval sent")
	}
	if at, ok := l.NextDue(); !ok || at != now.Add(DefaultKeyframeInterval) {
		t.Errorf("next due %v %v", at, ok)
	}
	if l.Due(now.Add(400 * time.Millisecond)) {
		t.Fatal("due early")
	}
	if !l.Due(now.Add(500*time.Millisecond)) || l.Due(now.Add(501*time.Millisecond)) {
		t.Fatal("remembered request not released exactly once")
	}
	// A keyframe answers a remembered request.
	l.Request(now.Add(600 * time.Millisecond))
	l.Satisfied()
	if l.Due(now.Add(2 * time.Second)) {
		t.Error("request due after a keyframe came")
	}
	if _, ok := l.NextDue(); ok {
		t.Error("still pending")
	}
	if !l.Request(now.Add(2*time.Second)) || l.Sent != 3 || l.Folded != 2 {
		t.Errorf("sent %d folded %d", l.Sent, l.Folded)
	}
	// A new receiver's request after an answered one: at once once the
	// least gap has passed, but not sooner, and not while unanswered.
	at := now.Add(2 * time.Second)
	if l.RequestAfterKeyframe(at.Add(50*time.Millisecond), 100*time.Millisecond) {
		t.Error("new receiver's request sent unanswered within the interval")
	}
	l.Satisfied()
	if l.RequestAfterKeyframe(at.Add(80*time.Millisecond), 100*time.Millisecond) {
		t.Error("new receiver's request sent within the least gap")
	}
	l.Satisfied()
	if !l.RequestAfterKeyframe(at.Add(120*time.Millisecond), 100*time.Millisecond) {
		t.Error("new receiver's request held after a keyframe answered the last")
	}
	if l.RequestAfterKeyframe(at.Add(250*time.Millisecond), 100*time.Millisecond) {
		t.Error("sent again before its keyframe came")
	}
}

// BenchmarkSwitch passes the forwarded source's access units through the
// Switcher and the Packetizer while another source is offered and
// dropped; per packet sent.
func BenchmarkSwitch(b *testing.B) {
	aus := readAUs(b, x264Stream)
	n := 0
	pk, _ := NewPacketizer(PacketizerConfig{Mode: 1}, func([]byte) error { n++; return nil })
	sw := NewSwitcher(SwitcherConfig{})
	now := time.Unix(0, 0)
	sw.Select("a", now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; n < b.N; i++ {
		au := aus[i%len(aus)]
		if f, ok := sw.Frame("a", au, uint32(i*3000), now); ok {
			if err := pk.Packetize(f.Data, f.Timestamp); err != nil {
				b.Fatal(err)
			}
		}
		sw.Frame("b", au, uint32(i*3000), now)
		now = now.Add(33 * time.Millisecond)
	}
}
