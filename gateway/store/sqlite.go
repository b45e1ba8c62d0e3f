package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// busyTimeoutMS is how long a connection waits for another process's write
// lock before failing with SQLITE_BUSY; API writes are rare and tiny.
const busyTimeoutMS = 5000

// SQLite is the embedded Store: one database file, WAL mode so that call
// routing (reads) never waits for the API (writes).
type SQLite struct {
	db *sql.DB
	// writeMu serializes this process's write transactions. SQLite allows
	// one writer anyway; queueing here instead of in SQLite's busy handler
	// keeps writers in order and leaves busy_timeout for other processes.
	writeMu sync.Mutex
	closed  atomic.Bool
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating it and its parent directories when needed) the
// database at path and brings its schema up to date. Path ":memory:" gives a
// private in-memory database, handy in tests.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	// The driver splits the DSN at '?' to find its parameters.
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("store: database path %q must not contain '?'", path)
	}
	memory := path == ":memory:"
	if !memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	// _txlock=immediate takes the write lock at BEGIN, so a transaction that
	// reads then writes cannot fail half-way with SQLITE_BUSY when another
	// process wrote in between (a deferred transaction cannot wait for that).
	dsn := fmt.Sprintf("%s?_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)",
		path, busyTimeoutMS)
	if !memory {
		dsn += "&_pragma=journal_mode(WAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if memory {
		// Each connection to ":memory:" is a separate, empty database.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(4)
	}
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// Close closes the database; later calls return ErrClosed from every method
// and Close itself is idempotent.
func (s *SQLite) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	// Wait for a write in flight so it is not cut off mid-transaction.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.Close()
}

// write runs fn in an immediate transaction, serialized with this process's
// other writes, and commits when fn succeeds.
func (s *SQLite) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (s *SQLite) checkOpen() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}
