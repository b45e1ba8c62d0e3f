package store

import (
	"context"
	"fmt"
	"path/filepath"
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

// TestRestart: what one process wrote, the next reads; the schema is not
// applied twice and the database runs in WAL mode.
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
