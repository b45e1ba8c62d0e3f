package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// hashKeys keeps the API keys as SHA-256 digests so that every comparison
// is between 32-byte values: subtle.ConstantTimeCompare returns early on a
// length mismatch, which would leak a key's length.
func hashKeys(keys []string) ([][32]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("api: Config.Keys needs at least one API key")
	}
	out := make([][32]byte, 0, len(keys))
	for _, k := range keys {
		if strings.TrimSpace(k) == "" {
			return nil, errors.New("api: Config.Keys holds an empty API key")
		}
		out = append(out, sha256.Sum256([]byte(k)))
	}
	return out, nil
}

// authorize checks "Authorization: Bearer KEY" against every configured key
// without stopping at a match.
func (s *Server) authorize(r *http.Request) error {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return errUnauthorizedf("missing Authorization: Bearer header")
	}
	got := sha256.Sum256([]byte(key))
	match := 0
	for i := range s.keys {
		match |= subtle.ConstantTimeCompare(got[:], s.keys[i][:])
	}
	if match != 1 {
		return errUnauthorizedf("invalid API key")
	}
	return nil
}

func errUnauthorizedf(msg string) error {
	return &requestError{class: errUnauthorized, msg: msg}
}
