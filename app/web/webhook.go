package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"parley/app"
	"parley/app/channel"
	"parley/jobs"
)

// Provider webhooks: /hooks/{channelID} on the workspace's host. They carry
// no session and no CSRF token; the provider's signature is the only
// credential, checked by the provider package before anything is read.

// Webhook body limits: provider JSON and forms are small; a relayed email
// carries its attachments.
const (
	maxWebhookBody = 1 << 20
	maxRelayedMail = 40 << 20
)

// webhookBudget bounds reading a provider's request and downloading its
// media; Twilio waits 15 s for an answer.
const webhookBudget = 12 * time.Second

// hookChannel returns the active channel the path names and its driver, or
// a plain 404 (the same for another workspace's channel, a removed one or a
// made-up id).
func (s *Server) hookChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) (app.Channel, app.Driver, bool) {
	ch, err := t.DB.ChannelByID(r.Context(), r.PathValue("channelID"))
	d, known := s.driver(ch.Type)
	if err != nil || !known || !ch.Active {
		if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
			s.log.ErrorContext(r.Context(), "webhook channel lookup failed", "err", err)
			http.Error(w, "Service unavailable.", http.StatusServiceUnavailable)
			return ch, nil, false
		}
		http.Error(w, "Not found.", http.StatusNotFound)
		return ch, nil, false
	}
	return ch, d, true
}

// receiveWebhook verifies, parses and stores one provider request. An exact
// replay of a request already handled is refused (409) and stores nothing;
// a provider's own retry of a request whose answer it missed is a new
// request to it but the same bytes, so it gets the 409 too, which tells it
// to stop (the first copy is stored).
func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, d, ok := s.hookChannel(w, r, t)
	if !ok {
		return
	}
	wd, ok := d.(app.WebhookDriver)
	if !ok {
		http.Error(w, "This channel does not receive webhooks.", http.StatusNotFound)
		return
	}
	limit := int64(maxWebhookBody)
	if ch.Type == app.ChannelEmail {
		// A relayed mail may be large: read it only from a caller that
		// signs (the signature itself is checked by the email package).
		if r.Header.Get("X-Parley-Signature") == "" {
			http.Error(w, "The request's signature does not match.", http.StatusUnauthorized)
			return
		}
		limit = maxRelayedMail
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		http.Error(w, "The request body is too large.", http.StatusRequestEntityTooLarge)
		return
	} else if err != nil {
		http.Error(w, "The request body could not be read.", http.StatusBadRequest)
		return
	}
	// The same bytes again are a replay: refused before they are parsed or
	// their media fetched (knowing a body was seen tells its sender nothing).
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.RequestURI()+"\n"), body...))
	digest := hex.EncodeToString(sum[:])
	if seen, err := t.DB.WebhookSeen(r.Context(), ch.ID, digest); err != nil {
		s.renderPlainError(w, r, err)
		return
	} else if seen {
		http.Error(w, "This request was already received.", http.StatusConflict)
		return
	}
	req := app.WebhookRequest{URL: s.webhookURL(t.Tenant, ch.ID) + queryPart(r), Header: r.Header, Body: body}
	// Media are downloaded within the request: bounded, so the provider
	// gets its answer before it gives up and sends the request again.
	rctx, cancel := context.WithTimeout(r.Context(), webhookBudget)
	defer cancel()
	in, err := wd.Receive(rctx, ch, req)
	switch app.ErrorCode(err) {
	case "":
	case app.EUNAUTHORIZED:
		s.log.WarnContext(r.Context(), "webhook signature refused", "channel", ch.ID, "type", ch.Type)
		http.Error(w, "The request's signature does not match.", http.StatusUnauthorized)
		return
	case app.EINVALID:
		http.Error(w, "Malformed request: "+app.ErrorMessage(err), http.StatusBadRequest)
		return
	default:
		s.log.ErrorContext(r.Context(), "webhook could not be read", "channel", ch.ID, "type", ch.Type, "err", err)
		http.Error(w, "The request could not be handled; try again later.", http.StatusServiceUnavailable)
		return
	}
	retry := func(rep app.StatusReport) error { return s.cfg.Delivery.RetryReport(r.Context(), t.Tenant.ID, rep) }
	if err := jobs.StoreIncoming(r.Context(), t.DB, ch, in, retry); err != nil {
		if app.ErrorCode(err) == app.EINVALID {
			http.Error(w, "Malformed request: "+app.ErrorMessage(err), http.StatusBadRequest)
			return
		}
		s.renderPlainError(w, r, err)
		return
	}
	if err := t.DB.RecordWebhook(r.Context(), ch.ID, digest); err != nil {
		s.log.ErrorContext(r.Context(), "webhook receipt not recorded", "channel", ch.ID, "err", err)
	}
	if in.ContentType != "" {
		w.Header().Set("Content-Type", in.ContentType)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, in.Body)
}

// renderPlainError answers a provider with a short status; details go to
// the log, never to the caller.
func (s *Server) renderPlainError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "webhook failed", "err", err)
	w.Header().Set("Retry-After", "30")
	http.Error(w, "The request could not be stored; try again later.", http.StatusServiceUnavailable)
}

func queryPart(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// handshakeWebhook answers a provider's subscription check (Meta's
// hub.challenge) for drivers that have one.
func (s *Server) handshakeWebhook(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, d, ok := s.hookChannel(w, r, t)
	if !ok {
		return
	}
	hs, ok := d.(app.WebhookHandshaker)
	if !ok {
		http.Error(w, "Webhooks are POSTed here.", http.StatusMethodNotAllowed)
		return
	}
	challenge, err := hs.Handshake(ch, r.URL.Query())
	if err != nil {
		http.Error(w, "The verify token does not match.", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, challenge) // #nosec G705 -- served as text/plain with nosniff (middleware), so it is never HTML
}

// serveChannelMedia serves one of the team's attachments to a provider that
// fetches media by URL (Twilio MMS, Instagram), on a signed link that
// expires; only attachments of messages sent through this channel.
func (s *Server) serveChannelMedia(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, _, ok := s.hookChannel(w, r, t)
	if !ok {
		return
	}
	q := r.URL.Query()
	attID := r.PathValue("attID")
	if !channel.CheckMediaURL(ch, attID, q.Get("e"), q.Get("s"), s.cfg.Now()) {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	a, path, err := t.DB.AttachmentByID(r.Context(), attID, app.ChatScope{All: true})
	if err == nil {
		var m app.Message
		m, err = t.DB.MessageByID(r.Context(), a.MessageID, app.ChatScope{All: true})
		if err == nil && (m.ChannelID != ch.ID || m.Direction != app.DirectionOut) {
			err = app.Errorf(app.ENOTFOUND, "File not found.")
		}
	}
	if err != nil {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	f, err := os.Open(filepath.Clean(path)) // #nosec G703 -- path is FilesDir joined with filepath.Base of the id of an attachment found in the DB
	if err != nil {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", "inline; filename*=UTF-8''"+encodeRFC5987(a.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// hook wraps a webhook handler: the workspace from the Host, no session.
func (s *Server) hook(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, s.startHandler(r))
	})
}
