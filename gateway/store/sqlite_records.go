package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

var _ Records = (*SQLite)(nil)

// live is the condition of a record that has not expired at ?.
const live = `(expires_at = 0 OR expires_at > ?)`

func expiry(now time.Time, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return now.Add(ttl).UnixNano()
}

// PutRecord implements Records.
func (s *SQLite) PutRecord(ctx context.Context, kind, id string, value []byte, ttl time.Duration) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		_, err := tx.ExecContext(ctx, `INSERT INTO records (kind, id, value, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
			kind, id, value, expiry(now, ttl))
		if err != nil {
			return fmt.Errorf("store: put %s: %w", kind, err)
		}
		return s.pruneRecords(ctx, tx, now)
	})
}

// ClaimRecord implements Records.
func (s *SQLite) ClaimRecord(ctx context.Context, kind, id string, value []byte, ttl time.Duration) (bool, []byte, error) {
	var ok bool
	var holder []byte
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		cur, err := getRecord(ctx, tx, kind, id, now)
		if err == nil && !bytes.Equal(cur, value) {
			holder = cur
			return nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO records (kind, id, value, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
			kind, id, value, expiry(now, ttl))
		if err != nil {
			return fmt.Errorf("store: claim %s: %w", kind, err)
		}
		ok, holder = true, value
		return nil
	})
	return ok, holder, err
}

// GetRecord implements Records.
func (s *SQLite) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return getRecord(ctx, s.db, kind, id, time.Now())
}

func getRecord(ctx context.Context, q querier, kind, id string, now time.Time) ([]byte, error) {
	var v []byte
	err := q.QueryRowContext(ctx, `SELECT value FROM records WHERE kind = ? AND id = ? AND `+live,
		kind, id, now.UnixNano()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", kind, err)
	}
	return v, nil
}

// ListRecords implements Records.
func (s *SQLite) ListRecords(ctx context.Context, kind string) (map[string][]byte, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, value FROM records WHERE kind = ? AND `+live, kind, time.Now().UnixNano())
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", kind, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var v []byte
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("store: list %s: %w", kind, err)
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list %s: %w", kind, err)
	}
	return out, nil
}

// DeleteRecord implements Records.
func (s *SQLite) DeleteRecord(ctx context.Context, kind, id string, value []byte) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		q, args := `DELETE FROM records WHERE kind = ? AND id = ? AND `+live, []any{kind, id, time.Now().UnixNano()}
		if value != nil {
			q += ` AND value = ?`
			args = append(args, value)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("store: delete %s: %w", kind, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// pruneRecords drops expired records, so that the table holds only what
// lives (plus what expired since the last write).
func (s *SQLite) pruneRecords(ctx context.Context, tx *sql.Tx, now time.Time) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM records WHERE expires_at <> 0 AND expires_at <= ?`, now.UnixNano())
	if err != nil {
		return fmt.Errorf("store: prune records: %w", err)
	}
	return nil
}
