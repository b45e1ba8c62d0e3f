package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

func TestCreateRoom(t *testing.T) {
	h := newHarness(t)
	before := time.Now().Add(-time.Second)
	r := h.do(req{method: "POST", path: "/v1/rooms", body: `{"name":"standup","pin":"4321","host_pin":"9876","aliases":["4711"],"wait_for_host":true,"pin_on_direct_dial":true}`})
	var got roomJSON
	r.expect(t, http.StatusCreated, &got)
	if loc := r.header.Get("Location"); loc != "/v1/rooms/standup" {
		t.Errorf("Location %q", loc)
	}
	if got.Name != "standup" || got.PIN != "4321" || got.HostPIN != "9876" || !slices.Equal(got.Aliases, []string{"4711"}) ||
		!got.WaitForHost || !got.PINOnDirectDial || got.SIPURI != "sip:standup@conf.example.com" || got.Participants != 0 {
		t.Errorf("room %+v", got)
	}
	if !slices.Equal(h.created, []string{"standup"}) {
		t.Errorf("OnRoomCreated got %v", h.created)
	}
	if len(got.NumericID) != 6 || got.CreatedAt.Before(before) || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("numeric id %q, created %v, updated %v", got.NumericID, got.CreatedAt, got.UpdatedAt)
	}
	// The raw JSON uses the documented names, aliases never null.
	raw := string(r.body)
	for _, key := range []string{
		`"name"`, `"pin"`, `"host_pin"`, `"aliases"`, `"numeric_id"`, `"sip_uri"`, `"wait_for_host"`,
		`"pin_on_direct_dial"`, `"created_at"`, `"updated_at"`, `"participants"`,
	} {
		if !strings.Contains(raw, key+":") {
			t.Errorf("response lacks %s: %s", key, raw)
		}
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Error("room responses hold PINs and must not be cached")
	}
}

func TestCreateRoomGeneratesPIN(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{`{"name":"a"}`, `{"name":"b","pin":""}`, `{"name":"c","host_pin":"5555"}`} {
		var got roomJSON
		h.do(req{method: "POST", path: "/v1/rooms", body: body}).expect(t, http.StatusCreated, &got)
		if len(got.PIN) != 6 || strings.Trim(got.PIN, "0123456789") != "" || got.PIN == got.HostPIN {
			t.Errorf("%s: generated PIN %q", body, got.PIN)
		}
		if !slices.Equal(got.Aliases, []string{}) {
			t.Errorf("aliases %v, want []", got.Aliases)
		}
	}
}

func TestCreateRoomErrors(t *testing.T) {
	tests := []struct {
		desc  string
		body  any
		ct    string
		code  int
		field string
	}{
		{"malformed JSON", `{"name":`, "", 400, ""},
		{"syntax error", `{"name" "x"}`, "", 400, ""},
		{"empty body", ``, "", 400, ""},
		{"not an object", `["x"]`, "", 400, ""},
		{"two objects", `{"name":"x"}{"name":"y"}`, "", 400, ""},
		{"trailing garbage", `{"name":"x"} junk`, "", 400, ""},
		{"unknown field", `{"name":"x","colour":"red"}`, "", 400, "colour"},
		{"wrong type", `{"name":"x","pin":1234}`, "", 400, "pin"},
		{"wrong type bool", `{"name":"x","wait_for_host":"yes"}`, "", 400, "wait_for_host"},
		{"missing name", `{"pin":"1234"}`, "", 400, "name"},
		{"bad name", `{"name":"Bad Name"}`, "", 400, "name"},
		{"short pin", `{"name":"x","pin":"12"}`, "", 400, "pin"},
		{"letters in pin", `{"name":"x","pin":"12ab"}`, "", 400, "pin"},
		{"bad host pin", `{"name":"x","host_pin":"1"}`, "", 400, "host_pin"},
		{"pin equals host pin", `{"name":"x","pin":"5678","host_pin":"5678"}`, "", 400, "host_pin"},
		{"wait for host without host pin", `{"name":"x","wait_for_host":true}`, "", 400, "wait_for_host"},
		{"bad alias", `{"name":"x","aliases":["a b"]}`, "", 400, "aliases"},
		{"duplicate name", `{"name":"taken"}`, "", 409, "name"},
		{"duplicate pin", `{"name":"x","pin":"1111"}`, "", 409, "pin"},
		{"pin is another room's host pin", `{"name":"x","pin":"2222"}`, "", 409, "pin"},
		{"host pin is another room's pin", `{"name":"x","host_pin":"1111"}`, "", 409, "host_pin"},
		{"duplicate alias", `{"name":"x","aliases":["4711"]}`, "", 409, "aliases"},
		{"alias is another room's name", `{"name":"x","aliases":["taken"]}`, "", 409, "aliases"},
		{"name is another room's alias", `{"name":"4711"}`, "", 409, "name"},
		{"no content type", `{"name":"x"}`, "-", 415, ""},
		{"wrong content type", `{"name":"x"}`, "text/plain", 415, ""},
		{"form content type", `name=x`, "application/x-www-form-urlencoded", 415, ""},
		{"json with charset", `{"name":"ok"}`, "application/json; charset=utf-8", 201, ""},
		{"oversize", `{"name":"x","aliases":["` + strings.Repeat("a", maxBodyBytes) + `"]}`, "", 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newHarness(t)
			h.createRoom(map[string]any{"name": "taken", "pin": "1111", "host_pin": "2222", "aliases": []string{"4711"}})
			r := h.do(req{method: "POST", path: "/v1/rooms", body: tt.body, contentType: tt.ct})
			if tt.code == 201 {
				r.expect(t, 201, nil)
				return
			}
			e := r.expectError(t, tt.code, tt.field)
			if tt.code == 409 && (tt.field == "pin" || tt.field == "host_pin") && strings.Contains(e.Error, "taken") {
				t.Errorf("conflict on a PIN reveals the room: %q", e.Error)
			}
		})
	}
}

