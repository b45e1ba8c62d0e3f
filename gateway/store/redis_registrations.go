package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Registrations in Redis: a hash reg:AOR of contact → binding (JSON), and
// a set regs of the AORs, so that every node finds where a registered
// browser is. Expired bindings are never returned and are removed when
// their AOR is written or listed.

// redisBinding is a Registration as stored; times in unix milliseconds
// like the SQLite table.
type redisBinding struct {
	Username   string `json:"u,omitempty"`
	Transport  string `json:"t,omitempty"`
	Source     string `json:"s,omitempty"`
	UserAgent  string `json:"ua,omitempty"`
	CallID     string `json:"c,omitempty"`
	CSeq       uint32 `json:"q,omitempty"`
	InstanceID string `json:"i,omitempty"`
	ExpiresMS  int64  `json:"e"`
	UpdatedMS  int64  `json:"up"`
}

func (s *Redis) regKey(aor string) string { return s.key("reg", aor) }

// PutRegistration implements Store.
func (s *Redis) PutRegistration(ctx context.Context, r Registration) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := r.validate(); err != nil {
		return err
	}
	now := time.Now()
	b, err := json.Marshal(redisBinding{
		Username: r.Username, Transport: r.Transport, Source: r.Source, UserAgent: r.UserAgent,
		CallID: r.CallID, CSeq: r.CSeq, InstanceID: r.InstanceID,
		ExpiresMS: r.ExpiresAt.UnixMilli(), UpdatedMS: now.UnixMilli(),
	})
	if err != nil {
		return fmt.Errorf("store: put registration: %w", err)
	}
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.regKey(r.AOR), r.Contact, b)
		p.SAdd(ctx, s.key("regs"), r.AOR)
		return nil
	})
	if err != nil {
		return s.redisErr("put registration", err)
	}
	_, err = s.bindings(ctx, r.AOR, now) // drops the AOR's expired bindings
	return err
}

// DeleteRegistrations implements Store.
func (s *Redis) DeleteRegistrations(ctx context.Context, aor, contact string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	var err error
	if contact == "" {
		_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, s.regKey(aor))
			p.SRem(ctx, s.key("regs"), aor)
			return nil
		})
	} else {
		err = s.c.HDel(ctx, s.regKey(aor), contact).Err()
	}
	if err != nil {
		return s.redisErr("delete registrations", err)
	}
	return nil
}

// ListRegistrations implements Store.
func (s *Redis) ListRegistrations(ctx context.Context, aor string, now time.Time) ([]Registration, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	aors := []string{aor}
	if aor == "" {
		var err error
		if aors, err = s.c.SMembers(ctx, s.key("regs")).Result(); err != nil {
			return nil, s.redisErr("list registrations", err)
		}
		slices.Sort(aors)
	}
	out := []Registration{}
	for _, a := range aors {
		rs, err := s.bindings(ctx, a, now)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// bindings returns aor's bindings live at now, ordered by contact, and
// removes those that expired.
func (s *Redis) bindings(ctx context.Context, aor string, now time.Time) ([]Registration, error) {
	h, err := s.c.HGetAll(ctx, s.regKey(aor)).Result()
	if err != nil {
		return nil, s.redisErr("list registrations", err)
	}
	var out []Registration
	var expired []string
	for contact, v := range h {
		var b redisBinding
		if json.Unmarshal([]byte(v), &b) != nil || b.ExpiresMS <= time.Now().UnixMilli() {
			expired = append(expired, contact)
			continue
		}
		if b.ExpiresMS <= now.UnixMilli() {
			continue // expired at the time asked about, not yet in fact
		}
		out = append(out, Registration{
			AOR: aor, Contact: contact, Username: b.Username, Transport: b.Transport, Source: b.Source,
			UserAgent: b.UserAgent, CallID: b.CallID, CSeq: b.CSeq, InstanceID: b.InstanceID,
			ExpiresAt: time.UnixMilli(b.ExpiresMS), UpdatedAt: time.UnixMilli(b.UpdatedMS),
		})
	}
	if len(expired) > 0 {
		_ = s.c.HDel(ctx, s.regKey(aor), expired...).Err()
		if len(expired) == len(h) {
			_ = s.c.SRem(ctx, s.key("regs"), aor).Err()
		}
	}
	slices.SortFunc(out, func(a, b Registration) int { return cmp.Compare(a.Contact, b.Contact) })
	return out, nil
}
