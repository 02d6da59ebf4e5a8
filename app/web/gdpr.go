package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/app"
	"parley/tenantdb"
	"parley/views/client"
	"parley/views/settings"
	"parley/views/ui"
)

// The GDPR rights of a client: subject access exports (built by a job,
// downloaded here, every download logged), erasure (asked for here,
// carried out by a job), and the audit log export. On the profile they are the "Data protection" section (loaded
// by htmx, or a page of its own); in the API, /api/v1/clients/{id}/export,
// /api/v1/exports/{id}, /api/v1/clients/{id}/erase and /api/v1/audit.
// Exporting, downloading and erasing need retention.manage.

// ExportQueue queues the job that builds a subject access export.
type ExportQueue interface {
	// EnqueueExport queues the build of a committed export request. It is
	// safe to call twice for one export (the job is unique), so a lost
	// enqueue is repaired by enqueuing again.
	EnqueueExport(ctx context.Context, tenantID, exportID string) error
}

// ErasureQueue queues the job that erases a client.
type ErasureQueue interface {
	// EnqueueErasure queues a committed erasure request. It is safe to call
	// twice for one client (the job is unique), so a lost enqueue is
	// repaired by enqueuing again (the reconciler does).
	EnqueueErasure(ctx context.Context, tenantID, clientID string) error
}

// privacySectionID is the section's element id: htmx asks for it by name.
const privacySectionID = "privacy"

// exportRetry is how long an export may stay pending before a look at it
// enqueues its job again (in case the first enqueue was lost).
const exportRetry = time.Minute

// enqueueExport queues an export's job; a failure is logged and repaired
// the next time someone looks at the export.
func (s *Server) enqueueExport(r *http.Request, t *tenantReq, id string) {
	if s.cfg.Exports == nil {
		s.log.WarnContext(r.Context(), "no export queue configured", "export", id)
		return
	}
	if err := s.cfg.Exports.EnqueueExport(r.Context(), t.Tenant.ID, id); err != nil {
		s.log.ErrorContext(r.Context(), "enqueue export failed", "export", id, "err", err)
	}
}

// repairExports re-enqueues the exports pending for longer than they
// should: the job is unique, so one still queued is not doubled.
func (s *Server) repairExports(r *http.Request, t *tenantReq, exports ...tenantdb.Export) {
	for _, e := range exports {
		if e.Status == tenantdb.ExportPending && s.cfg.Now().Sub(e.CreatedAt) > exportRetry {
			s.enqueueExport(r, t, e.ID)
		}
	}
}

// serveExport sends an export's archive as a download (recorded as an
// event by OpenExport), or hands the refusal to fail.
func (s *Server) serveExport(w http.ResponseWriter, r *http.Request, t *tenantReq, id string, fail func(error)) {
	e, f, err := t.DB.OpenExport(r.Context(), id, t.actor())
	if err != nil {
		fail(err)
		return
	}
	defer f.Close()
	day := e.CreatedAt
	if e.CompletedAt != nil {
		day = *e.CompletedAt
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="parley-export-`+e.ClientID+"-"+day.Format("20060102")+`.zip"`)
	h.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, f); err != nil {
		s.log.WarnContext(r.Context(), "export download cut off", "export", id, "err", err)
	}
}

// exportJSON is an export as the API shows it.
type exportJSON struct {
	ID          string     `json:"id"`
	ClientID    string     `json:"client_id"`
	Status      string     `json:"status"`
	RequestedAt time.Time  `json:"requested_at"`
	RequestedBy actorJSON  `json:"requested_by"`
	CompletedAt *time.Time `json:"completed_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	Error       string     `json:"error"`
	Downloads   int        `json:"downloads"`
	// DownloadURL fetches the archive once the export is ready ("" until then).
	DownloadURL string `json:"download_url"`
}

func exportJSONOf(e tenantdb.Export) exportJSON {
	out := exportJSON{ID: e.ID, ClientID: e.ClientID, Status: e.Status, RequestedAt: e.CreatedAt,
		RequestedBy: actorJSON{Type: e.RequestedBy.Type, ID: e.RequestedBy.ID, Name: e.RequestedBy.Name},
		CompletedAt: e.CompletedAt, ExpiresAt: e.ExpiresAt, Size: e.Size, SHA256: e.SHA256, Error: e.Error,
		Downloads: e.Downloads}
	if e.Status == tenantdb.ExportReady {
		out.DownloadURL = "/api/v1/exports/" + e.ID + "?download=1"
	}
	return out
}

func (s *Server) apiRequestExport(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	e, err := t.DB.RequestExport(r.Context(), r.PathValue("id"), t.actor())
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	s.enqueueExport(r, t, e.ID)
	w.Header().Set("Location", "/api/v1/exports/"+e.ID)
	writeJSON(w, http.StatusAccepted, exportJSONOf(e))
}

// apiGetExport answers with the export's status, or with its archive when
// asked for it: ?download=1, or Accept: application/zip.
func (s *Server) apiGetExport(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	e, err := t.DB.ExportByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if r.URL.Query().Get("download") == "1" || strings.Contains(r.Header.Get("Accept"), "application/zip") {
		s.serveExport(w, r, t, e.ID, func(err error) { s.writeAPIError(w, r, err) })
		return
	}
	s.repairExports(r, t, e)
	writeJSON(w, http.StatusOK, exportJSONOf(e))
}

// enqueueErasure queues a committed erasure request's job; a failure is
// logged, and the reconciler enqueues it again.
func (s *Server) enqueueErasure(r *http.Request, t *tenantReq, clientID string) {
	if s.cfg.Erasures == nil {
		s.log.WarnContext(r.Context(), "no erasure queue configured", "client", clientID)
		return
	}
	if err := s.cfg.Erasures.EnqueueErasure(r.Context(), t.Tenant.ID, clientID); err != nil {
		s.log.ErrorContext(r.Context(), "enqueue erasure failed", "client", clientID, "err", err)
	}
}

// erasureJSON is an erasure request as the API shows it. Once the erasure
// is done the client answers 404, like any unknown id.
type erasureJSON struct {
	ClientID    string    `json:"client_id"`
	Status      string    `json:"status"`
	RequestedAt time.Time `json:"requested_at"`
	RequestedBy actorJSON `json:"requested_by"`
}

// apiEraseClient asks for a client's erasure and answers 202: a job
// carries it out. Asking again while it is pending answers the same
// request (and enqueues its job again, which is harmless).
func (s *Server) apiEraseClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	req, err := t.DB.RequestErasure(r.Context(), r.PathValue("id"), t.actor())
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	s.enqueueErasure(r, t, req.ClientID)
	by := req.RequestedBy
	writeJSON(w, http.StatusAccepted, erasureJSON{ClientID: req.ClientID, Status: "pending", RequestedAt: req.RequestedAt,
		RequestedBy: actorJSON{Type: by.Type, ID: by.ID, Name: by.Name}})
}

