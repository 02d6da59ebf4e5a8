package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"parley/app"
	"parley/views/settings"
	"parley/views/ui"
)

const auditPageSize = 50

// showAudit lists the event log, newest first, filtered by actor, type and
// dates, paged with a cursor (the last id shown) so deep pages stay fast.
func (s *Server) showAudit(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	p := settings.AuditPage{Shell: s.settingsShell(r, t, "Everything that changed in this workspace, and who did it."),
		Tabs:   settingsTabs(t.User, "audit"),
		Filter: settings.AuditFilter{Actor: q.Get("actor"), Type: q.Get("type"), From: q.Get("from"), To: q.Get("to")},
		Types:  app.EventTypes}
	f, err := auditFilter(p.Filter, q.Get("before"))
	status := http.StatusOK
	if err != nil {
		p.Error, status = app.ErrorMessage(err), http.StatusUnprocessableEntity
	} else {
		f.Limit = auditPageSize + 1 // one extra says whether there is an older page
		if p.Events, err = t.DB.ListEvents(r.Context(), f); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	users, err := t.DB.ListUsers(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, u := range users {
		p.Actors = append(p.Actors, ui.Option{Value: u.ID, Label: u.Name + " (" + u.Email + ")"})
	}
	base := url.Values{}
	for k, v := range map[string]string{"actor": p.Filter.Actor, "type": p.Filter.Type, "from": p.Filter.From, "to": p.Filter.To} {
		if v != "" {
			base.Set(k, v)
		}
	}
	if len(p.Events) > auditPageSize {
		p.Events = p.Events[:auditPageSize]
		older := url.Values{}
		for k, v := range base {
			older[k] = v
		}
		older.Set("before", p.Events[len(p.Events)-1].ID)
		p.OlderHref = "/settings/audit?" + older.Encode()
	}
	if q.Get("before") != "" {
		p.FirstHref = "/settings/audit?" + base.Encode()
	}
	p.ExportQuery = base.Encode()
	s.render(w, r, status, settings.Audit(p))
}

// auditFilter turns the form's strings into a filter; dates are whole UTC days.
func auditFilter(in settings.AuditFilter, before string) (app.EventFilter, error) {
	var f app.EventFilter
	if in.Actor != "" {
		f.ActorID = &in.Actor
	}
	if in.Type != "" {
		if !slices.Contains(app.EventTypes, in.Type) {
			return f, app.InvalidField("type", "Unknown event type.")
		}
		f.Type = &in.Type
	}
	if in.From != "" {
		d, err := time.Parse("2006-01-02", in.From)
		if err != nil {
			return f, app.InvalidField("from", "Enter the start date as YYYY-MM-DD.")
		}
		f.From = &d
	}
	if in.To != "" {
		d, err := time.Parse("2006-01-02", in.To)
		if err != nil {
			return f, app.InvalidField("to", "Enter the end date as YYYY-MM-DD.")
		}
		end := d.AddDate(0, 0, 1) // the To day is included
		f.To = &end
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return f, app.InvalidField("to", "The end date must not be before the start date.")
	}
	if before != "" {
		f.Before = &before
	}
	return f, nil
}
