package web

import (
	"net/http"

	"parley/views/layout"
	"parley/views/shell"
	"parley/views/ui"
)

// shellFor builds the page shell of a signed-in page, taking any flash message.
func (s *Server) shellFor(r *http.Request, t *tenantReq, section layout.Section, title, subtitle string) layout.Shell {
	kind, msg := s.popFlash(r)
	return layout.Shell{Title: title, Subtitle: subtitle, Section: section, Workspace: t.Tenant.Name,
		User: t.User, Flash: msg, FlashKind: kind}
}

func (s *Server) showHelpCenter(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.render(w, r, http.StatusOK, shell.Section(s.shellFor(r, t, layout.SectionHelp, "Help center", "Articles your customers can read on their own."),
		ui.EmptyState{Icon: "book", Title: "No articles yet",
			Text: "Write knowledge-base articles here and publish them to your public help center."}))
}
