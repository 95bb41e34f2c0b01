package web

import (
	"net/http"
	"time"
)

// cookieFlash carries what a page must tell the admin after a redirect (notes about a
// created integration, the integration a delete removed), sealed: it names servers.
const cookieFlash = "forgelink_flash"

// flashTTL is how long a flash waits to be shown.
const flashTTL = 5 * time.Minute

// flash is one message for the page of integration ID (Kind "created", or "moved" with
// the URL it had) or the list after its delete (Kind "deleted").
type flash struct {
	Kind  string
	ID    string
	Name  string
	URL   string
	Notes []string
}

func (s *site) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	sealed, err := s.sealer.Seal(f, s.now(), flashTTL)
	if err != nil {
		s.log.ErrorContext(r.Context(), "could not seal a flash", "error", err.Error())
		return
	}
	s.setCookie(w, r, cookieFlash, sealed, flashTTL)
}

// takeFlash returns the flash of kind for integration id and clears it; nil when none.
func (s *site) takeFlash(w http.ResponseWriter, r *http.Request, kind, id string) *flash {
	raw := s.cookie(r, cookieFlash)
	if raw == "" {
		return nil
	}
	var f flash
	if err := s.sealer.Open(raw, s.now(), &f); err != nil || f.Kind != kind || f.ID != id {
		return nil
	}
	s.clearCookie(w, r, cookieFlash)
	return &f
}