func TestOversizeChunkedBody(t *testing.T) {
	h := newHarness(t)
	// No Content-Length: the limit must hold while reading too.
	body := `{"name":"x","aliases":["` + strings.Repeat("a", maxBodyBytes) + `"]}`
	hr := httptest.NewRequest("POST", "/v1/rooms", io.NopCloser(strings.NewReader(body)))
	hr.ContentLength = -1
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+testKey)
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, hr)
	resp{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}.expectError(t, http.StatusRequestEntityTooLarge, "")
	// Just under the limit, the same way, is fine.
	small := `{"name":"x","aliases":["` + strings.Repeat("a", 8) + `"]}`
	hr = httptest.NewRequest("POST", "/v1/rooms", io.NopCloser(strings.NewReader(small+strings.Repeat(" ", maxBodyBytes-len(small)))))
	hr.ContentLength = -1
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+testKey)
	rec = httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, hr)
	if rec.Code != http.StatusCreated {
		t.Errorf("body of exactly the limit: %d %s", rec.Code, rec.Body)
	}
}

func TestGetAndListRooms(t *testing.T) {
	h := newHarness(t)
	b := h.createRoom(map[string]any{"name": "beta", "pin": "2020"})
	a := h.createRoom(map[string]any{"name": "alpha", "pin": "1010"})
	h.dir.add("alpha", room.ParticipantState{ID: "p1"})
	h.dir.add("alpha", room.ParticipantState{ID: "p2"})

	var list struct{ Rooms []roomJSON }
	h.do(req{method: "GET", path: "/v1/rooms"}).expect(t, 200, &list)
	if len(list.Rooms) != 2 || list.Rooms[0].Name != "alpha" || list.Rooms[1].Name != "beta" {
		t.Fatalf("list %+v", list.Rooms)
	}
	if list.Rooms[0].Participants != 2 || list.Rooms[1].Participants != 0 {
		t.Errorf("participant counts %d %d", list.Rooms[0].Participants, list.Rooms[1].Participants)
	}
	if list.Rooms[1].NumericID != b.NumericID || list.Rooms[0].PIN != a.PIN {
		t.Errorf("list differs from create: %+v", list.Rooms)
	}
	var got roomJSON
	h.do(req{method: "GET", path: "/v1/rooms/beta"}).expect(t, 200, &got)
	if got.Name != "beta" || got.PIN != "2020" || got.NumericID != b.NumericID {
		t.Errorf("get %+v", got)
	}
	h.do(req{method: "GET", path: "/v1/rooms/nope"}).expectError(t, 404, "")
	h.do(req{method: "GET", path: "/v1/rooms/BETA"}).expectError(t, 404, "")

	// An unreachable backend does not break room listing.
	h.dir.err = room.ErrUnavailable
	h.do(req{method: "GET", path: "/v1/rooms"}).expect(t, 200, &list)
	if list.Rooms[0].Participants != 0 {
		t.Errorf("count with backend down = %d", list.Rooms[0].Participants)
	}

	// An empty store lists [] rather than null.
	h2 := newHarness(t)
	r := h2.do(req{method: "GET", path: "/v1/rooms"})
	r.expect(t, 200, nil)
	if strings.TrimSpace(string(r.body)) != `{"rooms":[]}` {
		t.Errorf("empty list %s", r.body)
	}
}

