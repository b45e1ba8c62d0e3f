package api

import (
	"net/http"
	"net/url"
	"time"
	"unicode"
	"unicode/utf8"
)

// Join token limits: a display name fits a participant tile; a token lives
// at most a month (meeting invitations are sent days ahead).
const (
	maxDisplayName = 128
	maxTokenTTL    = 30 * 24 * time.Hour
)

// tokenRequest is the body of POST /v1/rooms/{name}/tokens; the body may be
// left out for an anonymous token with the default lifetime.
type tokenRequest struct {
	Name       string `json:"name"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

type tokenResponse struct {
	Token     string    `json:"token"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	if err := checkDisplayName(req.Name); err != nil {
		return err
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(maxTokenTTL/time.Second) {
		return badRequest("ttl_seconds", "ttl_seconds must be between 1 and 2592000 (30 days), or 0 for the default")
	}
	rm, err := s.cfg.Store.GetRoom(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if s.cfg.Tokens == nil {
		return &requestError{class: errUnavailable, msg: "join tokens are not configured"}
	}
	token, expires := s.cfg.Tokens.Mint(rm.Name, req.Name, time.Duration(req.TTLSeconds)*time.Second)
	writeJSON(w, http.StatusCreated, tokenResponse{Token: token, URL: s.joinURL(rm.Name, req.Name, token), ExpiresAt: expires})
	return nil
}

// joinURL is the web client's page for room, with the token (and the
// display name, when given) in the query.
func (s *Server) joinURL(roomName, name, token string) string {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	q.Set("token", token)
	return s.publicURL + "/r/" + url.PathEscape(roomName) + "?" + q.Encode()
}

func checkDisplayName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxDisplayName {
		return badRequest("name", "name must be valid UTF-8 of at most 128 characters")
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return badRequest("name", "name must not contain control characters")
		}
	}
	return nil
}
