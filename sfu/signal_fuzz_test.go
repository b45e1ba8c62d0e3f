package sfu

import (
	"bytes"
	"encoding/json"
	"log"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// panicWatch collects what net/http's server logs, where a recovered
// panic in a handler would otherwise go unnoticed.
type panicWatch struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *panicWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *panicWatch) panicked() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.buf.String(); strings.Contains(s, "panic") {
		return s
	}
	return ""
}

// FuzzSignalMessages sends the web client's messages to the real
// signalling handler over a WebSocket: a join, then each line of msgs as a
// message of its own (offers with whatever SDP, candidates, mutes, junk),
// then a close, and reads until the server has closed too. Nothing may
// panic, in the handler or in the peer's goroutines.
func FuzzSignalMessages(f *testing.F) {
	offer := seedOffer(f)
	join := `{"type":"join","room":"fuzz","name":"web"}`
	for _, msgs := range []string{
		offerLine(offer),
		offerLine(offer) + "\n" + `{"type":"candidate","pc":"pub","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"mute","kind":"audio","muted":true}` + "\n" + `{"type":"mute","kind":"video","muted":false}`,
		`{"type":"answer","pc":"sub","sdp":"v=0\r\n"}` + "\n" + `{"type":"leave"}`,
		`{"type":"offer","pc":"pub","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`,
		`{"type":"candidate","pc":"sub","candidate":{"candidate":"garbage"}}` + "\n" + `not json`,
	} {
		f.Add(join, []byte(msgs))
	}
	f.Add(`{"type":"join"}`, []byte(""))
	f.Add(`{"type":"join","room":"x","token":"t","pin":"1234"}`, []byte(`{"type":"leave"}`))

	watch := &panicWatch{}
	s, err := New(Config{IncludeLoopback: true, Logger: testLogger()})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s.SignalHandler())
	srv.Config.ErrorLog = log.New(watch, "", 0)
	srv.Start()
	f.Cleanup(func() {
		_ = s.Close()
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	f.Fuzz(func(t *testing.T, join string, msgs []byte) {
		conn, res, err := websocket.DefaultDialer.Dial(url, nil)
		if res != nil {
			_ = res.Body.Close()
		}
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if conn.WriteMessage(websocket.TextMessage, []byte(join)) == nil {
			for line := range bytes.SplitSeq(msgs, []byte("\n")) {
				if conn.WriteMessage(websocket.TextMessage, line) != nil {
					break
				}
			}
		}
		_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				break
			}
		}
		if p := watch.panicked(); p != "" {
			t.Fatalf("the signalling handler panicked:\n%s", p)
		}
	})
}

// seedOffer is a pub offer as a browser makes it: audio and video.
func seedOffer(tb testing.TB) string {
	tb.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			tb.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return o.SDP
}

func offerLine(sdp string) string {
	b, _ := json.Marshal(Message{Type: MsgOffer, PC: PCPub, SDP: sdp})
	return string(b)
}
