package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// Numeric ids start at 6 digits and grow when a length gets crowded, so they
// stay short enough to key in on a room system's remote.
const (
	numericIDDigits   = 6
	numericIDAttempts = 32
)

// newNumericID picks a random unused numeric id, never starting with 0
// (some trunks and dial plans strip leading zeros).
func newNumericID(ctx context.Context, tx *sql.Tx, ownAliases []string) (string, error) {
	for digits := numericIDDigits; digits <= maxNumericIDLen; digits++ {
		for range numericIDAttempts {
			id, err := randomDigits(digits)
			if err != nil {
				return "", err
			}
			if id[0] == '0' || slices.Contains(ownAliases, id) {
				continue
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sip_users WHERE user = ?`, id).Scan(&n); err != nil {
				return "", fmt.Errorf("store: numeric id: %w", err)
			}
			if n == 0 {
				return id, nil
			}
		}
	}
	return "", errors.New("store: no free numeric id")
}

// generatePINAttempts bounds GeneratePIN; with 6 digits and thousands of
// rooms almost every first draw is free.
const generatePINAttempts = 64

// GeneratePIN returns a random PIN of the given number of digits (4 to 12)
// that no room uses and that is not trivially guessable (all one digit, or a
// run like 123456). A concurrent create may still take it first; callers
// that create with it retry on a *ConflictError for "pin".
func GeneratePIN(ctx context.Context, s Store, digits int) (string, error) {
	if digits < minPINLen || digits > maxPINLen {
		return "", invalid("pin", "generated PINs have %d to %d digits, not %d", minPINLen, maxPINLen, digits)
	}
	for range generatePINAttempts {
		pin, err := randomDigits(digits)
		if err != nil {
			return "", err
		}
		if weakPIN(pin) {
			continue
		}
		used, err := s.PINInUse(ctx, pin, "")
		if err != nil {
			return "", err
		}
		if !used {
			return pin, nil
		}
	}
	return "", &ConflictError{Field: "pin"}
}

// randomDigits draws n uniformly random decimal digits from crypto/rand.
func randomDigits(n int) (string, error) {
	b := make([]byte, n)
	ten := big.NewInt(10)
	for i := range b {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			return "", fmt.Errorf("store: random: %w", err)
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b), nil
}

// weakPIN is true for PINs a caller would try first: one repeated digit or
// a run up or down by one (1234, 9876).
func weakPIN(pin string) bool {
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		same = same && d == 0
		up = up && d == 1
		down = down && d == -1
	}
	return same || up || down
}
