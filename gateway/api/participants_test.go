package api

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/store"
)

func participantHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.createRoom(map[string]any{"name": "standup"})
	h.createRoom(map[string]any{"name": "empty"})
	joined := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	h.dir.add("standup", room.ParticipantState{
		ID: "web-1", Name: "Alice", Kind: room.ParticipantKindWebRTC, JoinedAt: joined,
		Tracks: []room.TrackState{
			{ID: "TR_a", Kind: room.TrackKindAudio, Codec: "audio/opus"},
			{ID: "TR_v", Kind: room.TrackKindVideo, Codec: "video/H264", Muted: true, Source: room.TrackSourceScreen},
		},
		VideoMuted: true,
	})
	h.dir.add("standup", room.ParticipantState{
		ID: "sip-7", Name: "+49 30 ****12", Kind: room.ParticipantKindSIP, JoinedAt: joined,
		Attributes: map[string]string{"call_id": "abc", room.AttrNode: "node-b"},
	})
	return h
}

func TestListParticipants(t *testing.T) {
	h := participantHarness(t)
	r := h.do(req{method: "GET", path: "/v1/rooms/standup/participants"})
	var got struct{ Participants []participantJSON }
	r.expect(t, 200, &got)
	if len(got.Participants) != 2 {
		t.Fatalf("participants %+v", got.Participants)
	}
	a := got.Participants[0]
	if a.ID != "web-1" || a.Name != "Alice" || a.Kind != "webrtc" || a.AudioMuted || !a.VideoMuted ||
		!a.JoinedAt.Equal(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("participant %+v", a)
	}
	if want := []trackJSON{{"TR_a", "audio", "audio/opus", false, ""}, {"TR_v", "video", "video/H264", true, "screen"}}; !slices.Equal(a.Tracks, want) {
		t.Errorf("tracks %+v, want %+v", a.Tracks, want)
	}
	if b := got.Participants[1]; b.Kind != "sip" || b.Attributes["call_id"] != "abc" {
		t.Errorf("participant %+v", b)
	}
	// A leg's own node, else the node answering (Config.LocalNode).
	if a, b := got.Participants[0].Node, got.Participants[1].Node; a != "node-a" || b != "node-b" {
		t.Errorf("nodes %q %q, want node-a (local) and node-b (attribute)", a, b)
	}
	// Quality is given for SIP legs only.
	if q, ok := got.Participants[1].Quality.(map[string]any); !ok || q["mos"] != 4.3 {
		t.Errorf("sip quality %#v", got.Participants[1].Quality)
	}
	if got.Participants[0].Quality != nil {
		t.Errorf("webrtc participant has quality %#v", got.Participants[0].Quality)
	}
	// The documented raw shape.
	var raw map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"id", "name", "kind", "tracks", "audio_muted", "video_muted", "joined_at"} {
		if _, ok := raw["participants"][1][key]; !ok {
			t.Errorf("participant lacks %q: %s", key, r.body)
		}
	}
	if string(raw["participants"][1]["tracks"]) != "[]" {
		t.Errorf("no tracks should be [], got %s", raw["participants"][1]["tracks"])
	}

	r = h.do(req{method: "GET", path: "/v1/rooms/empty/participants"})
	r.expect(t, 200, nil)
	if string(r.body) != "{\"participants\":[]}\n" {
		t.Errorf("empty room: %s", r.body)
	}
	h.do(req{method: "GET", path: "/v1/rooms/ghost/participants"}).expectError(t, 404, "")
	// A backend that does not know an empty room is still an empty list.
	h.dir.err = room.ErrRoomNotFound
	h.do(req{method: "GET", path: "/v1/rooms/empty/participants"}).expect(t, 200, nil)
	h.dir.err = room.ErrUnavailable
	h.do(req{method: "GET", path: "/v1/rooms/standup/participants"}).expectError(t, 503, "")
}

