package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/gateway/store/storetest"
)

// openSQLite opens an empty SQLite store for t.
func openSQLite(t *testing.T) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), t.TempDir()+"/rooms.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// redisOpener opens Redis stores on rs, each under a key prefix of its own
// (so that subtests sharing one server start empty), unless one is given.
func redisOpener(rs *storetest.RedisServer) func(t *testing.T, prefix string) *store.Redis {
	var n atomic.Int64
	return func(t *testing.T, prefix string) *store.Redis {
		t.Helper()
		if prefix == "" {
			prefix = fmt.Sprintf("test%d:", n.Add(1))
		}
		s, err := store.OpenRedis(context.Background(), store.RedisConfig{Addr: rs.Addr, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

// TestConformanceSQLite runs the store contract against SQLite files.
func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openSQLite(t) })
}

// TestConformanceRedis runs the same contract against a real redis-server.
func TestConformanceRedis(t *testing.T) {
	open := redisOpener(storetest.StartRedis(t))
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, "") })
}

// TestLockoutsRedis runs the lockout contract against Redis (the gateway's
// package runs it against its in-memory table), then spreads one brute
// force over two nodes' connections: it is locked out after the same count
// as on one node.
func TestLockoutsRedis(t *testing.T) {
	openRedis := redisOpener(storetest.StartRedis(t))
	open := func(t *testing.T, prefix string, p store.LockoutPolicy) store.Lockouts {
		l, err := store.NewRedisLockouts(openRedis(t, prefix), p)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	storetest.RunLockouts(t, func(t *testing.T, p store.LockoutPolicy) store.Lockouts { return open(t, "", p) })

	t.Run("TwoNodes", func(t *testing.T) {
		ctx := context.Background()
		p := store.LockoutPolicy{MaxFailures: 10, Window: time.Minute, Lockout: time.Minute}
		nodes := []store.Lockouts{open(t, "shared:", p), open(t, "shared:", p)}
		key := []string{"ip:203.0.113.5"}
		for i := range 9 {
			if now, err := nodes[i%2].Fail(ctx, key); err != nil || now {
				t.Fatalf("failure %d locked=%v err=%v", i+1, now, err)
			}
		}
		if now, err := nodes[1].Fail(ctx, key); err != nil || !now {
			t.Fatalf("10th failure (on node 2) locked=%v err=%v, want locked", now, err)
		}
		if _, locked, err := nodes[0].Locked(ctx, key); err != nil || !locked {
			t.Fatalf("node 1 does not see the lock: %v %v", locked, err)
		}
	})
	if _, err := store.NewRedisLockouts(nil, store.LockoutPolicy{}); err == nil {
		t.Error("a zero policy was accepted")
	}
}

// TestSharedSecretRedis: two nodes asking for the same secret get the same
// bytes, generated once.
func TestSharedSecretRedis(t *testing.T) {
	open := redisOpener(storetest.StartRedis(t))
	ctx := context.Background()
	var secrets [][]byte
	for range 2 {
		s, err := open(t, store.DefaultRedisPrefix).SharedSecret(ctx, "token", 32)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s)
	}
	if len(secrets[0]) != 32 || !bytes.Equal(secrets[0], secrets[1]) {
		t.Fatalf("secrets differ or have the wrong size: %x / %x", secrets[0], secrets[1])
	}
}

// TestRedisUnreachable: a Redis that is not there fails the open, naming
// its address.
func TestRedisUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := store.OpenRedis(ctx, store.RedisConfig{Addr: "127.0.0.1:1", DialTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("OpenRedis to a closed port = %v", err)
	}
}

// TestRecords runs the records contract against SQLite and Redis.
func TestRecords(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		storetest.RunRecords(t, func(t *testing.T) store.Records { return openSQLite(t) })
	})
	t.Run("Redis", func(t *testing.T) {
		open := redisOpener(storetest.StartRedis(t))
		storetest.RunRecords(t, func(t *testing.T) store.Records { return open(t, "") })
	})
}
