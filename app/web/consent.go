package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/app"
	"parley/views/client"
	"parley/views/ui"
)

// A client's consents: the profile's section (loaded into the profile by
// htmx, or a page of its own without JavaScript), the form that records a
// change, and /api/v1/clients/{id}/consents.

// consentSectionID is the section's element id: htmx asks for it by name.
const consentSectionID = "consents"

func (s *Server) showClientConsents(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderConsents(w, r, t, http.StatusOK, ui.Form{Values: map[string]string{
		"purpose": string(app.PurposeMarketing), "state": string(app.ConsentGranted)}})
}

// renderConsents answers with the consents section (to htmx) or the
// consents page, showing form.
func (s *Server) renderConsents(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, form ui.Form) {
	id := r.PathValue("id")
	cs, hist, err := t.DB.ClientConsents(r.Context(), id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	sec := client.ConsentSection{ClientID: id, Consents: cs, History: hist, Now: s.cfg.Now(),
		CanManage: t.can(app.PermManageClients), Form: form}
	if isFragment(r, consentSectionID) {
		s.render(w, r, status, client.ConsentsCard(sec))
		return
	}
	c, err := t.DB.ClientByID(r.Context(), id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	s.render(w, r, status, client.Consents(client.ConsentsPage{Shell: s.clientShell(r, t, "Consents", c.Name()),
		ClientID: id, ClientName: c.Name(), Section: sec}))
}

// recordConsent records a change from the profile's form, then goes back
// to the profile; a refused change shows the form again with its errors.
func (s *Server) recordConsent(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	form := formFrom(r, "purpose", "purpose_other", "channel", "state", "expires_at", "note")
	in, err := consentInputFrom(form, s.cfg.Now())
	var c app.Consent
	if err == nil {
		c, err = t.DB.RecordConsent(r.Context(), id, in, t.actor())
	}
	if isFormError(err) {
		s.renderConsents(w, r, t, errorStatus(err), withError(form, err))
		return
	} else if err != nil {
		s.clientError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, client.ConsentSummary(c))
	redirect(w, r, "/clients/"+url.PathEscape(id)+"#"+consentSectionID)
}

// consentInputFrom reads the form. The purpose is the select's choice, or
// the field beside it for "other"; the expiry is a date, the grant ending
// as that day starts (UTC). A date that cannot be read is reported with
// whatever else is wrong.
func consentInputFrom(f ui.Form, now time.Time) (app.ConsentInput, error) {
	in := app.ConsentInput{Purpose: app.ConsentPurpose(f.Value("purpose")), Channel: app.Transport(f.Value("channel")),
		State: app.ConsentState(f.Value("state")), Source: app.SourceTeam, Note: f.Value("note")}
	if in.Purpose == client.OtherPurpose {
		in.Purpose = app.ConsentPurpose(f.Value("purpose_other"))
	}
	v := strings.TrimSpace(f.Value("expires_at"))
	if v == "" {
		return in, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err == nil {
		in.ExpiresAt = &d
		return in, nil
	}
	e := &app.Error{Code: app.EINVALID, Message: "Check the consent."}
	e.Fields = append(app.ErrorFields(in.Normalize(now)), app.FieldError{Field: "expires_at", Message: "Enter a date as YYYY-MM-DD."})
	return in, e.OrNil()
}

// consentList is the answer of GET /api/v1/clients/{id}/consents.
type consentList struct {
	Data    []app.Consent       `json:"data"`
	History []consentChangeJSON `json:"history"`
}

// consentChangeJSON is app.ConsentChange with its actor in the API's shape
// (app.Actor has no JSON names of its own).
type consentChangeJSON struct {
	app.ConsentChange
	Actor actorJSON `json:"actor"`
}

func (s *Server) apiListConsents(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	cs, hist, err := t.DB.ClientConsents(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	out := consentList{Data: nonNil(cs), History: make([]consentChangeJSON, len(hist))}
	for i, h := range hist {
		out.History[i] = consentChangeJSON{ConsentChange: h, Actor: actorJSON{Type: h.Actor.Type, ID: h.Actor.ID, Name: h.Actor.Name}}
	}
	writeJSON(w, http.StatusOK, out)
}

// consentRequest is app.ConsentInput with the expiry read here, so that a
// malformed one is named as the field it is.
type consentRequest struct {
	app.ConsentInput
	ExpiresAt *string `json:"expires_at"`
}

func (s *Server) apiRecordConsent(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var req consentRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	in := req.ConsentInput
	if req.ExpiresAt != nil {
		at, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		if err != nil {
			s.writeAPIError(w, r, app.InvalidField("expires_at", "Send a date and time such as 2027-01-31T00:00:00Z, or null."))
			return
		}
		in.ExpiresAt = &at
	}
	if in.Source == "" {
		in.Source = app.SourceAPI
	}
	c, err := t.DB.RecordConsent(r.Context(), r.PathValue("id"), in, t.actor())
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	if c.ExpiresAt != nil {
		utc := c.ExpiresAt.UTC()
		c.ExpiresAt = &utc
	}
	writeJSON(w, http.StatusCreated, c)
}
