// Package storetest is the conformance suite of store.Store: SQLite and
// Redis run it from their tests, so that routing, the API and the IVR see
// the same rules (names, PINs, aliases and numeric ids unique across rooms,
// the same field named in each conflict) whichever store a node uses. It
// also starts a real redis-server for tests (StartRedis).
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openEmpty(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/roombridge/roombridge/gateway/store"
)

// Factory returns an empty store for one subtest and closes it when t ends.
type Factory func(t *testing.T) store.Store

// Run runs every conformance test against stores from open.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"CreateGetList", testCreateGetList},
		{"Rules", testRules},
		{"UpdateKeepsIdentity", testUpdateKeepsIdentity},
		{"Upsert", testUpsert},
		{"FindBySIPUser", testFindBySIPUser},
		{"FindByPIN", testFindByPIN},
		{"DeleteFreesEverything", testDeleteFreesEverything},
		{"GeneratePIN", testGeneratePIN},
		{"Concurrent", testConcurrent},
		{"Registrations", testRegistrations},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func mustCreate(t *testing.T, s store.Store, r store.Room) store.Room {
	t.Helper()
	got, err := s.CreateRoom(context.Background(), r)
	if err != nil {
		t.Fatalf("CreateRoom(%s): %v", r.Name, err)
	}
	return got
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func testCreateGetList(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	in := store.Room{Name: "standup", PIN: "4321", HostPIN: "9876", Aliases: []string{"4711", "Daily"}, WaitForHost: true}
	got := mustCreate(t, s, in)
	if len(got.NumericID) != 6 || got.NumericID[0] == '0' || !allDigits(got.NumericID) {
		t.Errorf("numeric id %q, want 6 digits not starting with 0", got.NumericID)
	}
	if got.CreatedAt.IsZero() || !got.CreatedAt.Equal(got.UpdatedAt) {
		t.Errorf("timestamps %v %v", got.CreatedAt, got.UpdatedAt)
	}
	if want := []string{"4711", "daily"}; fmt.Sprint(got.Aliases) != fmt.Sprint(want) {
		t.Errorf("aliases %v, want %v (lower-cased, in order)", got.Aliases, want)
	}
	back, err := s.GetRoom(ctx, "standup")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(got) {
		t.Errorf("GetRoom = %+v\nwant      %+v", back, got)
	}
	mustCreate(t, s, store.Room{Name: "alpha"})
	list, err := s.ListRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "standup" {
		t.Fatalf("ListRooms = %+v", list)
	}
	if fmt.Sprint(list[1]) != fmt.Sprint(got) {
		t.Errorf("listed %+v\nwant    %+v", list[1], got)
	}
	if list[0].Aliases == nil {
		t.Error("aliases must be an empty slice, not nil")
	}
	// The caller owns what it gets.
	back.Aliases[0] = "mutated"
	again, _ := s.GetRoom(ctx, "standup")
	if again.Aliases[0] != "4711" {
		t.Error("returned room aliases the store's data")
	}
	for _, name := range []string{"nope", "Standup", ""} {
		if _, err := s.GetRoom(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRoom(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

// testRules checks every cross-room rule: each case creates "base" and
// then tries to create or update another room.
func testRules(t *testing.T, open Factory) {
	base := store.Room{Name: "base", PIN: "1111", HostPIN: "2222", Aliases: []string{"4711", "sales"}, NumericID: "555000"}
	type room = store.Room
	tests := []struct {
		desc   string
		room   room
		update bool // update an existing "other" room instead of creating
		class  error
		field  string
	}{
		{"fine", room{Name: "other", PIN: "3333", HostPIN: "4444", Aliases: []string{"4712"}}, false, nil, ""},
		{"duplicate name", room{Name: "base"}, false, store.ErrConflict, "name"},
		{"name is another room's alias", room{Name: "sales"}, false, store.ErrConflict, "name"},
		{"name is another room's numeric id", room{Name: "555000"}, false, store.ErrConflict, "name"},
		{"pin is another room's pin", room{Name: "other", PIN: "1111"}, false, store.ErrConflict, "pin"},
		{"pin is another room's host pin", room{Name: "other", PIN: "2222"}, false, store.ErrConflict, "pin"},
		{"host pin is another room's pin", room{Name: "other", PIN: "3333", HostPIN: "1111"}, false, store.ErrConflict, "host_pin"},
		{"host pin is another room's host pin", room{Name: "other", PIN: "3333", HostPIN: "2222"}, false, store.ErrConflict, "host_pin"},
		{"pin equals own host pin", room{Name: "other", PIN: "3333", HostPIN: "3333"}, false, store.ErrInvalid, "host_pin"},
		{"alias is another room's alias", room{Name: "other", Aliases: []string{"4711"}}, false, store.ErrConflict, "aliases"},
		{"alias differs only in case", room{Name: "other", Aliases: []string{"SALES"}}, false, store.ErrConflict, "aliases"},
		{"alias is another room's name", room{Name: "other", Aliases: []string{"base"}}, false, store.ErrConflict, "aliases"},
		{"alias is another room's numeric id", room{Name: "other", Aliases: []string{"555000"}}, false, store.ErrConflict, "aliases"},
		{"numeric id taken", room{Name: "other", NumericID: "555000"}, false, store.ErrConflict, "numeric_id"},
		{"bad pin", room{Name: "other", PIN: "12"}, false, store.ErrInvalid, "pin"},
		{"update: pin is another room's pin", room{Name: "other", PIN: "1111"}, true, store.ErrConflict, "pin"},
		{"update: alias is another room's alias", room{Name: "other", Aliases: []string{"sales"}}, true, store.ErrConflict, "aliases"},
		{"update: pin equals host pin", room{Name: "other", PIN: "7777", HostPIN: "7777"}, true, store.ErrInvalid, "host_pin"},
		{"update: keep own pin and alias", room{Name: "other", PIN: "3333", Aliases: []string{"own"}}, true, nil, ""},
		{"update: unknown room", room{Name: "ghost"}, true, store.ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			mustCreate(t, s, base)
			var err error
			if tt.update {
				mustCreate(t, s, room{Name: "other", PIN: "3333", Aliases: []string{"own"}})
				_, err = s.UpdateRoom(ctx, tt.room)
			} else {
				_, err = s.CreateRoom(ctx, tt.room)
			}
			switch {
			case tt.class == nil && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.class == nil:
			case errors.Is(tt.class, store.ErrNotFound):
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("got %v, want ErrNotFound", err)
				}
			default:
				AssertField(t, err, tt.class, tt.field)
			}
			// A failed write leaves nothing behind.
			if err != nil {
				got, gerr := s.GetRoom(ctx, "base")
				if gerr != nil || fmt.Sprint(got.Aliases) != "[4711 sales]" || got.PIN != "1111" {
					t.Fatalf("base changed: %+v %v", got, gerr)
				}
				if !tt.update {
					if _, gerr := s.GetRoom(ctx, tt.room.Name); tt.room.Name != "base" && !errors.Is(gerr, store.ErrNotFound) {
						t.Fatalf("failed create left room %q: %v", tt.room.Name, gerr)
					}
				}
			}
		})
	}
}

// AssertField checks that err is of class (store.ErrConflict or
// store.ErrInvalid) and names field.
func AssertField(t *testing.T, err, class error, field string) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("got %v, want %v", err, class)
	}
	var ce *store.ConflictError
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ce):
		if ce.Field != field {
			t.Fatalf("conflict on %q (%v), want %q", ce.Field, err, field)
		}
	case errors.As(err, &ve):
		if ve.Field != field {
			t.Fatalf("invalid %q (%v), want %q", ve.Field, err, field)
		}
	default:
		t.Fatalf("%v names no field", err)
	}
}

