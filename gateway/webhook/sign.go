package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header names of every webhook request.
const (
	HeaderSignature = "X-Roombridge-Signature"
	HeaderTimestamp = "X-Roombridge-Timestamp"
	HeaderEvent     = "X-Roombridge-Event"
	HeaderDelivery  = "X-Roombridge-Delivery" // the event's id
	HeaderAttempt   = "X-Roombridge-Attempt"  // 1 for the first try
)

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance")
)

// Sign returns the X-Roombridge-Signature value for body sent at ts:
// "sha256=" and the hex HMAC-SHA256, keyed with secret, of the decimal
// Unix timestamp, a ".", and the body.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a request's signature and timestamp headers against its
// body, as a receiver should: the signature in constant time, and the
// timestamp within tolerance of now (replays of older requests fail).
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(strings.TrimSpace(signature))) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
