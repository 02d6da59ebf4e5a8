package web

import (
	"net/http"

	"parley/views/layout"
)

// shellFor builds the page shell of a signed-in page, taking any flash message.
func (s *Server) shellFor(r *http.Request, t *tenantReq, section layout.Section, title, subtitle string) layout.Shell {
	kind, msg := s.popFlash(r)
	return layout.Shell{Title: title, Subtitle: subtitle, Section: section, Workspace: t.Tenant.Name,
		User: t.User, Flash: msg, FlashKind: kind}
}
