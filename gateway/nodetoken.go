package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NodeBridgeHeader carries a node bridge's token in the INVITE one node
// sends another for a PIN caller whose room lives there (nodeleg.go).
const NodeBridgeHeader = "X-Roombridge-Node-Bridge"

// nodeTokenTTL is how long a bridge token is good for: an INVITE goes
// from one node to the next in well under a second.
const nodeTokenTTL = 30 * time.Second

// maxSeenTokens bounds the tokens a node remembers against replay.
const maxSeenTokens = 10000

// Errors of node bridge tokens.
var (
	ErrNodeToken        = errors.New("gateway: node bridge token refused")
	errNodeTokenExpired = fmt.Errorf("%w: expired", ErrNodeToken)
	errNodeTokenReplay  = fmt.Errorf("%w: already used", ErrNodeToken)
)

// nodeClaim is what a bridge token says of the caller: the room its PIN
// opened, with the host PIN or not, its name, and the node it dialled.
type nodeClaim struct {
	room string
	host bool
	name string
	node string
}

// nodeTokens mints and checks bridge tokens:
// "v1.EXP.NONCE.HOST.NODE.NAME.MAC", NONCE 12 random bytes and NODE and
// NAME in unpadded base64url, MAC the HMAC-SHA256 of every field and the
// room under a key derived from the cluster's shared secret (the join
// tokens' secret, kept in Redis). A token so opens one room for 30 s,
// and only once: the node that checks it remembers it until it expires.
// Nobody without the secret can make one, and one seen on the wire is
// spent by the INVITE that carried it.
type nodeTokens struct {
	key []byte

	mu   sync.Mutex
	seen map[string]time.Time
}

func newNodeTokens(secret []byte) *nodeTokens {
	if len(secret) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("roombridge node bridge v1"))
	return &nodeTokens{key: m.Sum(nil), seen: map[string]time.Time{}}
}

var b64 = base64.RawURLEncoding

// mint makes a token of c.
func (t *nodeTokens) mint(c nodeClaim, now time.Time) string {
	exp := strconv.FormatInt(now.Add(nodeTokenTTL).Unix(), 10)
	host := "0"
	if c.host {
		host = "1"
	}
	fields := "v1." + exp + "." + b64.EncodeToString(randomBytes(12)) + "." + host + "." +
		b64.EncodeToString([]byte(c.node)) + "." + b64.EncodeToString([]byte(c.name))
	return fields + "." + b64.EncodeToString(t.mac(fields, c.room))
}

func (t *nodeTokens) mac(fields, room string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(fields))
	m.Write([]byte{0})
	m.Write([]byte(room))
	return m.Sum(nil)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}

// check verifies tok for room and spends it.
func (t *nodeTokens) check(tok, room string, now time.Time) (nodeClaim, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 7 || parts[0] != "v1" {
		return nodeClaim{}, fmt.Errorf("%w: malformed", ErrNodeToken)
	}
	sum, err := b64.DecodeString(parts[6])
	if err != nil || !hmac.Equal(sum, t.mac(strings.Join(parts[:6], "."), room)) {
		return nodeClaim{}, fmt.Errorf("%w: bad signature", ErrNodeToken)
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nodeClaim{}, fmt.Errorf("%w: malformed", ErrNodeToken)
	}
	expires := time.Unix(exp, 0)
	if now.After(expires) || expires.Sub(now) > 2*nodeTokenTTL {
		return nodeClaim{}, errNodeTokenExpired
	}
	node, err1 := b64.DecodeString(parts[4])
	name, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return nodeClaim{}, fmt.Errorf("%w: malformed", ErrNodeToken)
	}
	if err := t.spend(parts[6], expires, now); err != nil {
		return nodeClaim{}, err
	}
	return nodeClaim{room: room, host: parts[3] == "1", name: string(name), node: string(node)}, nil
}

// spend remembers a token until it expires; a second use is refused.
func (t *nodeTokens) spend(mac string, expires, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, used := t.seen[mac]; used {
		return errNodeTokenReplay
	}
	if len(t.seen) >= maxSeenTokens {
		for k, exp := range t.seen {
			if now.After(exp) {
				delete(t.seen, k)
			}
		}
		if len(t.seen) >= maxSeenTokens {
			return fmt.Errorf("%w: too many bridges at once", ErrNodeToken)
		}
	}
	t.seen[mac] = expires
	return nil
}
