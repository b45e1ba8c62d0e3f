package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/roombridge/roombridge/gateway/config"
	"github.com/roombridge/roombridge/gateway/store"
)

// tokenSecretName is the shared secret join tokens are signed with when
// http.token_secret is empty and the store is shared.
const tokenSecretName = "join_token"

// openStore opens the store the config names: Redis when store.redis.addr
// is set (several nodes sharing rooms, PINs, lockouts and the token
// secret), else the SQLite file. Lockouts is nil with SQLite: the gateway
// then counts wrong PINs in its own memory.
func openStore(ctx context.Context, cfg config.Config) (store.Store, store.Lockouts, error) {
	rc := cfg.Store.Redis
	if rc.Addr == "" {
		s, err := store.OpenSQLite(ctx, cfg.Store.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("store.path: %w", err)
		}
		return s, nil, nil
	}
	var tlsCfg *tls.Config
	if rc.TLS {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		if rc.CA != "" {
			pem, err := os.ReadFile(rc.CA)
			if err != nil {
				return nil, nil, fmt.Errorf("store.redis.ca: %w", err)
			}
			tlsCfg.RootCAs = x509.NewCertPool()
			if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("store.redis.ca: no certificate in %s", rc.CA)
			}
		}
	}
	dial, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := store.OpenRedis(dial, store.RedisConfig{
		Addr: rc.Addr, Password: rc.Password, DB: rc.DB, TLS: tlsCfg, Prefix: rc.Prefix,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store.redis.addr: %w", err)
	}
	locks, err := store.NewRedisLockouts(r, store.LockoutPolicy{
		MaxFailures: cfg.IVR.MaxFailures, Window: cfg.IVR.FailureWindow, Lockout: cfg.IVR.Lockout,
	})
	if err != nil {
		_ = r.Close()
		return nil, nil, fmt.Errorf("ivr.max_failures: %w", err)
	}
	return r, locks, nil
}

// sharedSecrets is a store that keeps secrets for every node (Redis).
type sharedSecrets interface {
	SharedSecret(ctx context.Context, name string, size int) ([]byte, error)
}
