package store

import (
	"context"
	"time"
)

// Records keeps small values by kind and id, each with a time to live,
// where every node sees them. It is the pattern for shared state beyond
// rooms: a piece of state picks a kind ("node", "placement", and later
// "registration", "call", "dialout") and stores its own encoding (JSON)
// under ids of its choosing. SQLite keeps them for a single node; Redis
// shares them between nodes. Expired records are never returned.
type Records interface {
	// PutRecord stores value under kind and id, replacing what was there;
	// ttl 0 keeps it until deleted.
	PutRecord(ctx context.Context, kind, id string, value []byte, ttl time.Duration) error
	// ClaimRecord stores value only if no live record has that kind and
	// id, or the live one holds the same value (a claim renewed by its
	// owner, whose ttl is then extended). It returns whether the claim is
	// value's, and the value that holds it.
	ClaimRecord(ctx context.Context, kind, id string, value []byte, ttl time.Duration) (ok bool, holder []byte, err error)
	// GetRecord returns the live value of kind and id, or ErrNotFound.
	GetRecord(ctx context.Context, kind, id string) ([]byte, error)
	// ListRecords returns every live record of kind by id.
	ListRecords(ctx context.Context, kind string) (map[string][]byte, error)
	// DeleteRecord removes the record; with value set, only while the
	// record still holds that value (releasing one's own claim). It
	// reports whether a record was removed.
	DeleteRecord(ctx context.Context, kind, id string, value []byte) (bool, error)
}
