package sip

import (
	"crypto/md5" //nolint:gosec // RFC 3261 §22.4 digest; SHA-256 is offered first (RFC 8760)
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
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