// showClientPrivacy shows the data protection section (to htmx) or page.
func (s *Server) showClientPrivacy(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderPrivacy(w, r, t, http.StatusOK, "", "")
}

// renderPrivacy renders the section or page with what was typed to
// confirm an erasure and why it was refused.
func (s *Server) renderPrivacy(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, confirm, problem string) {
	id := r.PathValue("id")
	subj, err := s.liveSubject(r, t, id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	p := client.PrivacyPanel{ClientID: id, ClientName: subj.Name, Allowed: t.can(app.PermManageRetention),
		LegalHold: subj.LegalHold, Confirm: confirm, EraseError: problem}
	if p.Allowed {
		exports, err := t.DB.ClientExports(r.Context(), id)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		s.repairExports(r, t, exports...)
		for _, e := range exports {
			p.Exports = append(p.Exports, client.ExportRow{ID: e.ID, Status: e.Status, RequestedAt: e.CreatedAt,
				RequestedBy: ui.ActorName(e.RequestedBy), ExpiresAt: e.ExpiresAt, Size: e.Size, Error: e.Error,
				Downloads: e.Downloads})
		}
	}
	if isFragment(r, privacySectionID) {
		s.render(w, r, status, client.PrivacyCard(p))
		return
	}
	s.render(w, r, status, client.Privacy(client.PrivacyPage{Shell: s.clientShell(r, t, "Data protection", subj.Name), Panel: p}))
}

// liveSubject is the data subject of the team app's pages: a live client
// (a deleted one is not found here, as everywhere in the app; the API
// reaches it).
func (s *Server) liveSubject(r *http.Request, t *tenantReq, id string) (tenantdb.DataSubject, error) {
	subj, err := t.DB.DataSubject(r.Context(), id)
	if err == nil && subj.DeletedAt != nil {
		err = app.Errorf(app.ENOTFOUND, "Client not found.")
	}
	return subj, err
}

func (s *Server) requestClientExport(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	if _, err := s.liveSubject(r, t, id); err != nil {
		s.clientError(w, r, err)
		return
	}
	e, err := t.DB.RequestExport(r.Context(), id, t.actor())
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	s.enqueueExport(r, t, e.ID)
	s.flash(r, ui.AlertSuccess, "Export requested. It appears here to download when it is ready.")
	redirect(w, r, "/clients/"+url.PathEscape(id)+"/privacy")
}

func (s *Server) downloadClientExport(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	e, err := t.DB.ExportByID(r.Context(), r.PathValue("exportID"))
	if err == nil && e.ClientID != id {
		err = app.Errorf(app.ENOTFOUND, "Export not found.")
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.serveExport(w, r, t, e.ID, func(err error) {
		if c := app.ErrorCode(err); c == app.ECONFLICT || c == app.EGONE {
			s.flash(r, ui.AlertError, app.ErrorMessage(err))
			redirect(w, r, "/clients/"+url.PathEscape(id)+"/privacy")
			return
		}
		s.renderError(w, r, err)
	})
}

// eraseClient asks for a client's erasure once the name typed matches
// theirs; the client leaves the app at once and a job erases them.
func (s *Server) eraseClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	subj, err := s.liveSubject(r, t, id)
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	confirm := r.PostFormValue("confirm")
	if squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }; !strings.EqualFold(squeeze(confirm), squeeze(subj.Name)) {
		s.renderPrivacy(w, r, t, http.StatusUnprocessableEntity, confirm,
			"Type the client's name exactly as shown to confirm the erasure. Nothing was erased.")
		return
	}
	_, err = t.DB.RequestErasure(r.Context(), id, t.actor())
	if app.ErrorCode(err) == app.ECONFLICT {
		s.renderPrivacy(w, r, t, http.StatusConflict, confirm, app.ErrorMessage(err))
		return
	} else if err != nil {
		s.clientError(w, r, err)
		return
	}
	s.enqueueErasure(r, t, id)
	// The flash names no one: it is kept in the session, in this file.
	s.flash(r, ui.AlertSuccess, "The erasure has started and runs in the background: the client's personal data "+
		"will be erased for good within minutes; it is recorded in the audit log.")
	redirect(w, r, "/clients")
}

