package sipws

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gobwas/ws"
)

const handshake101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

// serverFrames is what sipgo writes: gobwas frames, unmasked.
func serverFrames(t testing.TB, msgs ...string) []byte {
	var b bytes.Buffer
	b.WriteString(handshake101)
	for _, m := range msgs {
		if err := ws.WriteFrame(&b, ws.NewTextFrame([]byte(m))); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// decodeAll feeds data to a decoder in chunks of size n and returns the
// messages.
func decodeAll(data []byte, n, limit int) ([]string, error) {
	d := frameDecoder{max: limit}
	var out []string
	emit := func(m []byte) error { out = append(out, string(m)); return nil }
	for len(data) > 0 {
		k := min(n, len(data))
		if err := d.write(data[:k], emit); err != nil {
			return out, err
		}
		data = data[k:]
	}
	return out, nil
}

func TestFrameDecoderChunks(t *testing.T) {
	long := string(bytes.Repeat([]byte("v"), 70000))
	msgs := []string{"SIP/2.0 200 OK\r\n\r\n", "", string(bytes.Repeat([]byte("m"), 300)), long[:65535], "\r\n"}
	data := serverFrames(t, msgs...)
	for _, n := range []int{1, 2, 3, 13, 100, len(data)} {
		got, err := decodeAll(data, n, 1<<20)
		if err != nil {
			t.Fatalf("chunk %d: %v", n, err)
		}
		if len(got) != len(msgs) {
			t.Fatalf("chunk %d: %d messages", n, len(got))
		}
		for i := range msgs {
			if got[i] != msgs[i] {
				t.Errorf("chunk %d: message %d differs (%d bytes, want %d)", n, i, len(got[i]), len(msgs[i]))
			}
		}
	}
	// 127-length encoding (64-bit length).
	got, err := decodeAll(serverFrames(t, long), 4096, 1<<20)
	if err != nil || len(got) != 1 || got[0] != long {
		t.Fatalf("64-bit length: %d messages, %v", len(got), err)
	}
}

func TestFrameDecoderFragmentsAndControl(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(handshake101)
	_ = ws.WriteFrame(&b, ws.NewFrame(ws.OpText, false, []byte("part one, ")))
	_ = ws.WriteFrame(&b, ws.NewPingFrame([]byte("in between")))
	_ = ws.WriteFrame(&b, ws.NewFrame(ws.OpContinuation, true, []byte("part two")))
	got, err := decodeAll(b.Bytes(), 5, 1024)
	if err != nil || len(got) != 1 || got[0] != "part one, part two" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestFrameDecoderErrors(t *testing.T) {
	masked := ws.MaskFrameInPlace(ws.NewTextFrame([]byte("x")))
	var mb bytes.Buffer
	_ = ws.WriteFrame(&mb, masked)
	for name, data := range map[string][]byte{
		"refused handshake": []byte("HTTP/1.1 400 Bad Request\r\n\r\n"),
		"endless handshake": bytes.Repeat([]byte("a"), 5000),
		"reserved bits":     append([]byte(handshake101), 0xf1, 0x00),
		"bad opcode":        append([]byte(handshake101), 0x83, 0x00),
		"masked":            append([]byte(handshake101), mb.Bytes()...),
		"too big":           serverFrames(t, string(bytes.Repeat([]byte("b"), 2000))),
	} {
		if _, err := decodeAll(data, 3, 1024); !errors.Is(err, errBadFrame) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The frames we hand to sipgo are what gobwas (sipgo's WebSocket library)
// reads as masked client frames.
func TestAppendFrameHeaderRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte{'s'}, n)
		raw := append(appendFrameHeader(nil, n), payload...)
		h, err := ws.ReadHeader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if err := ws.CheckHeader(h, ws.StateServerSide); err != nil {
			t.Fatalf("%d: sipgo would refuse it: %v", n, err)
		}
		if !h.Fin || h.OpCode != ws.OpText || h.Length != int64(n) || !h.Masked {
			t.Fatalf("%d: header %+v", n, h)
		}
	}
}

// FuzzFrameDecoder: no input panics or loops; a well-formed stream of
// frames, however it is cut, yields its messages.
func FuzzFrameDecoder(f *testing.F) {
	f.Add(serverFrames(f, "SIP/2.0 200 OK\r\n\r\n", "x"), uint8(1))
	f.Add(serverFrames(f, string(bytes.Repeat([]byte("z"), 200))), uint8(7))
	f.Add([]byte(handshake101+"\x81\x7e\xff\xff"), uint8(2))
	f.Add([]byte(handshake101+"\x81\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		n := int(chunk)%64 + 1
		msgs, err := decodeAll(data, n, 4096)
		if err == nil {
			// Every message was framed: re-encoding them and decoding in
			// one piece gives the same.
			again, err2 := decodeAll(serverFrames(t, msgs...), len(data)+1, 4096)
			if err2 != nil || len(again) != len(msgs) {
				t.Fatalf("re-decode: %d messages, %v", len(again), err2)
			}
		}
		for _, m := range msgs {
			if len(m) > 4096 {
				t.Fatalf("message of %d bytes over the limit", len(m))
			}
		}
	})
}
