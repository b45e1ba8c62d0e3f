package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one numbered schema step. Steps are append-only: a released
// step is never edited, a change is a new step.
type migration struct {
	version int
	sql     string
}

// migrations bring an empty database to the current schema.
//
// Every dialable identifier of a room (its name, numeric id and aliases)
// is a row of sip_users and every PIN and host PIN a row of room_pins, so
// the primary keys themselves make them unique across rooms: the rules hold
// even if a bug slipped past the checks in Go.
var migrations = []migration{
	{1, `
CREATE TABLE rooms (
	name               TEXT PRIMARY KEY,
	pin                TEXT NOT NULL DEFAULT '',
	host_pin           TEXT NOT NULL DEFAULT '',
	numeric_id         TEXT NOT NULL UNIQUE,
	wait_for_host      INTEGER NOT NULL DEFAULT 0,
	pin_on_direct_dial INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE TABLE sip_users (
	user     TEXT PRIMARY KEY,
	room     TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
	kind     TEXT NOT NULL CHECK (kind IN ('name', 'numeric_id', 'alias')),
	position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sip_users_room ON sip_users(room);
CREATE TABLE room_pins (
	pin  TEXT PRIMARY KEY,
	room TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
	host INTEGER NOT NULL
);
CREATE INDEX room_pins_room ON room_pins(room);
`},
	{2, `
CREATE TABLE registrations (
	aor         TEXT NOT NULL,
	contact     TEXT NOT NULL,
	username    TEXT NOT NULL DEFAULT '',
	transport   TEXT NOT NULL DEFAULT '',
	source      TEXT NOT NULL DEFAULT '',
	user_agent  TEXT NOT NULL DEFAULT '',
	call_id     TEXT NOT NULL DEFAULT '',
	cseq        INTEGER NOT NULL DEFAULT 0,
	instance_id TEXT NOT NULL DEFAULT '',
	expires_ms  INTEGER NOT NULL,
	updated_ms  INTEGER NOT NULL,
	PRIMARY KEY (aor, contact)
);
CREATE INDEX registrations_expires ON registrations(expires_ms);
`},
}

// migrate applies every migration the database has not seen, each in its
// own transaction together with its schema_migrations row, so a crash leaves
// the schema at a known version and reopening is a no-op.
func (s *SQLite) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	var current int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if latest := migrations[len(migrations)-1].version; current > latest {
		return fmt.Errorf("store: database schema version %d is newer than this build knows (%d)", current, latest)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		err := s.write(ctx, func(tx *sql.Tx) error {
			// Another process may have applied it since we looked.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.version, time.Now().Unix())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %d: %w", m.version, err)
		}
	}
	return nil
}
