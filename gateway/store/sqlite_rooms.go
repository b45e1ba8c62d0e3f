package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// querier is what *sql.DB and *sql.Tx share, so reads work inside and
// outside write transactions.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateRoom implements Store.
func (s *SQLite) CreateRoom(ctx context.Context, r Room) (Room, error) {
	r = r.normalize()
	if err := r.validate(); err != nil {
		return Room{}, err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = s.createTx(ctx, tx, r)
		return err
	})
	if err != nil {
		return Room{}, err
	}
	return r.clone(), nil
}

// UpdateRoom implements Store.
func (s *SQLite) UpdateRoom(ctx context.Context, r Room) (Room, error) {
	r = r.normalize()
	r.NumericID = "" // immutable: updateTx keeps the stored one
	if err := r.validate(); err != nil {
		return Room{}, err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := loadRoom(ctx, tx, r.Name)
		if err != nil {
			return err
		}
		r, err = s.updateTx(ctx, tx, old, r)
		return err
	})
	if err != nil {
		return Room{}, err
	}
	return r.clone(), nil
}

// UpsertRoom implements Store.
func (s *SQLite) UpsertRoom(ctx context.Context, r Room) (Room, error) {
	r = r.normalize()
	if err := r.validate(); err != nil {
		return Room{}, err
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := loadRoom(ctx, tx, r.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			r, err = s.createTx(ctx, tx, r)
		case err == nil:
			r, err = s.updateTx(ctx, tx, old, r)
		}
		return err
	})
	if err != nil {
		return Room{}, err
	}
	return r.clone(), nil
}

// DeleteRoom implements Store.
func (s *SQLite) DeleteRoom(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		// Explicit deletes rather than relying on ON DELETE CASCADE alone, so
		// PINs are freed even on a connection where foreign_keys is off.
		for _, q := range []string{
			`DELETE FROM sip_users WHERE room = ?`,
			`DELETE FROM room_pins WHERE room = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return fmt.Errorf("store: delete room %q: %w", name, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM rooms WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("store: delete room %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: delete room %q: %w", name, err)
		} else if n == 0 {
			return fmt.Errorf("room %q: %w", name, ErrNotFound)
		}
		return nil
	})
}

// GetRoom implements Store.
func (s *SQLite) GetRoom(ctx context.Context, name string) (Room, error) {
	if err := s.checkOpen(); err != nil {
		return Room{}, err
	}
	if ValidateRoomName(name) != nil {
		return Room{}, fmt.Errorf("room %q: %w", name, ErrNotFound)
	}
	return loadRoom(ctx, s.db, name)
}

// ListRooms implements Store.
func (s *SQLite) ListRooms(ctx context.Context) ([]Room, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+roomColumns+` FROM rooms ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list rooms: %w", err)
	}
	defer rows.Close()
	rooms := []Room{}
	index := map[string]int{}
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, err
		}
		index[r.Name] = len(rooms)
		rooms = append(rooms, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list rooms: %w", err)
	}
	// One query for every alias instead of one per room.
	arows, err := s.db.QueryContext(ctx, `SELECT room, user FROM sip_users WHERE kind = 'alias' ORDER BY room, position`)
	if err != nil {
		return nil, fmt.Errorf("store: list aliases: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var room, alias string
		if err := arows.Scan(&room, &alias); err != nil {
			return nil, fmt.Errorf("store: list aliases: %w", err)
		}
		// A room created between the two queries is simply not listed.
		if i, ok := index[room]; ok {
			rooms[i].Aliases = append(rooms[i].Aliases, alias)
		}
	}
	if err := arows.Err(); err != nil {
		return nil, fmt.Errorf("store: list aliases: %w", err)
	}
	return rooms, nil
}

// FindBySIPUser implements Store.
func (s *SQLite) FindBySIPUser(ctx context.Context, user string) (Room, error) {
	if err := s.checkOpen(); err != nil {
		return Room{}, err
	}
	user = NormalizeSIPUser(user)
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT room FROM sip_users WHERE user = ?`, user).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, fmt.Errorf("sip user %q: %w", user, ErrNotFound)
	}
	if err != nil {
		return Room{}, fmt.Errorf("store: find sip user: %w", err)
	}
	return loadRoom(ctx, s.db, name)
}

// createTx inserts r, which must be normalized and valid and not exist yet.
func (s *SQLite) createTx(ctx context.Context, tx *sql.Tx, r Room) (Room, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rooms WHERE name = ?`, r.Name).Scan(&n); err != nil {
		return Room{}, fmt.Errorf("store: create room: %w", err)
	}
	if n > 0 {
		return Room{}, &ConflictError{Field: "name", Value: r.Name}
	}
	if err := checkIdentifiers(ctx, tx, r); err != nil {
		return Room{}, err
	}
	if r.NumericID == "" {
		id, err := newNumericID(ctx, tx, r.Aliases)
		if err != nil {
			return Room{}, err
		}
		r.NumericID = id
	}
	now := time.Now().UTC()
	r.CreatedAt, r.UpdatedAt = now, now
	_, err := tx.ExecContext(ctx, `INSERT INTO rooms
		(name, pin, host_pin, numeric_id, wait_for_host, pin_on_direct_dial, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Name, r.PIN, r.HostPIN, r.NumericID, r.WaitForHost, r.PINOnDirectDial,
		r.CreatedAt.UnixNano(), r.UpdatedAt.UnixNano())
	if err != nil {
		return Room{}, constraintErr("create room", err)
	}
	if err := insertIdentifiers(ctx, tx, r); err != nil {
		return Room{}, err
	}
	return r, nil
}

// updateTx overwrites old's mutable fields with r's. NumericID is taken
// from r when set (UpsertRoom from config), else kept.
func (s *SQLite) updateTx(ctx context.Context, tx *sql.Tx, old, r Room) (Room, error) {
	if r.NumericID == "" {
		r.NumericID = old.NumericID
		// Re-check now that the numeric id is known: an alias may repeat it.
		if err := r.validate(); err != nil {
			return Room{}, err
		}
	}
	r.CreatedAt = old.CreatedAt
	r.UpdatedAt = time.Now().UTC()
	// Drop the room's own identifiers first so that keeping a PIN or alias
	// is not reported as a conflict with itself.
	for _, q := range []string{
		`DELETE FROM sip_users WHERE room = ?`,
		`DELETE FROM room_pins WHERE room = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, r.Name); err != nil {
			return Room{}, fmt.Errorf("store: update room: %w", err)
		}
	}
	if err := checkIdentifiers(ctx, tx, r); err != nil {
		return Room{}, err
	}
	_, err := tx.ExecContext(ctx, `UPDATE rooms SET
		pin = ?, host_pin = ?, numeric_id = ?, wait_for_host = ?, pin_on_direct_dial = ?, updated_at = ?
		WHERE name = ?`,
		r.PIN, r.HostPIN, r.NumericID, r.WaitForHost, r.PINOnDirectDial, r.UpdatedAt.UnixNano(), r.Name)
	if err != nil {
		return Room{}, constraintErr("update room", err)
	}
	if err := insertIdentifiers(ctx, tx, r); err != nil {
		return Room{}, err
	}
	return r, nil
}