// Audit log export: every event in a date range (and the page's other
// filters) as CSV or JSON, streamed oldest first.

// auditFormats are the export formats, by the name ?format= takes.
var auditFormats = map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}

// exportAudit is the audit page's download.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	f, err := auditFilter(settings.AuditFilter{Actor: q.Get("actor"), Type: q.Get("type"), From: q.Get("from"), To: q.Get("to")}, "")
	format := q.Get("format")
	if err == nil && auditFormats[format] == "" {
		err = app.InvalidField("format", "Choose a format: csv or json.")
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.writeAudit(w, r, t, f, format)
}

// apiExportAudit is GET /api/v1/audit: JSON unless ?format=csv.
func (s *Server) apiExportAudit(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	f, err := auditFilter(settings.AuditFilter{Actor: q.Get("actor"), Type: q.Get("type"), From: q.Get("from"), To: q.Get("to")}, "")
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if err == nil && auditFormats[format] == "" {
		err = app.InvalidField("format", "Choose a format: csv or json.")
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writeAudit(w, r, t, f, format)
}

// writeAudit streams the events matching f as an attachment. A failure
// half-way is logged; the truncated file does not parse, so it is not
// mistaken for a complete one.
func (s *Server) writeAudit(w http.ResponseWriter, r *http.Request, t *tenantReq, f app.EventFilter, format string) {
	name := "parley-audit-" + t.Tenant.Slug
	if f.From != nil {
		name += "-from-" + f.From.Format("20060102")
	}
	if f.To != nil {
		name += "-to-" + f.To.AddDate(0, 0, -1).Format("20060102")
	}
	h := w.Header()
	h.Set("Content-Type", auditFormats[format])
	h.Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	var err error
	if format == "csv" {
		err = writeAuditCSV(r.Context(), w, t.DB, f)
	} else {
		err = writeAuditJSON(r.Context(), w, t.DB, f)
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "audit export cut off", "err", err)
	}
}

// auditColumns are the CSV's columns, in order.
var auditColumns = []string{"id", "occurred_at", "type", "aggregate_type", "aggregate_id", "actor_type", "actor_id",
	"actor_name", "payload"}

func writeAuditCSV(ctx context.Context, w io.Writer, db *tenantdb.DB, f app.EventFilter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(auditColumns); err != nil {
		return err
	}
	err := db.EachEvent(ctx, f, func(ev app.Event) error {
		return cw.Write([]string{csvCell(ev.ID), ev.OccurredAt.UTC().Format(time.RFC3339), csvCell(ev.Type),
			csvCell(ev.AggregateType), csvCell(ev.AggregateID), csvCell(ev.Actor.Type), csvCell(ev.Actor.ID),
			csvCell(ev.Actor.Name), csvCell(string(ev.Payload))})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}

// csvCell defuses a value a spreadsheet would run as a formula (one that
// starts with =, +, -, @, a tab or a carriage return) by putting an
// apostrophe before it, which spreadsheets show as text.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditEventJSON is one event of the JSON export.
type auditEventJSON struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	AggregateType string          `json:"aggregate_type"`
	AggregateID   string          `json:"aggregate_id"`
	Actor         actorJSON       `json:"actor"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Payload       json.RawMessage `json:"payload"`
}

func writeAuditJSON(ctx context.Context, w io.Writer, db *tenantdb.DB, f app.EventFilter) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := db.EachEvent(ctx, f, func(ev app.Event) error {
		if buf.Len() == 0 {
			buf.WriteString("\n")
		} else {
			buf.Reset()
			buf.WriteString(",\n")
		}
		if err := enc.Encode(auditEventJSON{ID: ev.ID, Type: ev.Type, AggregateType: ev.AggregateType,
			AggregateID: ev.AggregateID, Actor: actorJSON{Type: ev.Actor.Type, ID: ev.Actor.ID, Name: ev.Actor.Name},
			OccurredAt: ev.OccurredAt.UTC(), Payload: ev.Payload}); err != nil {
			return err
		}
		_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return err
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]\n")
	return err
}
