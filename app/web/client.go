package web

import (
	"net/http"
	"net/url"
	"strings"

	"parley/app"
	"parley/views/client"
	"parley/views/layout"
	"parley/views/ui"
)

func (s *Server) clientShell(r *http.Request, t *tenantReq, title, subtitle string) layout.Shell {
	return s.shellFor(r, t, layout.SectionClients, title, subtitle)
}

// clientError answers an error about a client: a merged client sends the
// browser to the one it became (permanently for a GET), anything else is
// an error page.
func (s *Server) clientError(w http.ResponseWriter, r *http.Request, err error) {
	if app.ErrorCode(err) == app.EMOVED {
		target := "/clients/" + url.PathEscape(app.ErrorRef(err))
		if r.Method == http.MethodGet {
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		s.flash(r, ui.AlertInfo, "That client was merged into this one.")
		redirect(w, r, target)
		return
	}
	s.renderError(w, r, err)
}

// listFilterFrom reads the list's filter from the query string.
func listFilterFrom(q url.Values) client.ListFilter {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return client.ListFilter{Q: get("q"), Status: get("status"), Owner: get("owner_id"), Tag: get("tag"),
		From: get("created_from"), To: get("created_to"), Sort: get("sort")}
}

func (s *Server) showClients(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	f := listFilterFrom(q)
	res := client.Results{Filter: f, RowsOnly: q.Get("fragment") == "rows"}
	filter, err := clientFilterFrom(r) // the same parameters as GET /api/v1/clients
	var page app.ClientPage
	if err == nil {
		page, err = t.DB.SearchClients(r.Context(), filter)
	}
	if err != nil {
		s.logIfInternal(r, err)
		res.Error = app.ErrorMessage(err)
	}
	res.Hits = page.Hits
	if page.Next != "" {
		next := url.Values{}
		for k, v := range q {
			if k != "cursor" && k != "fragment" && len(v) > 0 && v[0] != "" {
				next.Set(k, v[0])
			}
		}
		next.Set("cursor", page.Next)
		res.NextHref = "/clients?" + next.Encode()
		next.Set("fragment", "rows")
		res.MoreHref = "/clients?" + next.Encode()
	}
	switch {
	case res.RowsOnly:
		s.render(w, r, http.StatusOK, client.Rows(res))
		return
	case r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "client-results":
		s.render(w, r, http.StatusOK, client.ResultsBlock(res))
		return
	}
	owners, err := s.ownerOptions(r, t)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	tags, err := t.DB.ListTags(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	shell := s.clientShell(r, t, "Clients", "Everyone your team talks to, on every channel.")
	canCreate := t.User.Can(app.PermManageClients)
	if canCreate {
		shell.Actions = client.NewClientButton()
	}
	s.render(w, r, http.StatusOK, client.List(client.ListPage{Shell: shell, Filter: f, Owners: owners, Tags: tags,
		Results: res, CanCreate: canCreate}))
}

// ownerOptions lists the active team members a client can be owned by.
func (s *Server) ownerOptions(r *http.Request, t *tenantReq) ([]ui.Option, error) {
	users, err := t.DB.ListUsers(r.Context())
	if err != nil {
		return nil, err
	}
	var out []ui.Option
	for _, u := range users {
		if u.Active() {
			out = append(out, ui.Option{Value: u.ID, Label: u.Name})
		}
	}
	return out, nil
}

func (s *Server) showClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderProfile(w, r, t, http.StatusOK, nil)
}

// renderProfile renders a client's profile with status; edit, if given,
// fills in a form that was refused.
func (s *Server) renderProfile(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, edit func(*client.ProfilePage)) {
	id := r.PathValue("id")
	p, err := t.DB.ClientProfile(r.Context(), id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	tl, err := s.timeline(r, t, id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	vm := client.ProfilePage{Shell: s.clientShell(r, t, p.Client.Name(), ""), P: p, Timeline: tl,
		CanManage: t.User.Can(app.PermManageClients), CanNote: t.User.Can(app.PermWriteNotes), Me: t.actor(),
		NextStatuses: p.Client.Status.Next(),
		ContactForm:  ui.Form{Values: map[string]string{"type": "email"}}, AddressForm: ui.Form{Values: map[string]string{}},
		NoteForm: ui.Form{}}
	cs, hist, err := t.DB.ClientConsents(r.Context(), id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	vm.Consents = client.ConsentSection{ClientID: id, Consents: cs, History: hist, Now: s.cfg.Now(),
		CanManage: vm.CanManage}
	vm.Percent, vm.Missing = p.Completeness()
	if edit != nil {
		edit(&vm)
	}
	s.render(w, r, status, client.Profile(vm))
}

// timeline reads the page of a client's timeline that the query asks for.
func (s *Server) timeline(r *http.Request, t *tenantReq, id string) (client.Timeline, error) {
	q := r.URL.Query()
	typ := q.Get("type")
	evs, next, err := t.DB.ClientTimeline(r.Context(), id, app.TimelineFilter{Type: typ, Before: q.Get("before")})
	tl := client.Timeline{ClientID: id, Events: evs, Type: typ}
	if next != "" {
		tl.MoreHref = "/clients/" + url.PathEscape(id) + "/timeline?" + url.Values{"type": {typ}, "before": {next}}.Encode()
	}
	return tl, err
}

// showClientTimeline answers the timeline's filter and "older" link: a
// fragment for htmx, the whole profile otherwise.
func (s *Server) showClientTimeline(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if r.Header.Get("HX-Request") != "true" {
		s.renderProfile(w, r, t, http.StatusOK, nil)
		return
	}
	tl, err := s.timeline(r, t, r.PathValue("id"))
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	if r.URL.Query().Get("fragment") == "items" {
		s.render(w, r, http.StatusOK, client.TimelineItems(tl))
		return
	}
	s.render(w, r, http.StatusOK, client.TimelineBlock(tl))
}

func (s *Server) changeClientStatus(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	err := t.DB.ChangeClientStatus(r.Context(), id, app.ClientStatus(r.PostFormValue("status")), t.actor())
	s.afterClientChange(w, r, id, err, "Status changed.", "")
}

func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.DeleteClient(r.Context(), r.PathValue("id"), t.actor()); err != nil {
		s.clientError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Client deleted.")
	redirect(w, r, "/clients")
}

// afterClientChange ends a change made from the profile: back to the
// profile (at anchor) with a confirmation, or with the refusal's reason.
func (s *Server) afterClientChange(w http.ResponseWriter, r *http.Request, id string, err error, ok, anchor string) {
	switch app.ErrorCode(err) {
	case "":
		s.flash(r, ui.AlertSuccess, ok)
	case app.EINVALID, app.ECONFLICT, app.EFORBIDDEN:
		s.flash(r, ui.AlertError, app.ErrorMessage(err))
	default:
		s.clientError(w, r, err)
		return
	}
	redirect(w, r, "/clients/"+url.PathEscape(id)+anchor)
}
