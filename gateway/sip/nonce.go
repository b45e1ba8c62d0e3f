package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxNonces bounds the nonces kept for nonce-count tracking. Beyond it
// the oldest are forgotten; a client still holding one is challenged
// again with stale=true and retries without asking its user.
const maxNonces = 1 << 16

// nonceStore issues digest nonces and remembers each one until it
// expires, so that a request's credentials are accepted once per nonce
// count (RFC 7616 §3.4: nc must grow) or, without qop, once per nonce:
// a captured Authorization header cannot be replayed for a new call.
//
// A nonce is its issue time, a random part and an HMAC over both, the
// realm and the address it was issued to. The HMAC tells our nonces from
// forged ones without a lookup, and binds a nonce to its source: one
// issued to an attacker's address is worthless from another, so failures
// can be counted per source without a spoofed sender locking out someone
// else.
type nonceStore struct {
	key [32]byte
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	live  map[string]*nonceState
	order []string // live nonces in issue (and so expiry) order, from head
	head  int
}

type nonceState struct {
	issued time.Time
	nc     uint32 // highest nonce count accepted; 0: none yet
	used   bool   // accepted without qop (a single-use nonce)
}

const (
	nonceRandLen = 8
	nonceMACLen  = 16
	nonceLen     = 8 + nonceRandLen + nonceMACLen
)

func newNonceStore(ttl time.Duration) (*nonceStore, error) {
	n := &nonceStore{ttl: ttl, now: time.Now, live: make(map[string]*nonceState)}
	if _, err := rand.Read(n.key[:]); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *nonceStore) mac(head []byte, realm string, src netip.Addr) []byte {
	m := hmac.New(sha256.New, n.key[:])
	m.Write(head)
	m.Write([]byte(realm))
	m.Write([]byte{0})
	b, _ := src.Unmap().MarshalBinary()
	m.Write(b)
	return m.Sum(nil)[:nonceMACLen]
}

// issue returns a fresh nonce for realm and src and remembers it.
func (n *nonceStore) issue(realm string, src netip.Addr) string {
	now := n.now()
	buf := make([]byte, 8+nonceRandLen, nonceLen)
	binary.BigEndian.PutUint64(buf, uint64(now.Unix())) //nolint:gosec // a Unix time after 1970
	_, _ = rand.Read(buf[8:])                           // never fails (crypto/rand docs)
	buf = append(buf, n.mac(buf, realm, src)...)
	nonce := base64.RawURLEncoding.EncodeToString(buf)

	n.mu.Lock()
	defer n.mu.Unlock()
	n.expire(now)
	for len(n.live) >= maxNonces {
		n.dropOldest()
	}
	n.live[nonce] = &nonceState{issued: now}
	n.order = append(n.order, nonce)
	return nonce
}

// expire forgets nonces past their lifetime; n.mu held.
func (n *nonceStore) expire(now time.Time) {
	for n.head < len(n.order) {
		st := n.live[n.order[n.head]]
		if st != nil && now.Sub(st.issued) <= n.ttl {
			break
		}
		n.dropOldest()
	}
}

func (n *nonceStore) dropOldest() {
	if n.head >= len(n.order) {
		return
	}
	delete(n.live, n.order[n.head])
	n.order[n.head] = ""
	n.head++
	if n.head > len(n.order)/2 && n.head > 1024 {
		n.order = append(n.order[:0], n.order[n.head:]...)
		n.head = 0
	}
}

// nonceCheck is what a nonce is worth for a request.
type nonceCheck int

const (
	nonceForeign nonceCheck = iota // not ours, or issued to another source or realm
	nonceStale                     // ours but expired or forgotten: challenge with stale=true
	nonceValid                     // ours and live
)

