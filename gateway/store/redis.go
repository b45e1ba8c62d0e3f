package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key the Redis store writes, so that the
// gateway can share a Redis with LiveKit (which uses its own keys).
const DefaultRedisPrefix = "roombridge:"

// RedisConfig says how to reach the Redis that several gateway nodes share.
type RedisConfig struct {
	// Addr is host:port of a standalone Redis (or the primary of a
	// replicated one). Redis Cluster is not supported: the scripts that
	// keep rooms consistent touch keys of several slots.
	Addr     string
	Password string
	DB       int
	// TLS, when not nil, connects with TLS (Redis 6+ with tls-port).
	TLS *tls.Config
	// Prefix starts every key; empty means DefaultRedisPrefix.
	Prefix string
	// DialTimeout bounds connecting and each command's read and write;
	// zero means 3 s.
	DialTimeout time.Duration
}

// Redis is the Store that several gateway nodes share: every write is one
// Lua script, so the uniqueness rules hold across nodes exactly as they do
// inside one SQLite transaction.
//
// Keys (after the prefix):
//
//	room:NAME   hash: the room's fields, aliases as a JSON list
//	rooms       set of every room name
//	user:USER   string: the room that a dialable user part (name,
//	            numeric id, alias) belongs to
//	pins        hash: SHA-256(PIN) in hex → "ROOM:0" or "ROOM:1" (host)
//
// PINs are looked up by their digest, so neither the lookup's time nor
// the key layout depends on how much of a guessed PIN is right, and no
// key or field names a PIN; the room hash keeps the PIN itself for the API,
// as the SQLite table does.
type Redis struct {
	c      *redis.Client
	prefix string
	closed atomic.Bool
}

var _ Store = (*Redis)(nil)

// OpenRedis connects to Redis and checks it answers.
func OpenRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.Addr == "" {
		return nil, errors.New("store: empty Redis address")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 3 * time.Second
	}
	c := redis.NewClient(&redis.Options{
		Addr:         cfg.Addr,
		Password:     cfg.Password,
		DB:           cfg.DB,
		TLSConfig:    cfg.TLS,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.DialTimeout,
		WriteTimeout: cfg.DialTimeout,
		// No CLIENT SETINFO: older Redis and proxies answer it with an
		// error that go-redis would log on every connection.
		DisableIdentity: true,
	})
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("store: redis %s: %w", cfg.Addr, err)
	}
	return &Redis{c: c, prefix: cfg.Prefix}, nil
}

// Client is the connection, for the other shared state kept in the same
// Redis (lockouts, secrets).
func (s *Redis) Client() *redis.Client { return s.c }

// Prefix is the key prefix every key of this store starts with.
func (s *Redis) Prefix() string { return s.prefix }

// Close closes the connection pool; later calls return ErrClosed and Close
// itself is idempotent.
func (s *Redis) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.c.Close()
}

func (s *Redis) checkOpen() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (s *Redis) key(parts ...string) string { return s.prefix + strings.Join(parts, ":") }

// redisErr wraps a Redis failure, reporting use after Close as ErrClosed.
func (s *Redis) redisErr(op string, err error) error {
	if errors.Is(err, redis.ErrClosed) || s.closed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
