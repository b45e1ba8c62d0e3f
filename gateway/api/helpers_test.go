package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/store"
)

const testKey = "test-key-123"

// fakeDirectory is a room.Directory that holds participants in memory and
// records every administrative call.
type fakeDirectory struct {
	mu    sync.Mutex
	rooms map[string][]room.ParticipantState
	calls []string
	err   error // returned by every method when set
}

var _ room.Directory = (*fakeDirectory)(nil)

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{rooms: map[string][]room.ParticipantState{}}
}

func (d *fakeDirectory) add(roomName string, p room.ParticipantState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rooms[roomName] = append(d.rooms[roomName], p)
}

func (d *fakeDirectory) record(format string, args ...any) {
	d.calls = append(d.calls, fmt.Sprintf(format, args...))
}

func (d *fakeDirectory) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

func (d *fakeDirectory) Participants(_ context.Context, roomName string) ([]room.ParticipantState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	return slices.Clone(d.rooms[roomName]), nil
}

func (d *fakeDirectory) MuteParticipant(_ context.Context, roomName, id string, kind room.TrackKind, muted bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("mute %s %s %s %v", roomName, id, kind, muted)
	if d.err != nil {
		return d.err
	}
	ps := d.rooms[roomName]
	for i := range ps {
		if ps[i].ID != id {
			continue
		}
		switch kind {
		case room.TrackKindAudio:
			ps[i].AudioMuted = muted
		case room.TrackKindVideo:
			ps[i].VideoMuted = muted
		}
		return nil
	}
	return fmt.Errorf("fake: %w", room.ErrParticipantNotFound)
}

func (d *fakeDirectory) RemoveParticipant(_ context.Context, roomName, id, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("remove %s %s %s", roomName, id, reason)
	if d.err != nil {
		return d.err
	}
	ps := d.rooms[roomName]
	for i := range ps {
		if ps[i].ID == id {
			d.rooms[roomName] = slices.Delete(ps, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("fake: %w", room.ErrParticipantNotFound)
}

func (d *fakeDirectory) CloseRoom(_ context.Context, roomName string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("close %s", roomName)
	if d.err != nil {
		return d.err
	}
	delete(d.rooms, roomName)
	return nil
}

// harness is a Server over a real SQLite store in a temp dir.
type harness struct {
	t       *testing.T
	srv     *Server
	store   *store.SQLite
	dir     *fakeDirectory
	tokens  *Tokens
	path    string
	deleted []string
	created []string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rooms.db")
	h := &harness{t: t, path: path, dir: newFakeDirectory(), tokens: NewTokens([]byte("0123456789abcdef0123"), time.Hour)}
	h.open()
	return h
}

// open (re)opens the store at h.path and builds a new Server over it.
func (h *harness) open() {
	h.t.Helper()
	st, err := store.OpenSQLite(context.Background(), h.path)
	if err != nil {
		h.t.Fatalf("OpenSQLite: %v", err)
	}
	h.t.Cleanup(func() { _ = st.Close() })
	srv, err := New(Config{
		Keys:           []string{"other-key", testKey},
		Store:          st,
		Directory:      h.dir,
		Tokens:         h.tokens,
		SIPDomain:      "conf.example.com",
		SIPCredentials: NewSIPCredentials([]byte("0123456789abcdef0123"), time.Hour),
		PublicURL:      "http://127.0.0.1:8080/",
		OnRoomDeleted:  func(name string) { h.deleted = append(h.deleted, name) },
		OnRoomCreated: func(_ context.Context, name string) error {
			h.created = append(h.created, name)
			return nil
		},
		Quality: func(room, id string) (any, bool) {
			if room == "standup" && id == "sip-7" {
				return map[string]float64{"mos": 4.3, "rtt_ms": 12}, true
			}
			return nil, false
		},
	})
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	h.store, h.srv = st, srv
}

// req describes one request; body may be a string (sent as is) or any value
// (sent as JSON). Content type defaults to application/json when a body is
// given; key defaults to testKey ("-" sends none).
type req struct {
	method, path string
	body         any
	contentType  string
	key          string
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (h *harness) do(r req) resp {
	h.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = bytes.NewBufferString(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		if ct != "-" {
			hr.Header.Set("Content-Type", ct)
		}
	}
	switch r.key {
	case "":
		hr.Header.Set("Authorization", "Bearer "+testKey)
	case "-":
	default:
		hr.Header.Set("Authorization", r.key)
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, hr)
	return resp{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// expect checks the status code and decodes the body into v (if not nil).
func (r resp) expect(t *testing.T, code int, v any) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

// expectError checks an error response: status, JSON shape and field.
func (r resp) expectError(t *testing.T, code int, field string) errorBody {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == "" {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if e.Field != field {
		t.Fatalf("error field %q, want %q (%s)", e.Field, field, r.body)
	}
	return e
}

func (h *harness) createRoom(body any) roomJSON {
	h.t.Helper()
	var out roomJSON
	h.do(req{method: "POST", path: "/v1/rooms", body: body}).expect(h.t, http.StatusCreated, &out)
	return out
}