func testUpdateKeepsIdentity(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	orig := mustCreate(t, s, store.Room{Name: "r", PIN: "1357", Aliases: []string{"a1"}})
	up, err := s.UpdateRoom(ctx, store.Room{Name: "r", PIN: "2468", HostPIN: "8642", NumericID: "999999", Aliases: []string{"b2"}, WaitForHost: true})
	if err != nil {
		t.Fatal(err)
	}
	if up.NumericID != orig.NumericID || !up.CreatedAt.Equal(orig.CreatedAt) || up.UpdatedAt.Before(orig.UpdatedAt) {
		t.Errorf("update changed identity: %+v vs %+v", up, orig)
	}
	back, err := s.GetRoom(ctx, "r")
	if err != nil || fmt.Sprint(back) != fmt.Sprint(up) {
		t.Errorf("GetRoom after update = %+v %v\nwant %+v", back, err, up)
	}
	// The old PIN and alias are free again, the new ones are taken.
	if r, err := s.FindBySIPUser(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old alias still routes to %q (%v)", r.Name, err)
	}
	if used, _ := s.PINInUse(ctx, "1357", ""); used {
		t.Error("old PIN still in use")
	}
	if r, host, err := s.FindByPIN(ctx, "8642"); err != nil || r.Name != "r" || !host {
		t.Errorf("FindByPIN(host) = %q %v %v", r.Name, host, err)
	}
	// An alias may not repeat the numeric id kept from before.
	_, err = s.UpdateRoom(ctx, store.Room{Name: "r", Aliases: []string{orig.NumericID}})
	AssertField(t, err, store.ErrInvalid, "aliases")
}

