package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/app"
	"parley/views/client"
	"parley/views/settings"
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

// Consents by purpose: Settings → Consents and GET /api/v1/consents (and
// its /summary), for whoever may view clients.

// consentChannelFrom reads a purpose query's channel: empty for any,
// "all" for the consents given for every channel, or a transport.
func consentChannelFrom(v string) (*app.Transport, error) {
	switch v {
	case "":
		return nil, nil
	case settings.ConsentChannelAll:
		return new(app.Transport), nil
	}
	t := app.Transport(v)
	if !app.IsConsentChannel(t) {
		return nil, app.InvalidField("channel", "Choose a channel (email, sms, whatsapp, telegram, instagram, website, phone), or all for the consents given for every channel.")
	}
	return &t, nil
}

// consentFilterFrom reads a purpose query (purpose, state, channel, cursor,
// limit), naming every bad parameter in one error.
func consentFilterFrom(q url.Values) (app.ConsentFilter, error) {
	f := app.ConsentFilter{Purpose: app.ConsentPurpose(q.Get("purpose")), State: app.ConsentState(q.Get("state")),
		Cursor: q.Get("cursor")}
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the query parameters."}
	var err error
	if f.Channel, err = consentChannelFrom(q.Get("channel")); err != nil {
		f.Channel, e.Fields = nil, append(e.Fields, app.ErrorFields(err)...)
	}
	if err := f.Normalize(); err != nil {
		e.Fields = append(e.Fields, app.ErrorFields(err)...)
	}
	var ok bool
	if f.Limit, ok = limitFrom(q.Get("limit"), 50); !ok {
		e.Fields = append(e.Fields, app.FieldError{Field: "limit", Message: limitMessage})
	}
	return f, e.OrNil()
}

// consentListPage is the page size of Settings → Consents.
const consentListPage = 50

// showConsentSettings is Settings → Consents. The counts are read for the
// whole page only: htmx asks for the list alone when it pages.
func (s *Server) showConsentSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	query := ui.Form{Values: map[string]string{"purpose": q.Get("purpose"), "state": q.Get("state"), "channel": q.Get("channel")},
		Errors: map[string]string{}}
	list, status := settings.ConsentList{Channel: q.Get("channel")}, http.StatusOK
	channel, err := consentChannelFrom(q.Get("channel"))
	if err != nil {
		list.Channel, query, status = "", withError(query, err), errorStatus(err)
	}
	if query.Value("purpose") != "" || query.Value("state") != "" {
		chosen, err := s.consentList(r, t, q)
		switch {
		case err == nil:
			list = chosen
		case isFormError(err):
			query, status = withError(query, err), errorStatus(err)
		default:
			s.renderError(w, r, err)
			return
		}
	}
	if isFragment(r, "consent-list") {
		s.render(w, r, status, settings.ConsentListSection(list))
		return
	}
	sum, err := t.DB.CountConsents(r.Context(), channel)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, settings.Consents(settings.ConsentsPage{
		Shell: s.settingsShell(r, t, "Who agreed to what: clients by consent purpose, state and channel."),
		Tabs:  settingsTabs(t.User, "consents"), Query: query, Summary: sum, List: list}))
}

// consentList reads the list part of the page: one page of the purpose
// query in q, with the links to the newest and the next page.
func (s *Server) consentList(r *http.Request, t *tenantReq, q url.Values) (settings.ConsentList, error) {
	list := settings.ConsentList{Channel: q.Get("channel")}
	f, err := consentFilterFrom(url.Values{"purpose": {q.Get("purpose")}, "state": {q.Get("state")},
		"channel": {q.Get("channel")}, "cursor": {q.Get("cursor")}})
	if err != nil {
		return settings.ConsentList{}, err
	}
	f.Limit = consentListPage
	page, err := t.DB.ListConsents(r.Context(), f)
	if err != nil {
		return settings.ConsentList{}, err
	}
	list.Purpose, list.State, list.Consents = f.Purpose, f.State, page.Consents
	first := settings.ConsentsHref(f.Purpose, f.State, list.Channel)
	if f.Cursor != "" {
		list.NewestHref = first
	}
	if page.Next != "" {
		list.OlderHref = first + "&cursor=" + url.QueryEscape(page.Next)
	}
	return list, nil
}

// purposeConsentJSON is one consent of GET /api/v1/consents. ChangedAt is
// when it took its state (for a grant past its expiry that the sweep has
// not recorded yet, listed as expired: its expiry).
type purposeConsentJSON struct {
	ClientID  string             `json:"client_id"`
	Purpose   app.ConsentPurpose `json:"purpose"`
	Channel   app.Transport      `json:"channel"`
	State     app.ConsentState   `json:"state"`
	Source    app.ConsentSource  `json:"source"`
	ChangedAt time.Time          `json:"changed_at"`
	ExpiresAt *time.Time         `json:"expires_at"`
}

// purposeConsentList is one page of GET /api/v1/consents; NextCursor is
// null on the last.
type purposeConsentList struct {
	Data       []purposeConsentJSON `json:"data"`
	NextCursor *string              `json:"next_cursor"`
}

func (s *Server) apiListConsentsByPurpose(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	f, err := consentFilterFrom(r.URL.Query())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	page, err := t.DB.ListConsents(r.Context(), f)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := purposeConsentList{Data: make([]purposeConsentJSON, len(page.Consents))}
	for i, c := range page.Consents {
		out.Data[i] = purposeConsentJSON{ClientID: c.ClientID, Purpose: c.Purpose, Channel: c.Channel, State: c.State,
			Source: c.Source, ChangedAt: c.Since, ExpiresAt: c.ExpiresAt}
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	writeJSON(w, http.StatusOK, out)
}

// consentSummaryJSON is GET /api/v1/consents/summary: the live clients per
// purpose and state, on the channel asked for (null: any).
type consentSummaryJSON struct {
	Clients int                `json:"clients"`
	Channel *string            `json:"channel"`
	Data    []consentTallyJSON `json:"data"`
}

type consentTallyJSON struct {
	Purpose app.ConsentPurpose `json:"purpose"`
	Clients consentStateCounts `json:"clients"`
}

type consentStateCounts struct {
	Granted      int `json:"granted"`
	Pending      int `json:"pending"`
	Denied       int `json:"denied"`
	Revoked      int `json:"revoked"`
	Expired      int `json:"expired"`
	NotRequested int `json:"not_requested"`
}

func (s *Server) apiCountConsents(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	v := r.URL.Query().Get("channel")
	channel, err := consentChannelFrom(v)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	sum, err := t.DB.CountConsents(r.Context(), channel)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := consentSummaryJSON{Clients: sum.Clients, Data: make([]consentTallyJSON, len(sum.Purposes))}
	if channel != nil {
		out.Channel = &v
	}
	for i, p := range sum.Purposes {
		n := p.States
		out.Data[i] = consentTallyJSON{Purpose: p.Purpose, Clients: consentStateCounts{Granted: n[app.ConsentGranted],
			Pending: n[app.ConsentPending], Denied: n[app.ConsentDenied], Revoked: n[app.ConsentRevoked],
			Expired: n[app.ConsentExpired], NotRequested: n[app.ConsentNotRequested]}}
	}
	writeJSON(w, http.StatusOK, out)
}
