package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func openTest(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "dir", "rooms.db") // parents created
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func mustCreate(t *testing.T, s Store, r Room) Room {
	t.Helper()
	got, err := s.CreateRoom(context.Background(), r)
	if err != nil {
		t.Fatalf("CreateRoom(%s): %v", r.Name, err)
	}
	return got
}

func TestCreateGetList(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	in := Room{Name: "standup", PIN: "4321", HostPIN: "9876", Aliases: []string{"4711", "Daily"}, WaitForHost: true}
	got := mustCreate(t, s, in)
	if len(got.NumericID) != numericIDDigits || got.NumericID[0] == '0' || !allDigits(got.NumericID) {
		t.Errorf("numeric id %q", got.NumericID)
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
	mustCreate(t, s, Room{Name: "alpha"})
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
		if _, err := s.GetRoom(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetRoom(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

// TestRules checks every cross-room rule: each case creates "base" and
// then tries to create or update another room.
func TestRules(t *testing.T) {
	base := Room{Name: "base", PIN: "1111", HostPIN: "2222", Aliases: []string{"4711", "sales"}, NumericID: "555000"}
	tests := []struct {
		desc   string
		room   Room
		update bool // update an existing "other" room instead of creating
		class  error
		field  string
	}{
		{"fine", Room{Name: "other", PIN: "3333", HostPIN: "4444", Aliases: []string{"4712"}}, false, nil, ""},
		{"duplicate name", Room{Name: "base"}, false, ErrConflict, "name"},
		{"name is another room's alias", Room{Name: "sales"}, false, ErrConflict, "name"},
		{"name is another room's numeric id", Room{Name: "555000"}, false, ErrConflict, "name"},
		{"pin is another room's pin", Room{Name: "other", PIN: "1111"}, false, ErrConflict, "pin"},
		{"pin is another room's host pin", Room{Name: "other", PIN: "2222"}, false, ErrConflict, "pin"},
		{"host pin is another room's pin", Room{Name: "other", PIN: "3333", HostPIN: "1111"}, false, ErrConflict, "host_pin"},
		{"host pin is another room's host pin", Room{Name: "other", PIN: "3333", HostPIN: "2222"}, false, ErrConflict, "host_pin"},
		{"pin equals own host pin", Room{Name: "other", PIN: "3333", HostPIN: "3333"}, false, ErrInvalid, "host_pin"},
		{"alias is another room's alias", Room{Name: "other", Aliases: []string{"4711"}}, false, ErrConflict, "aliases"},
		{"alias differs only in case", Room{Name: "other", Aliases: []string{"SALES"}}, false, ErrConflict, "aliases"},
		{"alias is another room's name", Room{Name: "other", Aliases: []string{"base"}}, false, ErrConflict, "aliases"},
		{"alias is another room's numeric id", Room{Name: "other", Aliases: []string{"555000"}}, false, ErrConflict, "aliases"},
		{"numeric id taken", Room{Name: "other", NumericID: "555000"}, false, ErrConflict, "numeric_id"},
		{"bad pin", Room{Name: "other", PIN: "12"}, false, ErrInvalid, "pin"},
		{"update: pin is another room's pin", Room{Name: "other", PIN: "1111"}, true, ErrConflict, "pin"},
		{"update: alias is another room's alias", Room{Name: "other", Aliases: []string{"sales"}}, true, ErrConflict, "aliases"},
		{"update: pin equals host pin", Room{Name: "other", PIN: "7777", HostPIN: "7777"}, true, ErrInvalid, "host_pin"},
		{"update: keep own pin and alias", Room{Name: "other", PIN: "3333", Aliases: []string{"own"}}, true, nil, ""},
		{"update: unknown room", Room{Name: "ghost"}, true, ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openTest(t)
			mustCreate(t, s, base)
			var err error
			if tt.update {
				mustCreate(t, s, Room{Name: "other", PIN: "3333", Aliases: []string{"own"}})
				_, err = s.UpdateRoom(ctx, tt.room)
			} else {
				_, err = s.CreateRoom(ctx, tt.room)
			}
			switch {
			case tt.class == nil && err != nil:
				t.Fatalf("got %v, want success", err)
			case tt.class == nil:
			case errors.Is(tt.class, ErrNotFound):
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %v, want ErrNotFound", err)
				}
			default:
				assertField(t, err, tt.class, tt.field)
			}
			// A failed write leaves nothing behind.
			if err != nil {
				got, gerr := s.GetRoom(ctx, "base")
				if gerr != nil || fmt.Sprint(got.Aliases) != "[4711 sales]" || got.PIN != "1111" {
					t.Fatalf("base changed: %+v %v", got, gerr)
				}
				if !tt.update {
					if _, gerr := s.GetRoom(ctx, tt.room.Name); tt.room.Name != "base" && !errors.Is(gerr, ErrNotFound) {
						t.Fatalf("failed create left room %q: %v", tt.room.Name, gerr)
					}
				}
			}
		})
	}
}

func TestUpdateKeepsIdentity(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	orig := mustCreate(t, s, Room{Name: "r", PIN: "1357", Aliases: []string{"a1"}})
	up, err := s.UpdateRoom(ctx, Room{Name: "r", PIN: "2468", HostPIN: "8642", NumericID: "999999", Aliases: []string{"b2"}, WaitForHost: true})
	if err != nil {
		t.Fatal(err)
	}
	if up.NumericID != orig.NumericID || !up.CreatedAt.Equal(orig.CreatedAt) || !up.UpdatedAt.After(orig.UpdatedAt) && !up.UpdatedAt.Equal(orig.UpdatedAt) {
		t.Errorf("update changed identity: %+v vs %+v", up, orig)
	}
	// The old PIN and alias are free again, the new ones are taken.
	if r, err := s.FindBySIPUser(ctx, "a1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old alias still routes to %q (%v)", r.Name, err)
	}
	if used, _ := s.PINInUse(ctx, "1357", ""); used {
		t.Error("old PIN still in use")
	}
	if r, host, err := s.FindByPIN(ctx, "8642"); err != nil || r.Name != "r" || !host {
		t.Errorf("FindByPIN(host) = %q %v %v", r.Name, host, err)
	}
}

func TestUpsert(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	created, err := s.UpsertRoom(ctx, Room{Name: "demo", PIN: "1234", Aliases: []string{"4711"}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.UpsertRoom(ctx, Room{Name: "demo", PIN: "5678", HostPIN: "9999"})
	if err != nil {
		t.Fatal(err)
	}
	if again.NumericID != created.NumericID || !again.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("upsert lost identity: %+v vs %+v", again, created)
	}
	if again.PIN != "5678" || again.HostPIN != "9999" || len(again.Aliases) != 0 {
		t.Errorf("upsert did not overwrite: %+v", again)
	}
	// Config may pin the numeric id.
	fixed, err := s.UpsertRoom(ctx, Room{Name: "demo", PIN: "5678", NumericID: "8000"})
	if err != nil || fixed.NumericID != "8000" {
		t.Fatalf("upsert with numeric id: %+v %v", fixed, err)
	}
	if r, err := s.FindBySIPUser(ctx, "8000"); err != nil || r.Name != "demo" {
		t.Errorf("FindBySIPUser(8000) = %q %v", r.Name, err)
	}
	if _, err := s.FindBySIPUser(ctx, created.NumericID); !errors.Is(err, ErrNotFound) {
		t.Errorf("old numeric id still routes: %v", err)
	}
	if _, err := s.UpsertRoom(ctx, Room{Name: "bad", PIN: "1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("upsert invalid = %v", err)
	}
}

func TestFindBySIPUser(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	r := mustCreate(t, s, Room{Name: "standup", Aliases: []string{"4711", "+15550123", "Daily"}})
	mustCreate(t, s, Room{Name: "other"})
	for _, user := range []string{"standup", "STANDUP", "4711", "+15550123", "daily", "DAILY", r.NumericID} {
		got, err := s.FindBySIPUser(ctx, user)
		if err != nil || got.Name != "standup" {
			t.Errorf("FindBySIPUser(%q) = %q, %v", user, got.Name, err)
		}
	}
	for _, user := range []string{"", "stand", "4712", "15550123"} {
		if _, err := s.FindBySIPUser(ctx, user); !errors.Is(err, ErrNotFound) {
			t.Errorf("FindBySIPUser(%q) = %v, want ErrNotFound", user, err)
		}
	}
}

func TestFindByPIN(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	mustCreate(t, s, Room{Name: "a", PIN: "1000", HostPIN: "1001"})
	mustCreate(t, s, Room{Name: "b", PIN: "200000000000"})
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
			if !errors.Is(err, ErrNotFound) {
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
}

func TestDeleteFreesEverything(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	r := mustCreate(t, s, Room{Name: "gone", PIN: "1357", HostPIN: "2468", Aliases: []string{"4711"}})
	if err := s.DeleteRoom(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoom(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
	if _, err := s.GetRoom(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRoom after delete = %v", err)
	}
	// Every identifier can be reused by a new room.
	mustCreate(t, s, Room{Name: "next", PIN: "2468", HostPIN: "1357", Aliases: []string{"4711", "gone", r.NumericID}})
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "rooms.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := mustCreate(t, s, Room{Name: "persist", PIN: "8080", HostPIN: "9090", Aliases: []string{"x1"}, PINOnDirectDial: true})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s.GetRoom(ctx, "persist"); !errors.Is(err, ErrClosed) {
		t.Errorf("GetRoom after Close = %v, want ErrClosed", err)
	}
	if _, err := s.CreateRoom(ctx, Room{Name: "late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateRoom after Close = %v, want ErrClosed", err)
	}

	s2, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	got, err := s2.GetRoom(ctx, "persist")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after restart %+v\nwant          %+v", got, want)
	}
	if r, host, err := s2.FindByPIN(ctx, "9090"); err != nil || r.Name != "persist" || !host {
		t.Errorf("FindByPIN after restart = %q %v %v", r.Name, host, err)
	}
	var versions int
	if err := s2.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != len(migrations) {
		t.Errorf("schema_migrations has %d rows (%v), want %d: reopening must not re-apply", versions, err, len(migrations))
	}
	var mode string
	if err := s2.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q %v, want wal", mode, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := OpenSQLite(ctx, path); err == nil {
		s2.Close()
		t.Fatal("opened a database from a newer build")
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustCreate(t, s, Room{Name: "m", PIN: "4545"})
	if r, _, err := s.FindByPIN(ctx, "4545"); err != nil || r.Name != "m" {
		t.Fatalf("FindByPIN = %q %v", r.Name, err)
	}
}

func TestGeneratePIN(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	seen := map[string]bool{}
	for i := range 20 {
		pin, err := GeneratePIN(ctx, s, 6)
		if err != nil {
			t.Fatal(err)
		}
		if ValidatePIN("pin", pin) != nil || len(pin) != 6 || weakPIN(pin) || seen[pin] {
			t.Fatalf("bad or repeated PIN %q", pin)
		}
		seen[pin] = true
		mustCreate(t, s, Room{Name: fmt.Sprintf("g%d", i), PIN: pin})
	}
	for _, digits := range []int{3, 13} {
		if _, err := GeneratePIN(ctx, s, digits); !errors.Is(err, ErrInvalid) {
			t.Errorf("GeneratePIN(%d) = %v, want ErrInvalid", digits, err)
		}
	}
}

// TestConcurrent runs creates, reads and PIN lookups at once; run with -race.
// Every room claims the same contested PIN, so exactly one must win it.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.CreateRoom(ctx, Room{Name: fmt.Sprintf("c%d", i), PIN: "7531", HostPIN: fmt.Sprintf("%04d", 1000+i)})
			switch {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case errors.Is(err, ErrConflict):
				if _, err := s.CreateRoom(ctx, Room{Name: fmt.Sprintf("c%d", i), HostPIN: fmt.Sprintf("%04d", 1000+i)}); err != nil {
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
			if _, _, err := s.FindByPIN(ctx, "7531"); err != nil && !errors.Is(err, ErrNotFound) {
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
