package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

//go:embed pages/*.html
var pagesFS embed.FS

var templates = template.Must(template.ParseFS(pagesFS, "pages/*.html"))

type pages struct {
	cfg    Config
	assets *assets
}

// pageData is what every page template sees.
type pageData struct {
	Title  string
	Static string
	Room   string
	// The click-to-call page's SIP domain and WebSocket listeners
	// ("ws:5066 wss:7443").
	SIPDomain string
	SIPWS     string
}

// render executes into a buffer first so that a template error becomes a
// clean 500 instead of half a page.
func (p *pages) render(w http.ResponseWriter, name string, d pageData) {
	d.Title = p.cfg.Title
	d.Static = p.assets.prefix()
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, d); err != nil {
		p.cfg.Logger.Error("web: render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages are small and name the current asset version, so they must
	// always be revalidated.
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(buf.Bytes())
}