// check says whether nonce is one we issued to src for realm and is still
// live.
func (n *nonceStore) check(nonce, realm string, src netip.Addr) nonceCheck {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceLen {
		return nonceForeign
	}
	head := raw[:8+nonceRandLen]
	if !hmac.Equal(raw[8+nonceRandLen:], n.mac(head, realm, src)) {
		return nonceForeign
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0) //nolint:gosec // our own, HMAC-checked
	now := n.now()
	if now.Sub(issued) > n.ttl || issued.After(now.Add(time.Minute)) {
		return nonceStale
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.live[nonce] == nil {
		return nonceStale
	}
	return nonceValid
}

// use accepts the nonce count of a verified request: nc must be above
// every count accepted before for the nonce, and a nonce without qop (nc
// "") is good once. It reports false for a replay.
func (n *nonceStore) use(nonce, nc string) bool {
	var count uint32
	if nc != "" {
		v, err := strconv.ParseUint(nc, 16, 32)
		if err != nil || v == 0 {
			return false
		}
		count = uint32(v)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.live[nonce]
	switch {
	case st == nil, st.used:
		return false
	case nc == "":
		st.used = true
	case count <= st.nc:
		return false
	default:
		st.nc = count
	}
	return true
}

// challenge returns one WWW-Authenticate / Proxy-Authenticate value per
// algorithm, in preference order (RFC 8760 §2.4: SHA-256 before MD5), all
// with the same fresh nonce and qop="auth" (RFC 7616 §3.3).
func (n *nonceStore) challenge(realm string, src netip.Addr, algs []string, stale bool) []string {
	nonce := n.issue(realm, src)
	out := make([]string, 0, len(algs))
	for _, alg := range algs {
		var b strings.Builder
		b.WriteString(`Digest realm="`)
		b.WriteString(quoteEscape(realm))
		b.WriteString(`", nonce="`)
		b.WriteString(nonce)
		b.WriteString(`", algorithm=`)
		b.WriteString(alg)
		b.WriteString(`, qop="auth"`)
		if stale {
			b.WriteString(`, stale=true`)
		}
		out = append(out, b.String())
	}
	return out
}

// authResult is the outcome of checking a request's credentials.
type authResult int

const (
	authUnknown   authResult = iota
	authOK                   // credentials verified, nonce count fresh
	authChallenge            // no usable credentials: challenge
	authStale                // right credentials, expired or forgotten nonce: challenge with stale=true
	authReplay               // right credentials seen before for this nonce count: challenge with stale=true
	authFailed               // wrong credentials on one of our nonces: 403, counted for the lockout
)

// digestRequest is what a request's credentials are checked against.
type digestRequest struct {
	method string
	uri    sip.Uri // the Request-URI
	src    netip.Addr
	algs   []string // the algorithms we offer
}

// verify checks credentials c against trunk t. The nonce is checked first,
// so that credentials on a forged or foreign nonce are only challenged,
// never counted as a failure; then the user, realm and response; then
// that the digest uri is the Request-URI (RFC 7616 §3.4.6), so that
// credentials for one room cannot open another; and last the nonce count.
func (n *nonceStore) verify(c digestCredentials, t *Trunk, r digestRequest) authResult {
	alg := c.Algorithm
	if alg == "" {
		alg = algMD5
	}
	offered := false
	for _, a := range r.algs {
		offered = offered || a == alg
	}
	if !offered || c.QOP != "" && c.QOP != "auth" {
		return authChallenge
	}
	nc := n.check(c.Nonce, t.Realm, r.src)
	if nc == nonceForeign {
		return authChallenge
	}
	if c.Username != t.Username || c.Realm != t.Realm {
		return authFailed
	}
	want, ok := digestResponse(c, r.method, t.Password)
	if !ok {
		return authChallenge
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.Response))) != 1 {
		return authFailed
	}
	if !sameURI(c.URI, r.uri) {
		return authChallenge
	}
	if nc == nonceStale {
		return authStale
	}
	if !n.use(c.Nonce, c.NC) {
		return authReplay
	}
	return authOK
}

// sameURI reports whether the digest uri s names the same resource as the
// Request-URI r (RFC 3261 §19.1.4, leniently: a missing port equals the
// scheme's default one, and a transport parameter in one URI only is
// ignored, since some phones write the digest uri without it).
func sameURI(s string, r sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return false
	}
	if !strings.EqualFold(u.Scheme, r.Scheme) || u.User != r.User || u.Password != r.Password ||
		!strings.EqualFold(strings.Trim(u.Host, "[]"), strings.Trim(r.Host, "[]")) {
		return false
	}
	def := sip.DefaultPort("udp")
	if strings.EqualFold(r.Scheme, "sips") {
		def = sip.DefaultPort("tls")
	}
	port := func(p int) int {
		if p == 0 {
			return def
		}
		return p
	}
	if port(u.Port) != port(r.Port) {
		return false
	}
	for _, k := range []string{"user", "maddr", "ttl", "method", "transport"} {
		a, inU := uriParam(u, k)
		b, inR := uriParam(r, k)
		if inU && inR && !strings.EqualFold(a, b) || inU != inR && k != "transport" {
			return false
		}
	}
	return true
}

func uriParam(u sip.Uri, k string) (string, bool) {
	if u.UriParams == nil {
		return "", false
	}
	return u.UriParams.Get(k)
}
