package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// Config configures Handler. The zero value is usable.
type Config struct {
	// Logger receives template errors; nil discards them.
	Logger *slog.Logger
	// Title is the product name shown in page titles and headers;
	// empty means "Roombridge".
	Title string
	// SIPDomain and SIPWebSockets configure the click-to-call page: the
	// SIP domain of rooms and accounts, and the SIP WebSocket listeners as
	// "ws:PORT" or "wss:PORT" (the page connects to the host it was loaded
	// from). Without WebSocket listeners the page says calls are off.
	SIPDomain     string
	SIPWebSockets []string
	// RoomURL, when set, says whether another node hosts room (the
	// embedded SFU on several nodes) and its base URL: the room page is
	// then redirected there (307), query and all, so that the browser
	// joins the room where its phones are.
	RoomURL func(ctx context.Context, room string) (baseURL string, ok bool)
}

// Handler returns the web client: "/" (landing page), "/r/{room}" (room
// page; query name and optional token), "/call" (click-to-call with JsSIP
// over SIP WebSockets), "/admin" (dashboard) and
// "/static/..." (assets). Any other path is 404 so that the mux in cmd
// can mount it at "/" without hiding mistakes in API paths.
func Handler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Title == "" {
		cfg.Title = "Roombridge"
	}
	assets := newAssets()
	p := &pages{cfg: cfg, assets: assets}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.landing)
	mux.HandleFunc("GET /r/{room}", p.room)
	mux.HandleFunc("GET /admin", p.admin)
	mux.HandleFunc("GET /call", p.call)
	mux.Handle("GET /static/", assets)
	return secure(mux)
}

// landing serves the join form. Without JavaScript the form submits
// ?room=…&name=… here, and we redirect to the room page.
func (p *pages) landing(w http.ResponseWriter, r *http.Request) {
	if room := strings.TrimSpace(r.URL.Query().Get("room")); room != "" {
		q := url.Values{}
		if name := strings.TrimSpace(r.URL.Query().Get("name")); name != "" {
			q.Set("name", name)
		}
		target := "/r/" + url.PathEscape(room)
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	p.render(w, "landing.html", pageData{})
}

func (p *pages) room(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if !validRoomName(room) {
		http.NotFound(w, r)
		return
	}
	if p.cfg.RoomURL != nil {
		if base, ok := p.cfg.RoomURL(r.Context(), room); ok {
			http.Redirect(w, r, strings.TrimSuffix(base, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
	}
	p.render(w, "room.html", pageData{Room: room})
}

func (p *pages) call(w http.ResponseWriter, _ *http.Request) {
	p.render(w, "call.html", pageData{SIPDomain: p.cfg.SIPDomain, SIPWS: strings.Join(p.cfg.SIPWebSockets, " ")})
}

func (p *pages) admin(w http.ResponseWriter, r *http.Request) {
	p.render(w, "admin.html", pageData{})
}

// validRoomName rejects names that cannot be a room so that typos get a
// plain 404 instead of a page that fails later in signalling. The API owns
// the real rules; this only keeps out control characters and slashes.
func validRoomName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}
