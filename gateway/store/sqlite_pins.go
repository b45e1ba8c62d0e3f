package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
)

// FindByPIN implements Store. It reads every stored PIN and compares each
// one, as a fixed-size SHA-256 digest so that lengths do not short-cut the
// comparison either, without stopping at a match: the time taken depends on
// the number of PINs, not on which one (if any) was entered. An index
// lookup would answer faster but its timing would vary with the PIN.
func (s *SQLite) FindByPIN(ctx context.Context, pin string) (Room, bool, error) {
	if err := s.checkOpen(); err != nil {
		return Room{}, false, err
	}
	want := sha256.Sum256([]byte(pin))
	rows, err := s.db.QueryContext(ctx, `SELECT pin, room, host FROM room_pins`)
	if err != nil {
		return Room{}, false, fmt.Errorf("store: find pin: %w", err)
	}
	defer rows.Close()
	var (
		match string
		host  bool
		p, rm string
		h     bool
	)
	for rows.Next() {
		if err := rows.Scan(&p, &rm, &h); err != nil {
			return Room{}, false, fmt.Errorf("store: find pin: %w", err)
		}
		got := sha256.Sum256([]byte(p))
		if subtle.ConstantTimeCompare(want[:], got[:]) == 1 {
			match, host = rm, h
		}
	}
	if err := rows.Err(); err != nil {
		return Room{}, false, fmt.Errorf("store: find pin: %w", err)
	}
	if match == "" {
		return Room{}, false, fmt.Errorf("pin: %w", ErrNotFound)
	}
	r, err := loadRoom(ctx, s.db, match)
	if err != nil {
		return Room{}, false, err
	}
	return r, host, nil
}

// PINInUse implements Store.
func (s *SQLite) PINInUse(ctx context.Context, pin, exceptRoom string) (bool, error) {
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	var room string
	err := s.db.QueryRowContext(ctx, `SELECT room FROM room_pins WHERE pin = ? AND room <> ?`, pin, exceptRoom).Scan(&room)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: pin in use: %w", err)
	}
	return true, nil
}