// checkIdentifiers reports the first of r's name, PINs, aliases and numeric
// id that another room already uses. r's own rows must have been removed.
func checkIdentifiers(ctx context.Context, tx *sql.Tx, r Room) error {
	owner := func(query, value string) (string, error) {
		var room string
		err := tx.QueryRowContext(ctx, query, value).Scan(&room)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("store: check %q: %w", value, err)
		}
		return room, nil
	}
	type check struct{ field, value, query string }
	const userQ = `SELECT room FROM sip_users WHERE user = ?`
	const pinQ = `SELECT room FROM room_pins WHERE pin = ?`
	checks := []check{{"name", r.Name, userQ}, {"pin", r.PIN, pinQ}, {"host_pin", r.HostPIN, pinQ}}
	for _, a := range r.Aliases {
		checks = append(checks, check{"aliases", a, userQ})
	}
	checks = append(checks, check{"numeric_id", r.NumericID, userQ})
	for _, c := range checks {
		if c.value == "" {
			continue
		}
		other, err := owner(c.query, c.value)
		if err != nil {
			return err
		}
		if other != "" && other != r.Name {
			return &ConflictError{Field: c.field, Value: c.value, Room: other}
		}
	}
	return nil
}

// insertIdentifiers writes r's sip_users and room_pins rows.
func insertIdentifiers(ctx context.Context, tx *sql.Tx, r Room) error {
	addUser := func(user, kind string, pos int) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sip_users (user, room, kind, position) VALUES (?, ?, ?, ?)`,
			user, r.Name, kind, pos)
		return constraintErr("save "+kind, err)
	}
	if err := addUser(r.Name, "name", 0); err != nil {
		return err
	}
	if err := addUser(r.NumericID, "numeric_id", 0); err != nil {
		return err
	}
	for i, a := range r.Aliases {
		if err := addUser(a, "alias", i); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		pin  string
		host bool
	}{{r.PIN, false}, {r.HostPIN, true}} {
		if p.pin == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO room_pins (pin, room, host) VALUES (?, ?, ?)`,
			p.pin, r.Name, p.host); err != nil {
			return constraintErr("save pin", err)
		}
	}
	return nil
}

const roomColumns = `name, pin, host_pin, numeric_id, wait_for_host, pin_on_direct_dial, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanRoom(row scanner) (Room, error) {
	var r Room
	var created, updated int64
	err := row.Scan(&r.Name, &r.PIN, &r.HostPIN, &r.NumericID, &r.WaitForHost, &r.PINOnDirectDial, &created, &updated)
	if err != nil {
		return Room{}, err
	}
	r.CreatedAt = time.Unix(0, created).UTC()
	r.UpdatedAt = time.Unix(0, updated).UTC()
	r.Aliases = []string{}
	return r, nil
}

// loadRoom reads one room with its aliases.
func loadRoom(ctx context.Context, q querier, name string) (Room, error) {
	r, err := scanRoom(q.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, fmt.Errorf("room %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Room{}, fmt.Errorf("store: load room %q: %w", name, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT user FROM sip_users WHERE room = ? AND kind = 'alias' ORDER BY position`, name)
	if err != nil {
		return Room{}, fmt.Errorf("store: load aliases of %q: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return Room{}, fmt.Errorf("store: load aliases of %q: %w", name, err)
		}
		r.Aliases = append(r.Aliases, a)
	}
	if err := rows.Err(); err != nil {
		return Room{}, fmt.Errorf("store: load aliases of %q: %w", name, err)
	}
	return r, nil
}

// constraintErr turns a uniqueness violation the Go checks missed (they
// should not) into ErrConflict, and wraps anything else.
func constraintErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var coded interface{ Code() int }
	// SQLITE_CONSTRAINT is 19; extended codes keep it in the low byte.
	if errors.As(err, &coded) && coded.Code()&0xff == 19 {
		return fmt.Errorf("store: %s: %w (%w)", op, ErrConflict, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
