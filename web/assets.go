package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// versionLen is the length of the content version in asset URLs.
const versionLen = 12

// contentTypes is explicit because mime.TypeByExtension reads the host's
// mime.types, and some hosts map .js to a type that browsers refuse for
// ES modules.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
	".png":  "image/png",
	".json": "application/json",
}

type asset struct {
	body  []byte
	etag  string
	ctype string
}

// assets serves the embedded static files. Pages link to
// /static/{version}/file, where version hashes all files together: ES
// modules import each other by relative URL, so one version for the whole
// tree keeps every import under the same immutable prefix. /static/file
// without a version also works, revalidated by ETag.
type assets struct {
	files   map[string]asset
	version string
}

func newAssets() *assets {
	a := &assets{files: map[string]asset{}}
	var names []string
	// The embedded tree is fixed at build time; a walk error here is a
	// programming error that the handler tests catch.
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "static/")
		ctype := contentTypes[path.Ext(name)]
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		a.files[name] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
		names = append(names, name)
		return nil
	})
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write([]byte(a.files[n].etag))
	}
	a.version = hex.EncodeToString(h.Sum(nil))[:versionLen]
	return a
}

// prefix is the URL prefix pages use for assets.
func (a *assets) prefix() string { return "/static/" + a.version }

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	immutable := false
	if v, rest, ok := strings.Cut(name, "/"); ok && isVersion(v) {
		name = rest
		// Only the current version is immutable: a page from an older
		// build gets today's file, which must not be cached under its URL.
		immutable = v == a.version
	}
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

func isVersion(s string) bool {
	if len(s) != versionLen {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
