package test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/test/internal/baresip"
	"github.com/roombridge/roombridge/test/internal/harness"
)

// opusRate is the sample rate of an Opus baresip phone's sound files.
const opusRate = 48000

// TestBaresipOpus: a baresip phone that offers only opus/48000/2 calls
// room demo with a 600 Hz tone; a G.711 caller in the room sends 1000 Hz.
// The gateway answers Opus (the API shows the leg's codec), the caller
// hears the phone's tone (its Opus decoded once for the mix) and the phone
// hears the caller's (the mix encoded to Opus).
func TestBaresipOpus(t *testing.T) {
	harness.RequireTool(t, "baresip")
	srv := startSIPGateway(t)
	phone := startOpusPhone(t, "sip:demo@"+srv.SIPAddr, []string{"opus/48000/1"}, 600)
	sipWaitRoom(t, srv, "demo", 10*time.Second, phone.Done(), "the Opus phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	call := sipStartCaller(t, caller.Options{
		Target: "sip:demo@" + srv.SIPAddr, Transport: uac.TransportUDP,
		Tone: 1000, ToneLevel: toneSourceDB, Duration: 8 * time.Second,
	})
	sipWaitRoom(t, srv, "demo", 10*time.Second, call.done, "the caller joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 2 })
	if codecs := legCodecs(t, srv, "demo"); codecs["phone"] != "opus" {
		t.Errorf("leg codecs %v, want opus for the baresip phone", codecs)
	}
	rep := call.wait(t, 20*time.Second)
	heard := waitOpusPhone(t, phone)
	sipCheckTone(t, "baresip Opus (600 Hz)", heard, 1000, 600, 15)
	sipCheckTone(t, "caller (1000 Hz)", rep.Heard, 600, 1000, 15)
}

// TestTrunkCodecs: trunks[].codecs orders and limits a trunk's codecs. With
// [opus, pcmu], a phone offering PCMU first and Opus second gets Opus, and
// is heard; a caller offering only PCMA is refused with 488. Without the
// key, the same phone gets PCMU (G.711 first).
func TestTrunkCodecs(t *testing.T) {
	harness.RequireTool(t, "baresip")
	srv := startSIPGateway(t, `trunks: [ { name: local, allow: [127.0.0.0/8], trusted: true, codecs: [opus, pcmu] } ]`)
	phone := startOpusPhone(t, "sip:demo@"+srv.SIPAddr, []string{"PCMU", "opus/48000/1"}, 600)
	sipWaitRoom(t, srv, "demo", 10*time.Second, phone.Done(), "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	if codecs := legCodecs(t, srv, "demo"); codecs["phone"] != "opus" {
		t.Errorf("with codecs [opus, pcmu]: leg codecs %v, want opus", codecs)
	}
	pcma := sipStartCaller(t, caller.Options{
		Target: "sip:demo@" + srv.SIPAddr, Transport: uac.TransportUDP,
		Codec: caller.CodecPCMA, Tone: 1000, Duration: 2 * time.Second,
	})
	<-pcma.done
	if pcma.report == nil || pcma.report.Answered || pcma.report.Status != 488 {
		t.Errorf("PCMA-only caller: %+v (err %v), want 488", pcma.report, pcma.err)
	}
	waitPhoneEnds(t, phone)

	plain := startSIPGateway(t)
	p2 := startOpusPhone(t, "sip:demo@"+plain.SIPAddr, []string{"PCMU", "opus/48000/1"}, 600)
	sipWaitRoom(t, plain, "demo", 10*time.Second, p2.Done(), "the phone joins",
		func(ps []sipParticipant) bool { return sipCountKind(ps, "sip") == 1 })
	if codecs := legCodecs(t, plain, "demo"); codecs["phone"] != "PCMU" {
		t.Errorf("without trunks[].codecs: leg codecs %v, want PCMU", codecs)
	}
	waitPhoneEnds(t, p2)
}

// startOpusPhone starts a baresip phone "phone" at 48 kHz offering codecs
// and sending a tone of freq Hz.
func startOpusPhone(t *testing.T, target string, codecs []string, freq float64) *baresip.Phone {
	t.Helper()
	src := filepath.Join(t.TempDir(), "tone48k.wav")
	pcm := make([]int16, 30*opusRate)
	tone.NewGenerator(freq, opusRate, toneAmplitude).Fill(pcm)
	if err := baresip.WriteWAV(src, opusRate, pcm); err != nil {
		t.Fatal(err)
	}
	return baresip.Start(t, baresip.Options{
		User: "phone", Target: target, Source: src, Duration: 10 * time.Second,
		Codecs: codecs, Rate: opusRate,
	})
}

// waitPhoneEnds waits for the phone to quit after an established call.
func waitPhoneEnds(t *testing.T, phone *baresip.Phone) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := phone.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !phone.Established() {
		t.Fatal("baresip: no call established")
	}
}

// waitOpusPhone waits for the phone to quit and returns what it heard,
// brought down to 8 kHz for the tone checks.
func waitOpusPhone(t *testing.T, phone *baresip.Phone) []int16 {
	t.Helper()
	waitPhoneEnds(t, phone)
	heard, err := phone.Heard()
	if err != nil {
		t.Fatal(err)
	}
	return decimate6(heard)
}

// decimate6 brings 48 kHz audio to 8 kHz: the mean of each 6 samples (a
// box filter whose first null is at 8 kHz; the tones tested lose less
// than 0.3 dB).
func decimate6(pcm []int16) []int16 {
	out := make([]int16, len(pcm)/6)
	for i := range out {
		var sum int
		for _, v := range pcm[6*i : 6*i+6] {
			sum += int(v)
		}
		out[i] = int16(sum / 6)
	}
	return out
}

// legCodecs maps the names of room's SIP participants to their leg's codec
// (the API's quality.codec).
func legCodecs(t *testing.T, srv *harness.Server, room string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status, body, err := srv.API(ctx, http.MethodGet, "/v1/rooms/"+room+"/participants", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("participants: %d %s %v", status, body, err)
	}
	var out struct {
		Participants []struct {
			Name    string `json:"name"`
			Quality *struct {
				Codec string `json:"codec"`
			} `json:"quality"`
		} `json:"participants"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	codecs := map[string]string{}
	for _, p := range out.Participants {
		if p.Quality != nil {
			codecs[p.Name] = p.Quality.Codec
		}
	}
	return codecs
}