func TestMuteParticipant(t *testing.T) {
	h := participantHarness(t)
	h.do(req{method: "POST", path: "/v1/rooms/standup/participants/web-1/mute", body: `{"audio":true}`}).expect(t, 204, nil)
	h.do(req{method: "POST", path: "/v1/rooms/standup/participants/web-1/mute", body: `{"video":false}`}).expect(t, 204, nil)
	h.do(req{method: "POST", path: "/v1/rooms/standup/participants/sip-7/mute", body: `{"audio":true,"video":true}`}).expect(t, 204, nil)
	want := []string{
		"mute standup web-1 audio true",
		"mute standup web-1 video false",
		"mute standup sip-7 audio true",
		"mute standup sip-7 video true",
	}
	if calls := h.dir.Calls(); !slices.Equal(calls, want) {
		t.Errorf("calls %q\nwant  %q", calls, want)
	}
	ps, _ := h.dir.Participants(context.Background(), "standup")
	if !ps[0].AudioMuted || ps[0].VideoMuted {
		t.Errorf("state %+v", ps[0])
	}

	tests := []struct {
		desc, path, body, ct string
		code                 int
		field                string
	}{
		{"nothing to do", "/v1/rooms/standup/participants/web-1/mute", `{}`, "", 400, ""},
		{"unknown field", "/v1/rooms/standup/participants/web-1/mute", `{"screen":true}`, "", 400, "screen"},
		{"not a bool", "/v1/rooms/standup/participants/web-1/mute", `{"audio":"on"}`, "", 400, "audio"},
		{"bad JSON", "/v1/rooms/standup/participants/web-1/mute", `{"audio":`, "", 400, ""},
		{"no body", "/v1/rooms/standup/participants/web-1/mute", ``, "", 400, ""},
		{"wrong content type", "/v1/rooms/standup/participants/web-1/mute", `{"audio":true}`, "text/plain", 415, ""},
		{"unknown participant", "/v1/rooms/standup/participants/nobody/mute", `{"audio":true}`, "", 404, ""},
		{"unknown room", "/v1/rooms/ghost/participants/web-1/mute", `{"audio":true}`, "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h.do(req{method: "POST", path: tt.path, body: tt.body, contentType: tt.ct}).expectError(t, tt.code, tt.field)
		})
	}
}

func TestKickParticipant(t *testing.T) {
	h := participantHarness(t)
	h.do(req{method: "DELETE", path: "/v1/rooms/standup/participants/sip-7"}).expect(t, 204, nil)
	if calls := h.dir.Calls(); !slices.Equal(calls, []string{"remove standup sip-7 " + kickReason}) {
		t.Errorf("calls %q", calls)
	}
	e := h.do(req{method: "DELETE", path: "/v1/rooms/standup/participants/sip-7"}).expectError(t, 404, "")
	if e.Error != "participant not found" {
		t.Errorf("error %q", e.Error)
	}
	e = h.do(req{method: "DELETE", path: "/v1/rooms/ghost/participants/web-1"}).expectError(t, 404, "")
	if e.Error != "room not found" {
		t.Errorf("error %q", e.Error)
	}
	// A backend that has no such room means the participant is not there.
	h.dir.err = room.ErrRoomNotFound
	h.do(req{method: "DELETE", path: "/v1/rooms/empty/participants/x"}).expectError(t, 404, "")
	h.dir.err = room.ErrUnavailable
	h.do(req{method: "DELETE", path: "/v1/rooms/standup/participants/web-1"}).expectError(t, 503, "")
}

func TestNoDirectory(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{Keys: []string{testKey}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv}
	var got roomJSON
	h.do(req{method: "POST", path: "/v1/rooms", body: `{"name":"x"}`}).expect(t, 201, &got)
	if got.SIPURI != "" {
		t.Errorf("sip_uri %q without a SIP domain", got.SIPURI)
	}
	h.do(req{method: "GET", path: "/v1/rooms/x/participants"}).expectError(t, 503, "")
	h.do(req{method: "POST", path: "/v1/rooms/x/tokens"}).expectError(t, 503, "")
	h.do(req{method: "DELETE", path: "/v1/rooms/x"}).expect(t, 204, nil)
}
