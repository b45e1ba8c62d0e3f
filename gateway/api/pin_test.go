package api

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/roombridge/roombridge/gateway/room"
)

var _ room.Pinner = (*fakeDirectory)(nil)

// Pin, Unpin and Pinned make fakeDirectory a room.Pinner that keeps the
// pin in the listed state, as the backends do.
func (d *fakeDirectory) Pin(_ context.Context, roomName, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("pin %s %s", roomName, id)
	if d.err != nil {
		return d.err
	}
	ps := d.rooms[roomName]
	if !slices.ContainsFunc(ps, func(p room.ParticipantState) bool { return p.ID == id }) {
		return fmt.Errorf("fake: %w", room.ErrParticipantNotFound)
	}
	for i := range ps {
		ps[i].Pinned = ps[i].ID == id
	}
	return nil
}

func (d *fakeDirectory) Unpin(_ context.Context, roomName, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("unpin %s %s", roomName, id)
	if d.err != nil {
		return d.err
	}
	for i, p := range d.rooms[roomName] {
		if p.ID == id {
			d.rooms[roomName][i].Pinned = false
		}
	}
	return nil
}

func (d *fakeDirectory) Pinned(_ context.Context, roomName string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.rooms[roomName] {
		if p.Pinned {
			return p.ID, nil
		}
	}
	return "", nil
}

func TestPinParticipant(t *testing.T) {
	h := participantHarness(t)
	h.do(req{method: "POST", path: "/v1/rooms/standup/participants/web-1/pin"}).expect(t, 204, nil)
	h.do(req{method: "POST", path: "/v1/rooms/standup/participants/sip-7/pin", body: `{}`}).expect(t, 204, nil)
	var got struct{ Participants []participantJSON }
	h.do(req{method: "GET", path: "/v1/rooms/standup/participants"}).expect(t, 200, &got)
	for _, p := range got.Participants {
		if p.Pinned != (p.ID == "sip-7") {
			t.Errorf("listed %s pinned=%v after pinning sip-7", p.ID, p.Pinned)
		}
	}
	h.do(req{method: "DELETE", path: "/v1/rooms/standup/participants/sip-7/pin"}).expect(t, 204, nil)
	// Unpinning someone not pinned is not an error.
	h.do(req{method: "DELETE", path: "/v1/rooms/standup/participants/web-1/pin"}).expect(t, 204, nil)
	want := []string{"pin standup web-1", "pin standup sip-7", "unpin standup sip-7", "unpin standup web-1"}
	if calls := h.dir.Calls(); !slices.Equal(calls, want) {
		t.Errorf("calls %q\nwant  %q", calls, want)
	}
	if id, _ := h.dir.Pinned(context.Background(), "standup"); id != "" {
		t.Errorf("pinned %q after unpinning", id)
	}

	tests := []struct {
		desc, method, path, body, ct string
		code                         int
		field                        string
	}{
		{"unknown field", "POST", "/v1/rooms/standup/participants/web-1/pin", `{"source":"screen"}`, "", 400, "source"},
		{"not an object", "POST", "/v1/rooms/standup/participants/web-1/pin", `[]`, "", 400, ""},
		{"bad JSON", "POST", "/v1/rooms/standup/participants/web-1/pin", `{`, "", 400, ""},
		{"wrong content type", "POST", "/v1/rooms/standup/participants/web-1/pin", `{}`, "text/plain", 415, ""},
		{"unknown participant", "POST", "/v1/rooms/standup/participants/nobody/pin", ``, "", 404, ""},
		{"unknown room", "POST", "/v1/rooms/ghost/participants/web-1/pin", ``, "", 404, ""},
		{"unpin in unknown room", "DELETE", "/v1/rooms/ghost/participants/web-1/pin", ``, "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h.do(req{method: tt.method, path: tt.path, body: tt.body, contentType: tt.ct}).expectError(t, tt.code, tt.field)
		})
	}
	h.dir.err = room.ErrUnavailable
	h.do(req{method: "POST", path: "/v1/rooms/standup/participants/web-1/pin"}).expectError(t, 503, "")
}