func testUpsert(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	created, err := s.UpsertRoom(ctx, store.Room{Name: "demo", PIN: "1234", Aliases: []string{"4711"}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.UpsertRoom(ctx, store.Room{Name: "demo", PIN: "5678", HostPIN: "9999"})
	if err != nil {
		t.Fatal(err)
	}
	if again.NumericID != created.NumericID || !again.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("upsert lost identity: %+v vs %+v", again, created)
	}
	if again.PIN != "5678" || again.HostPIN != "9999" || len(again.Aliases) != 0 {
		t.Errorf("upsert did not overwrite: %+v", again)
	}
	if _, err := s.FindBySIPUser(ctx, "4711"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dropped alias still routes: %v", err)
	}
	// Config may pin the numeric id.
	fixed, err := s.UpsertRoom(ctx, store.Room{Name: "demo", PIN: "5678", NumericID: "8000"})
	if err != nil || fixed.NumericID != "8000" {
		t.Fatalf("upsert with numeric id: %+v %v", fixed, err)
	}
	if r, err := s.FindBySIPUser(ctx, "8000"); err != nil || r.Name != "demo" {
		t.Errorf("FindBySIPUser(8000) = %q %v", r.Name, err)
	}
	if _, err := s.FindBySIPUser(ctx, created.NumericID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old numeric id still routes: %v", err)
	}
	if _, err := s.UpsertRoom(ctx, store.Room{Name: "bad", PIN: "1"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("upsert invalid = %v", err)
	}
}

func testFindBySIPUser(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	r := mustCreate(t, s, store.Room{Name: "standup", Aliases: []string{"4711", "+15550123", "Daily"}})
	mustCreate(t, s, store.Room{Name: "other"})
	for _, user := range []string{"standup", "STANDUP", "4711", "+15550123", "daily", "DAILY", r.NumericID} {
		got, err := s.FindBySIPUser(ctx, user)
		if err != nil || got.Name != "standup" {
			t.Errorf("FindBySIPUser(%q) = %q, %v", user, got.Name, err)
		}
	}
	for _, user := range []string{"", "stand", "4712", "15550123", "room:standup", "*"} {
		if _, err := s.FindBySIPUser(ctx, user); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindBySIPUser(%q) = %v, want ErrNotFound", user, err)
		}
	}
}

func testFindByPIN(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	mustCreate(t, s, store.Room{Name: "a", PIN: "1000", HostPIN: "1001"})
	mustCreate(t, s, store.Room{Name: "b", PIN: "200000000000"})
	tests := []struct {
		pin  string
		room string
		host bool
	}{
		{"1000", "a", false},
		{"1001", "a", true},
		{"200000000000", "b", false},
		{"2000", "", false},
		{"", "", false},
		{"10000", "", false},
	}
	for _, tt := range tests {
		r, host, err := s.FindByPIN(ctx, tt.pin)
		if tt.room == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FindByPIN(%q) = %q, %v; want ErrNotFound", tt.pin, r.Name, err)
			}
			continue
		}
		if err != nil || r.Name != tt.room || host != tt.host {
			t.Errorf("FindByPIN(%q) = %q host=%v %v; want %q host=%v", tt.pin, r.Name, host, err, tt.room, tt.host)
		}
	}
	if used, err := s.PINInUse(ctx, "1001", ""); err != nil || !used {
		t.Errorf("PINInUse(1001) = %v %v", used, err)
	}
	if used, err := s.PINInUse(ctx, "1001", "a"); err != nil || used {
		t.Errorf("PINInUse(1001, except a) = %v %v", used, err)
	}
	if used, err := s.PINInUse(ctx, "4242", ""); err != nil || used {
		t.Errorf("PINInUse(4242) = %v %v", used, err)
	}
}

