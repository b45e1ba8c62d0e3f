package store

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Records = (*Redis)(nil)

// Records of a kind are keys rec:KIND:ID with their own expiry, plus a set
// recs:KIND of the ids, so that a kind can be listed without SCAN; ids
// whose key expired are dropped from the set as they are met.

// claimScript: ARGV 1 key, 2 value, 3 ttl (ms, 0 = none), 4 index set,
// 5 id. Returns {1, value} when the claim is ours, {0, holder} otherwise.
var claimScript = redis.NewScript(`
local cur = redis.call('GET', ARGV[1])
if cur and cur ~= ARGV[2] then return {0, cur} end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', ARGV[1], ARGV[2])
end
redis.call('SADD', ARGV[4], ARGV[5])
return {1, ARGV[2]}
`)

// deleteIfScript: ARGV 1 key, 2 value, 3 index set, 4 id.
var deleteIfScript = redis.NewScript(`
if redis.call('GET', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('DEL', ARGV[1])
redis.call('SREM', ARGV[3], ARGV[4])
return 1
`)

func (s *Redis) recordKey(kind, id string) string { return s.key("rec", kind, id) }
func (s *Redis) recordIndex(kind string) string   { return s.key("recs", kind) }

// PutRecord implements Records.
func (s *Redis) PutRecord(ctx context.Context, kind, id string, value []byte, ttl time.Duration) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.recordKey(kind, id), value, ttl)
		p.SAdd(ctx, s.recordIndex(kind), id)
		return nil
	})
	if err != nil {
		return s.redisErr("put "+kind, err)
	}
	return nil
}

// ClaimRecord implements Records.
func (s *Redis) ClaimRecord(ctx context.Context, kind, id string, value []byte, ttl time.Duration) (bool, []byte, error) {
	if err := s.checkOpen(); err != nil {
		return false, nil, err
	}
	res, err := claimScript.Run(ctx, s.c, nil, s.recordKey(kind, id), value, ttl.Milliseconds(), s.recordIndex(kind), id).Slice()
	if err != nil {
		return false, nil, s.redisErr("claim "+kind, err)
	}
	ok, _ := res[0].(int64)
	holder, _ := res[1].(string)
	return ok == 1, []byte(holder), nil
}

// GetRecord implements Records.
func (s *Redis) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	v, err := s.c.Get(ctx, s.recordKey(kind, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, s.redisErr("get "+kind, err)
	}
	return v, nil
}

// ListRecords implements Records.
func (s *Redis) ListRecords(ctx context.Context, kind string) (map[string][]byte, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	ids, err := s.c.SMembers(ctx, s.recordIndex(kind)).Result()
	if err != nil {
		return nil, s.redisErr("list "+kind, err)
	}
	out := make(map[string][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.recordKey(kind, id)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.redisErr("list "+kind, err)
	}
	var gone []any
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[ids[i]] = []byte(str)
		} else {
			gone = append(gone, ids[i])
		}
	}
	if len(gone) > 0 {
		// Expired since they were indexed; a record put again meanwhile
		// is re-added by its next put.
		_ = s.c.SRem(ctx, s.recordIndex(kind), gone...).Err()
	}
	return out, nil
}

// DeleteRecord implements Records.
func (s *Redis) DeleteRecord(ctx context.Context, kind, id string, value []byte) (bool, error) {
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	if value != nil {
		n, err := deleteIfScript.Run(ctx, s.c, nil, s.recordKey(kind, id), value, s.recordIndex(kind), id).Int()
		if err != nil {
			return false, s.redisErr("delete "+kind, err)
		}
		return n == 1, nil
	}
	var n *redis.IntCmd
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Del(ctx, s.recordKey(kind, id))
		p.SRem(ctx, s.recordIndex(kind), id)
		return nil
	})
	if err != nil {
		return false, s.redisErr("delete "+kind, err)
	}
	return n.Val() == 1, nil
}
