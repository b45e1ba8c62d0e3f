package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PutRegistration implements Store. Expired bindings are dropped in the
// same transaction, so the table never outgrows the live ones for long.
func (s *SQLite) PutRegistration(ctx context.Context, r Registration) error {
	if err := r.validate(); err != nil {
		return err
	}
	now := time.Now()
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM registrations WHERE expires_ms <= ?`, now.UnixMilli()); err != nil {
			return fmt.Errorf("store: purge registrations: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO registrations
			(aor, contact, username, transport, source, user_agent, call_id, cseq, instance_id, expires_ms, updated_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (aor, contact) DO UPDATE SET
				username = excluded.username, transport = excluded.transport, source = excluded.source,
				user_agent = excluded.user_agent, call_id = excluded.call_id, cseq = excluded.cseq,
				instance_id = excluded.instance_id, expires_ms = excluded.expires_ms, updated_ms = excluded.updated_ms`,
			r.AOR, r.Contact, r.Username, r.Transport, r.Source, r.UserAgent, r.CallID, int64(r.CSeq), r.InstanceID,
			r.ExpiresAt.UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: put registration: %w", err)
		}
		return nil
	})
}

// DeleteRegistrations implements Store.
func (s *SQLite) DeleteRegistrations(ctx context.Context, aor, contact string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if contact == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM registrations WHERE aor = ?`, aor)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM registrations WHERE aor = ? AND contact = ?`, aor, contact)
		}
		if err != nil {
			return fmt.Errorf("store: delete registrations: %w", err)
		}
		return nil
	})
}

// ListRegistrations implements Store.
func (s *SQLite) ListRegistrations(ctx context.Context, aor string, now time.Time) ([]Registration, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	const cols = `aor, contact, username, transport, source, user_agent, call_id, cseq, instance_id, expires_ms, updated_ms`
	var (
		rows *sql.Rows
		err  error
	)
	if aor == "" {
		rows, err = s.db.QueryContext(ctx, `SELECT `+cols+` FROM registrations WHERE expires_ms > ? ORDER BY aor, contact`, now.UnixMilli())
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT `+cols+` FROM registrations WHERE aor = ? AND expires_ms > ? ORDER BY contact`, aor, now.UnixMilli())
	}
	if err != nil {
		return nil, fmt.Errorf("store: list registrations: %w", err)
	}
	defer rows.Close()
	out := []Registration{}
	for rows.Next() {
		var (
			r                  Registration
			cseq               int64
			expires, updatedMS int64
		)
		if err := rows.Scan(&r.AOR, &r.Contact, &r.Username, &r.Transport, &r.Source, &r.UserAgent, &r.CallID,
			&cseq, &r.InstanceID, &expires, &updatedMS); err != nil {
			return nil, fmt.Errorf("store: list registrations: %w", err)
		}
		r.CSeq = uint32(cseq) //nolint:gosec // stored from a uint32
		r.ExpiresAt, r.UpdatedAt = time.UnixMilli(expires), time.UnixMilli(updatedMS)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list registrations: %w", err)
	}
	return out, nil
}
