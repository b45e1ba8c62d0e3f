package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/roombridge/roombridge/gateway/store"
)

// sipCredentialRequest is the body of POST /v1/sip-credentials; it may be
// left out for an account named "web" with the default lifetime.
type sipCredentialRequest struct {
	Name       string `json:"name"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

type sipCredentialResponse struct {
	Username  string    `json:"username"`
	Password  string    `json:"password"`
	AOR       string    `json:"aor"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) createSIPCredential(w http.ResponseWriter, r *http.Request) error {
	var req sipCredentialRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name != "" && !sipCredentialNameRe.MatchString(req.Name) {
		return badRequest("name", "name must be 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(maxSIPCredentialTTL/time.Second) {
		return badRequest("ttl_seconds", "ttl_seconds must be between 1 and 86400 (one day), or 0 for the default")
	}
	if s.cfg.SIPCredentials == nil || s.cfg.SIPDomain == "" {
		return &requestError{class: errUnavailable, msg: "SIP credentials are not configured"}
	}
	user, pass, exp := s.cfg.SIPCredentials.Mint(req.Name, time.Duration(req.TTLSeconds)*time.Second)
	s.log.Info("api: SIP credential minted", "username", user, "expires_at", exp)
	writeJSON(w, http.StatusCreated, sipCredentialResponse{
		Username: user, Password: pass, AOR: "sip:" + user + "@" + s.cfg.SIPDomain, ExpiresAt: exp,
	})
	return nil
}

// registrationJSON is a binding as the API shows it.
type registrationJSON struct {
	AOR        string    `json:"aor"`
	Contact    string    `json:"contact"`
	Username   string    `json:"username"`
	Transport  string    `json:"transport"`
	Source     string    `json:"source"`
	UserAgent  string    `json:"user_agent,omitempty"`
	InstanceID string    `json:"instance_id,omitempty"`
	ExpiresAt  time.Time `json:"expires_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func (s *Server) listRegistrations(w http.ResponseWriter, r *http.Request) error {
	aor := ""
	if user := r.URL.Query().Get("user"); user != "" {
		if s.cfg.SIPDomain == "" || strings.ContainsAny(user, "@:;<> ") {
			return badRequest("user", "user must be a SIP user part such as alice")
		}
		aor = "sip:" + user + "@" + strings.ToLower(s.cfg.SIPDomain)
	}
	regs, err := s.cfg.Store.ListRegistrations(r.Context(), aor, time.Now())
	if err != nil {
		return err
	}
	out := struct {
		Registrations []registrationJSON `json:"registrations"`
	}{Registrations: make([]registrationJSON, 0, len(regs))}
	for _, g := range regs {
		out.Registrations = append(out.Registrations, registrationOf(g))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func registrationOf(g store.Registration) registrationJSON {
	return registrationJSON{
		AOR: g.AOR, Contact: g.Contact, Username: g.Username, Transport: g.Transport, Source: g.Source,
		UserAgent: g.UserAgent, InstanceID: g.InstanceID, ExpiresAt: g.ExpiresAt.UTC(), UpdatedAt: g.UpdatedAt.UTC(),
	}
}
