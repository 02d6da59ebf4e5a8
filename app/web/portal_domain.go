package web

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"parley/app"
	"parley/tenantdb"
	"parley/views/settings"
	"parley/views/ui"
)

// Custom domains, in Settings → Help center & portal and the API: a
// workspace admin adds a domain (help.acme.com), creates the TXT record the
// page shows to prove the domain is theirs and a CNAME record pointing it
// at the workspace's host, then verifies it. Only a verified domain is
// served (servePortalDomain). The domain lives in the control DB and its
// events in the workspace's own log: two files, so the control change
// commits first and the event follows (recordDomainEvent).

// sessDomainNotice carries what the last domain change did over the
// redirect, to show in the domains card rather than at the top of a long
// page.
const sessDomainNotice = "portal_domain_notice"

// lookupTXT is the resolver that verifies domains.
func (s *Server) lookupTXT() tenantdb.LookupTXT {
	if s.cfg.LookupTXT != nil {
		return s.cfg.LookupTXT
	}
	return net.DefaultResolver.LookupTXT
}

// domainURL is the help center on a custom domain.
func (s *Server) domainURL(domain string) string { return s.scheme() + "://" + domain + "/help" }

// portalDomainRows lists the workspace's custom domains for the settings page.
func (s *Server) portalDomainRows(r *http.Request, t *tenantReq) ([]settings.CustomDomain, error) {
	ds, err := s.control.Domains(r.Context(), tenantdb.DomainFilter{TenantID: &t.Tenant.ID})
	if err != nil {
		return nil, err
	}
	rows := make([]settings.CustomDomain, 0, len(ds))
	for _, d := range ds {
		row := settings.CustomDomain{Name: d.Domain, Display: tenantdb.DisplayDomain(d.Domain), URL: s.domainURL(d.Domain),
			Since: ui.FormatDate(d.CreatedAt), Verified: d.Verified(), ChallengeName: d.ChallengeName(), ChallengeValue: d.Token}
		if d.VerifiedAt != nil {
			row.VerifiedOn = ui.FormatDate(*d.VerifiedAt)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// renderPortalDomains shows the settings page, with the branding as saved,
// after a domain form: f sets what the domains card shows.
func (s *Server) renderPortalDomains(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, f func(*settings.PortalPage)) {
	b, err := t.DB.Branding(r.Context(), t.Tenant.Name)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	form := ui.Form{Values: map[string]string{"name": b.Name, "accent": b.Accent, "footer": b.Footer}}
	s.renderPortalSettings(w, r, t, status, b, form, false, f)
}

// domainDone says what a domain change did, in the domains card, and goes
// back to it.
func (s *Server) domainDone(w http.ResponseWriter, r *http.Request, msg string) {
	s.sessions.Put(r.Context(), sessDomainNotice, msg)
	redirect(w, r, "/settings/portal#domains")
}

// recordDomainEvent appends a domain change, already committed in the
// control DB, to the workspace's log. It is best effort: the change stands
// either way (it is what decides what is served), so a failure is logged
// with everything the event would have said rather than undoing it. It
// runs even if the client has gone, so a closed tab loses no audit line.
func (s *Server) recordDomainEvent(r *http.Request, t *tenantReq, typ, domain string, payload map[string]any) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	actor := t.actor()
	if err := t.DB.RecordDomainEvent(ctx, typ, domain, actor, payload); err != nil {
		s.log.ErrorContext(ctx, "custom domain changed, but the workspace's audit log could not record it",
			"tenant", t.Tenant.Slug, "event", typ, "domain", domain, "actor_type", actor.Type, "actor_id", actor.ID, "err", err)
	}
}

func (s *Server) addPortalDomain(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	raw := r.PostFormValue("domain")
	d, err := s.control.AddDomain(r.Context(), t.Tenant.ID, raw, s.baseHost)
	if isFormError(err) {
		s.renderPortalDomains(w, r, t, errorStatus(err), func(p *settings.PortalPage) {
			p.DomainForm = withError(ui.Form{Values: map[string]string{"domain": raw}}, err)
		})
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.recordDomainEvent(r, t, app.EventDomainAdded, d.Domain, nil)
	s.domainDone(w, r, tenantdb.DisplayDomain(d.Domain)+" added. Create its two DNS records below, then verify it.")
}

func (s *Server) verifyPortalDomain(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	d, changed, err := s.control.VerifyDomain(r.Context(), t.Tenant.ID, r.PathValue("domain"), s.lookupTXT())
	switch app.ErrorCode(err) {
	case "":
	case app.EINVALID, app.EUNAVAILABLE, app.ECONFLICT:
		// Why it failed goes next to the domain's records.
		s.renderPortalDomains(w, r, t, errorStatus(err), func(p *settings.PortalPage) {
			for i := range p.Domains {
				if p.Domains[i].Name == d.Domain {
					p.Domains[i].Error = app.ErrorMessage(err)
				}
			}
		})
		return
	default:
		s.renderError(w, r, err)
		return
	}
	name := tenantdb.DisplayDomain(d.Domain)
	if !changed {
		s.domainDone(w, r, name+" was already verified.")
		return
	}
	s.recordDomainEvent(r, t, app.EventDomainVerified, d.Domain, map[string]any{"by": "dns", "record": d.ChallengeName()})
	s.domainDone(w, r, name+" is verified. Your pages answer there as soon as its CNAME record points here and HTTPS is set up for it.")
}

func (s *Server) removePortalDomain(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	d, err := s.control.RemoveDomain(r.Context(), t.Tenant.ID, r.PathValue("domain"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.recordDomainEvent(r, t, app.EventDomainRemoved, d.Domain, map[string]any{"was_verified": d.Verified()})
	msg := tenantdb.DisplayDomain(d.Domain) + " removed."
	if d.Verified() {
		msg = tenantdb.DisplayDomain(d.Domain) + " removed: your pages are no longer served there."
	}
	s.domainDone(w, r, msg)
}

// dnsRecordJSON is a DNS record to create for a custom domain.
type dnsRecordJSON struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Purpose string `json:"purpose"`
}

// portalDomainJSON is a custom domain as the API shows it.
type portalDomainJSON struct {
	Domain     string          `json:"domain"`
	Display    string          `json:"display"`
	URL        string          `json:"url"`
	Status     string          `json:"status"`
	CreatedAt  time.Time       `json:"created_at"`
	VerifiedAt *time.Time      `json:"verified_at"`
	Records    []dnsRecordJSON `json:"dns_records"`
}

func (s *Server) portalDomainJSON(t *tenantReq, d tenantdb.MappedDomain) portalDomainJSON {
	status := "pending"
	if d.Verified() {
		status = "verified"
	}
	return portalDomainJSON{Domain: d.Domain, Display: tenantdb.DisplayDomain(d.Domain), URL: s.domainURL(d.Domain), Status: status,
		CreatedAt: d.CreatedAt, VerifiedAt: d.VerifiedAt, Records: []dnsRecordJSON{
			{Type: "TXT", Name: d.ChallengeName(), Value: d.Token, Purpose: "verification"},
			{Type: "CNAME", Name: d.Domain, Value: t.Tenant.Slug + "." + s.baseHost, Purpose: "traffic"},
		}}
}

// portalDomainList is the answer of GET /api/v1/settings/portal/domains.
type portalDomainList struct {
	Data []portalDomainJSON `json:"data"`
}

func (s *Server) apiListPortalDomains(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ds, err := s.control.Domains(r.Context(), tenantdb.DomainFilter{TenantID: &t.Tenant.ID})
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := portalDomainList{Data: []portalDomainJSON{}}
	for _, d := range ds {
		out.Data = append(out.Data, s.portalDomainJSON(t, d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAddPortalDomain(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in struct {
		Domain string `json:"domain"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	d, err := s.control.AddDomain(r.Context(), t.Tenant.ID, in.Domain, s.baseHost)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.recordDomainEvent(r, t, app.EventDomainAdded, d.Domain, nil)
	w.Header().Set("Location", "/api/v1/settings/portal/domains/"+url.PathEscape(d.Domain))
	writeJSON(w, http.StatusCreated, s.portalDomainJSON(t, d))
}

func (s *Server) apiVerifyPortalDomain(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	d, changed, err := s.control.VerifyDomain(r.Context(), t.Tenant.ID, r.PathValue("domain"), s.lookupTXT())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if changed {
		s.recordDomainEvent(r, t, app.EventDomainVerified, d.Domain, map[string]any{"by": "dns", "record": d.ChallengeName()})
	}
	writeJSON(w, http.StatusOK, s.portalDomainJSON(t, d))
}

func (s *Server) apiDeletePortalDomain(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	d, err := s.control.RemoveDomain(r.Context(), t.Tenant.ID, r.PathValue("domain"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.recordDomainEvent(r, t, app.EventDomainRemoved, d.Domain, map[string]any{"was_verified": d.Verified()})
	w.WriteHeader(http.StatusNoContent)
}