func TestPatchRoom(t *testing.T) {
	h := newHarness(t)
	orig := h.createRoom(map[string]any{"name": "r", "pin": "1357", "host_pin": "2468", "aliases": []string{"a1"}})
	h.createRoom(map[string]any{"name": "other", "pin": "9999", "aliases": []string{"o1"}})

	var got roomJSON
	h.do(req{method: "PATCH", path: "/v1/rooms/r", body: `{"aliases":["b1","B2"],"wait_for_host":true}`}).expect(t, 200, &got)
	if got.PIN != "1357" || got.HostPIN != "2468" || !slices.Equal(got.Aliases, []string{"b1", "b2"}) || !got.WaitForHost {
		t.Errorf("after patch %+v", got)
	}
	if got.NumericID != orig.NumericID || !got.CreatedAt.Equal(orig.CreatedAt) || got.UpdatedAt.Before(orig.UpdatedAt) {
		t.Errorf("patch changed identity: %+v vs %+v", got, orig)
	}
	// Echoing the name back is fine; null leaves a field alone.
	h.do(req{method: "PATCH", path: "/v1/rooms/r", body: `{"name":"r","pin":"1122","host_pin":null}`}).expect(t, 200, &got)
	if got.PIN != "1122" || got.HostPIN != "2468" {
		t.Errorf("after second patch %+v", got)
	}
	// Clearing: wait_for_host must go with the host PIN.
	h.do(req{method: "PATCH", path: "/v1/rooms/r", body: `{"host_pin":""}`}).expectError(t, 400, "wait_for_host")
	h.do(req{method: "PATCH", path: "/v1/rooms/r", body: `{"host_pin":"","wait_for_host":false,"aliases":[]}`}).expect(t, 200, &got)
	if got.HostPIN != "" || got.WaitForHost || len(got.Aliases) != 0 {
		t.Errorf("after clearing %+v", got)
	}

	tests := []struct {
		desc, path, body string
		code             int
		field            string
	}{
		{"rename", "/v1/rooms/r", `{"name":"renamed"}`, 400, "name"},
		{"pin of other room", "/v1/rooms/r", `{"pin":"9999"}`, 409, "pin"},
		{"alias of other room", "/v1/rooms/r", `{"aliases":["o1"]}`, 409, "aliases"},
		{"alias is other room's name", "/v1/rooms/r", `{"aliases":["other"]}`, 409, "aliases"},
		{"pin equals host pin", "/v1/rooms/r", `{"pin":"3333","host_pin":"3333"}`, 400, "host_pin"},
		{"bad pin", "/v1/rooms/r", `{"pin":"abc"}`, 400, "pin"},
		{"unknown field", "/v1/rooms/r", `{"numeric_id":"123456"}`, 400, "numeric_id"},
		{"bad JSON", "/v1/rooms/r", `{`, 400, ""},
		{"unknown room", "/v1/rooms/ghost", `{"pin":"4444"}`, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h.do(req{method: "PATCH", path: tt.path, body: tt.body}).expectError(t, tt.code, tt.field)
		})
	}
	h.do(req{method: "PATCH", path: "/v1/rooms/r", body: `{"pin":"4444"}`, contentType: "text/plain"}).expectError(t, 415, "")
}

func TestDeleteRoom(t *testing.T) {
	h := newHarness(t)
	h.createRoom(map[string]any{"name": "gone", "pin": "1357", "aliases": []string{"4711"}})
	h.dir.add("gone", room.ParticipantState{ID: "p1"})
	r := h.do(req{method: "DELETE", path: "/v1/rooms/gone"})
	r.expect(t, http.StatusNoContent, nil)
	if len(r.body) != 0 {
		t.Errorf("204 with body %q", r.body)
	}
	if calls := h.dir.Calls(); !slices.Equal(calls, []string{"close gone"}) {
		t.Errorf("directory calls %v, want close", calls)
	}
	if !slices.Equal(h.deleted, []string{"gone"}) {
		t.Errorf("OnRoomDeleted got %v", h.deleted)
	}
	h.do(req{method: "GET", path: "/v1/rooms/gone"}).expectError(t, 404, "")
	h.do(req{method: "DELETE", path: "/v1/rooms/gone"}).expectError(t, 404, "")
	// Its PIN and alias are free again.
	h.createRoom(map[string]any{"name": "next", "pin": "1357", "aliases": []string{"4711"}})

	// A backend failure does not undo the delete.
	h.dir.err = room.ErrUnavailable
	h.do(req{method: "DELETE", path: "/v1/rooms/next"}).expect(t, http.StatusNoContent, nil)
}

func TestRestart(t *testing.T) {
	h := newHarness(t)
	want := h.createRoom(map[string]any{"name": "persist", "host_pin": "8642", "aliases": []string{"4711"}})
	if err := h.store.Close(); err != nil {
		t.Fatal(err)
	}
	h.open() // a new Server over the reopened file
	var got roomJSON
	h.do(req{method: "GET", path: "/v1/rooms/persist"}).expect(t, 200, &got)
	if got.PIN != want.PIN || got.HostPIN != "8642" || got.NumericID != want.NumericID ||
		!slices.Equal(got.Aliases, want.Aliases) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("after restart %+v\nwant %+v", got, want)
	}
	// The rules still hold against the reopened data.
	h.do(req{method: "POST", path: "/v1/rooms", body: `{"name":"x","pin":"` + want.PIN + `"}`}).expectError(t, 409, "pin")
}
