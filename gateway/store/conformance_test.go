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

// TestConformanceSQLite runs the store contract against SQLite files.
func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenSQLite(context.Background(), t.TempDir()+"/rooms.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestConformanceRedis runs the same contract against a real redis-server;
// each subtest gets a key prefix of its own, so they share one server.
func TestConformanceRedis(t *testing.T) {
	rs := storetest.StartRedis(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenRedis(context.Background(), store.RedisConfig{
			Addr: rs.Addr, Prefix: fmt.Sprintf("test%d:", n.Add(1)),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestLockoutsRedis runs the lockout contract against Redis (the gateway's
// package runs it against its in-memory table), then spreads one brute
// force over two nodes' connections: it is locked out after the same count
// as on one node.
func TestLockoutsRedis(t *testing.T) {
	rs := storetest.StartRedis(t)
	var n atomic.Int64
	open := func(t *testing.T, prefix string, p store.LockoutPolicy) store.Lockouts {
		r, err := store.OpenRedis(context.Background(), store.RedisConfig{Addr: rs.Addr, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		l, err := store.NewRedisLockouts(r, p)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	storetest.RunLockouts(t, func(t *testing.T, p store.LockoutPolicy) store.Lockouts {
		return open(t, fmt.Sprintf("lock%d:", n.Add(1)), p)
	})

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
	rs := storetest.StartRedis(t)
	ctx := context.Background()
	var secrets [][]byte
	for range 2 {
		r, err := store.OpenRedis(ctx, store.RedisConfig{Addr: rs.Addr})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		s, err := r.SharedSecret(ctx, "token", 32)
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
