package jobs

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// PortalMailArgs names a request for a customer portal sign-in link. Every
// request gets a job, whether or not its address is a client's, so asking
// for a link takes the same time either way; the job of a request that
// named no client finds nothing to send and ends.
type PortalMailArgs struct {
	TenantID  string `json:"tenant_id"`
	RequestID string `json:"request_id"`
}

// Kind is the job kind River stores.
func (PortalMailArgs) Kind() string { return "portal_link_mail" }

type portalMailWorker struct {
	river.WorkerDefaults[PortalMailArgs]
	c *Client
}

func (w *portalMailWorker) Timeout(*river.Job[PortalMailArgs]) time.Duration {
	return w.c.cfg.SendTimeout
}

// Work mails the request's link. A refusal that retrying cannot fix, or
// the last attempt, is recorded on the client's timeline; a link that
// expired meanwhile ends the job quietly (the client asks again).
func (w *portalMailWorker) Work(ctx context.Context, job *river.Job[PortalMailArgs]) error {
	return w.c.withTenant(ctx, job.Args.TenantID, func(db *tenantdb.DB) error {
		via, err := DeliverPortalLink(ctx, db, job.Args.TenantID, job.Args.RequestID, job.Attempt, w.c.providers[app.ChannelEmail])
		if err == nil {
			if via == PortalViaOutbox {
				w.c.log.WarnContext(ctx, "portal sign-in link left in the sandbox outbox: the workspace has no email channel",
					"tenant", job.Args.TenantID, "request", job.Args.RequestID)
			}
			return nil
		}
		var se *app.SendError
		if permanent := errors.As(err, &se) && se.Permanent; permanent || job.Attempt >= job.MaxAttempts {
			reason := "The sign-in email could not be sent: " + err.Error()
			if se != nil {
				reason = "The sign-in email could not be sent: " + se.Reason
			}
			w.c.log.WarnContext(ctx, "portal sign-in link not sent", "tenant", job.Args.TenantID,
				"request", job.Args.RequestID, "attempt", job.Attempt, "err", err)
			return db.RecordPortalLinkFailed(ctx, job.Args.RequestID, reason)
		}
		return err
	})
}

// EnqueuePortalMail queues the mailing of a committed link request.
func (c *Client) EnqueuePortalMail(ctx context.Context, tenantID, requestID string) error {
	_, err := c.river.Insert(ctx, PortalMailArgs{TenantID: tenantID, RequestID: requestID},
		&river.InsertOpts{UniqueOpts: *sendUnique})
	return err
}

// How a sign-in link went out (the via of its PortalLinkSent event).
const (
	PortalViaEmail   = "email"   // through the workspace's mailbox
	PortalViaSandbox = "sandbox" // into its sandbox channel's outbox
	// PortalViaOutbox: the workspace has neither; the link is in the
	// sandbox outbox table, which no page shows, and reaches nobody.
	PortalViaOutbox = "outbox"
)

// DeliverPortalLink mails the sign-in link of a request, if it made one:
// it issues the link's secret (a new one each attempt: a secret is never
// stored, so a retry cannot resend the old one), then sends a transactional
// email through the workspace's email channel with mailer, or puts it in
// the sandbox outbox when the workspace has no mailbox. It is not a
// message of the client's chat: nothing of it shows in the team's inbox,
// only a line on the client's timeline. via says how it went ("" when
// there was nothing to send).
func DeliverPortalLink(ctx context.Context, db *tenantdb.DB, tenantID, requestID string, attempt int, mailer app.Provider) (via string, err error) {
	m, err := db.IssuePortalLink(ctx, requestID)
	if c := app.ErrorCode(err); c == app.ENOTFOUND || c == app.EGONE {
		return "", nil
	} else if err != nil {
		return "", err
	}
	ch, ok, err := db.PortalMailChannel(ctx)
	if err != nil {
		return "", err
	}
	out := app.Outbound{TenantID: tenantID, Channel: ch, Key: "portal-link-" + requestID + "-" + strconv.Itoa(attempt),
		Attempt: attempt, Transport: app.TransportEmail, To: m.To, Text: m.Text(), Subject: m.Subject()}
	switch {
	case ok && ch.Type == app.ChannelEmail:
		if mailer == nil {
			return "", &app.SendError{Reason: "This Parley server cannot send email.", Permanent: true}
		}
		if _, err := mailer.Send(ctx, out); err != nil {
			return "", err
		}
		via = PortalViaEmail
	default:
		// The sandbox's own provider is not used: it would report the
		// email delivered and read, and answer it as a customer.
		if _, err := db.SandboxDeliver(ctx, out); err != nil {
			return "", err
		}
		via = PortalViaSandbox
		if !ok {
			via = PortalViaOutbox
		}
	}
	return via, db.RecordPortalLinkSent(ctx, requestID, via)
}