func testDeleteFreesEverything(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	r := mustCreate(t, s, store.Room{Name: "gone", PIN: "1357", HostPIN: "2468", Aliases: []string{"4711"}})
	if err := s.DeleteRoom(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoom(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
	if _, err := s.GetRoom(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRoom after delete = %v", err)
	}
	if list, err := s.ListRooms(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListRooms after delete = %+v %v", list, err)
	}
	// Every identifier can be reused by a new room.
	mustCreate(t, s, store.Room{Name: "next", PIN: "2468", HostPIN: "1357", Aliases: []string{"4711", "gone", r.NumericID}})
}

func testGeneratePIN(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	seen := map[string]bool{}
	for i := range 20 {
		pin, err := store.GeneratePIN(ctx, s, 6)
		if err != nil {
			t.Fatal(err)
		}
		if store.ValidatePIN("pin", pin) != nil || len(pin) != 6 || seen[pin] {
			t.Fatalf("bad or repeated PIN %q", pin)
		}
		seen[pin] = true
		mustCreate(t, s, store.Room{Name: fmt.Sprintf("g%d", i), PIN: pin})
	}
	for _, digits := range []int{3, 13} {
		if _, err := store.GeneratePIN(ctx, s, digits); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("GeneratePIN(%d) = %v, want ErrInvalid", digits, err)
		}
	}
}

// testConcurrent runs creates, reads and PIN lookups at once; run with
// -race. Every room claims the same contested PIN, so exactly one must win
// it.
func testConcurrent(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.CreateRoom(ctx, store.Room{Name: fmt.Sprintf("c%d", i), PIN: "7531", HostPIN: fmt.Sprintf("%04d", 1000+i)})
			switch {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case errors.Is(err, store.ErrConflict):
				if _, err := s.CreateRoom(ctx, store.Room{Name: fmt.Sprintf("c%d", i), HostPIN: fmt.Sprintf("%04d", 1000+i)}); err != nil {
					errs <- err
				}
			default:
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.ListRooms(ctx); err != nil {
				errs <- err
			}
			if _, _, err := s.FindByPIN(ctx, "7531"); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if won != 1 {
		t.Errorf("%d rooms got the contested PIN, want 1", won)
	}
	list, err := s.ListRooms(ctx)
	if err != nil || len(list) != n {
		t.Fatalf("ListRooms: %d rooms, %v", len(list), err)
	}
}

func testClosed(t *testing.T, open Factory) {
	ctx := context.Background()
	s := open(t)
	mustCreate(t, s, store.Room{Name: "x", PIN: "8080"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s.GetRoom(ctx, "x"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetRoom after Close = %v, want ErrClosed", err)
	}
	if _, err := s.CreateRoom(ctx, store.Room{Name: "late"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("CreateRoom after Close = %v, want ErrClosed", err)
	}
	if _, _, err := s.FindByPIN(ctx, "8080"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("FindByPIN after Close = %v, want ErrClosed", err)
	}
}
