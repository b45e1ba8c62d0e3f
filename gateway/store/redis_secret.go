package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// SharedSecret returns the secret called name that every node using this
// Redis shares, generating size random bytes and storing them the first
// time any node asks (SET NX: when two nodes start at once, one value
// wins and both read it). It is how join tokens minted by one node verify
// on another when http.token_secret is left empty.
func (s *Redis) SharedSecret(ctx context.Context, name string, size int) ([]byte, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	key := s.key("secret", name)
	if err := s.c.SetNX(ctx, key, hex.EncodeToString(fresh), 0).Err(); err != nil {
		return nil, s.redisErr("secret "+name, err)
	}
	v, err := s.c.Get(ctx, key).Result()
	if err != nil {
		return nil, s.redisErr("secret "+name, err)
	}
	secret, err := hex.DecodeString(v)
	if err != nil || len(secret) == 0 {
		return nil, fmt.Errorf("store: secret %s in Redis is not hex", name)
	}
	return secret, nil
}
