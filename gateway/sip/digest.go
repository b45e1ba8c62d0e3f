package sip

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // RFC 3261 §22.4 digest; SHA-256 is offered first (RFC 8760)
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"time"
)

// Digest algorithms (RFC 8760 §2.2).
const (
	algMD5    = "MD5"
	algSHA256 = "SHA-256"
)

// maxAuthHeader bounds the Authorization header we are willing to parse.
const maxAuthHeader = 4096

var errDigestSyntax = errors.New("sip: malformed digest credentials")

// digestCredentials are the parameters of an Authorization or
// Proxy-Authorization header with the Digest scheme (RFC 3261 §25.1,
// "credentials"; RFC 2617 §3.2.2).
type digestCredentials struct {
	Username, Realm, Nonce, URI, Response string
	Algorithm, CNonce, QOP, NC, Opaque    string
}

// parseDigestCredentials parses `Digest k=v, k="v", ...`. Unknown parameters
// are ignored; quoted strings may contain escaped characters (RFC 3261 §25.1
// quoted-pair).
func parseDigestCredentials(h string) (digestCredentials, error) {
	var c digestCredentials
	if len(h) > maxAuthHeader {
		return c, errDigestSyntax
	}
	h = strings.TrimSpace(h)
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return c, errDigestSyntax
	}
	params, err := parseAuthParams(rest)
	if err != nil {
		return c, err
	}
	for k, v := range params {
		switch k {
		case "username":
			c.Username = v
		case "realm":
			c.Realm = v
		case "nonce":
			c.Nonce = v
		case "uri":
			c.URI = v
		case "response":
			c.Response = v
		case "algorithm":
			c.Algorithm = strings.ToUpper(v)
		case "cnonce":
			c.CNonce = v
		case "qop":
			c.QOP = strings.ToLower(v)
		case "nc":
			c.NC = v
		case "opaque":
			c.Opaque = v
		}
	}
	if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
		return c, errDigestSyntax
	}
	return c, nil
}

// parseAuthParams parses a comma-separated list of auth-param
// (token "=" ( token / quoted-string )), lower-casing the names.
func parseAuthParams(s string) (map[string]string, error) {
	out := make(map[string]string)
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		name := strings.ToLower(s[start:i])
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if name == "" || i >= len(s) || s[i] != '=' {
			return nil, errDigestSyntax
		}
		i++ // '='
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val string
		if i < len(s) && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				ch := s[i]
				if ch == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if ch == '"' {
					i++
					closed = true
					break
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, errDigestSyntax
			}
			val = b.String()
		} else {
			start := i
			for i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			val = s[start:i]
		}
		if _, dup := out[name]; dup {
			return nil, errDigestSyntax
		}
		out[name] = val
	}
}

// nonceSource makes and checks stateless nonces: the issue time and an HMAC
// over it and the realm, so a challenge allocates nothing on the server
// (RFC 3261 §22.4 leaves the nonce format to the server).
type nonceSource struct {
	key [32]byte
	ttl time.Duration
}

func newNonceSource(ttl time.Duration) (*nonceSource, error) {
	n := &nonceSource{ttl: ttl}
	if _, err := rand.Read(n.key[:]); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *nonceSource) mac(ts uint64, realm string) []byte {
	m := hmac.New(sha256.New, n.key[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ts)
	m.Write(b[:])
	m.Write([]byte(realm))
	return m.Sum(nil)[:16]
}

// make returns a fresh nonce for realm.
func (n *nonceSource) make(realm string, now time.Time) string {
	ts := uint64(now.Unix())
	buf := make([]byte, 8, 24)
	binary.BigEndian.PutUint64(buf, ts)
	buf = append(buf, n.mac(ts, realm)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// check reports whether nonce is one of ours for realm, and whether it has
// expired (stale, RFC 2617 §3.2.1).
func (n *nonceSource) check(nonce, realm string, now time.Time) (valid, stale bool) {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return false, false
	}
	ts := binary.BigEndian.Uint64(raw[:8])
	if !hmac.Equal(raw[8:], n.mac(ts, realm)) {
		return false, false
	}
	issued := time.Unix(int64(ts), 0) //nolint:gosec // our own timestamp, HMAC-checked
	if now.Sub(issued) > n.ttl || issued.After(now.Add(time.Minute)) {
		return true, true
	}
	return true, false
}

// challenge returns one WWW-Authenticate / Proxy-Authenticate value per
// algorithm, in preference order (RFC 8760 §2.4), with qop=auth.
func (n *nonceSource) challenge(realm string, algs []string, stale bool, now time.Time) []string {
	out := make([]string, 0, len(algs))
	for _, alg := range algs {
		var b strings.Builder
		b.WriteString(`Digest realm="`)
		b.WriteString(quoteEscape(realm))
		b.WriteString(`", nonce="`)
		b.WriteString(n.make(realm, now))
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

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// digestHash returns the hash for a digest algorithm, nil if unsupported
// (including the -sess variants, which SIP UAs hardly use).
func digestHash(alg string) func() hash.Hash {
	switch alg {
	case "", algMD5:
		return md5.New
	case algSHA256:
		return sha256.New
	}
	return nil
}

func hexHash(h func() hash.Hash, parts ...string) string {
	m := h()
	m.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(m.Sum(nil))
}

// digestResponse computes the request-digest (RFC 2617 §3.2.2.1, RFC 8760 §3).
func digestResponse(c digestCredentials, method, password string) (string, bool) {
	h := digestHash(c.Algorithm)
	if h == nil {
		return "", false
	}
	ha1 := hexHash(h, c.Username, c.Realm, password)
	ha2 := hexHash(h, method, c.URI)
	switch c.QOP {
	case "":
		return hexHash(h, ha1, c.Nonce, ha2), true
	case "auth":
		if c.CNonce == "" || c.NC == "" {
			return "", false
		}
		return hexHash(h, ha1, c.Nonce, c.NC, c.CNonce, c.QOP, ha2), true
	}
	return "", false
}

// authResult is the outcome of checking a request's credentials.
type authResult int

const (
	authUnknown   authResult = iota
	authOK                   // credentials verified
	authChallenge            // no usable credentials: challenge
	authStale                // right credentials, expired nonce: challenge with stale=true
	authFailed               // wrong credentials: 403
)

// verifyDigest checks credentials c against trunk t for method.
func (n *nonceSource) verifyDigest(c digestCredentials, t *Trunk, method string, allowed []string, now time.Time) authResult {
	if c.Username != t.Username || c.Realm != t.Realm {
		return authFailed
	}
	alg := c.Algorithm
	if alg == "" {
		alg = algMD5
	}
	offered := false
	for _, a := range allowed {
		if a == alg {
			offered = true
		}
	}
	if !offered {
		return authChallenge
	}
	valid, stale := n.check(c.Nonce, t.Realm, now)
	if !valid {
		return authChallenge
	}
	want, ok := digestResponse(c, method, t.Password)
	if !ok {
		return authFailed
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.Response))) != 1 {
		return authFailed
	}
	if stale {
		return authStale
	}
	return authOK
}
