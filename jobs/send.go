package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// SendArgs names the message to send; the job is unique by them.
type SendArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
}

// Kind is the job kind River stores.
func (SendArgs) Kind() string { return "send_message" }

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	c *Client
}

func (w *sendWorker) Timeout(*river.Job[SendArgs]) time.Duration { return w.c.cfg.SendTimeout }

// NextRetry doubles the wait from RetryBase, with ±20% jitter so a
// provider outage does not end in a thundering herd, up to 10 minutes.
func (w *sendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	wait := w.c.cfg.RetryBase << min(job.Attempt-1, 16)
	wait = min(wait, 10*time.Minute)
	wait = time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64())) // #nosec G404 -- retry jitter, not a secret
	return w.c.cfg.Now().Add(wait)
}

// Work makes one delivery attempt. It re-reads the message and does
// nothing unless it is still queued; after an attempt whose outcome is
// unknown it asks the provider before sending again.
func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	return w.c.withTenant(ctx, job.Args.TenantID, func(db *tenantdb.DB) error {
		d, err := db.BeginDelivery(ctx, job.Args.MessageID)
		if errors.Is(err, tenantdb.ErrNotQueued) || app.ErrorCode(err) == app.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		return w.deliver(ctx, db, job, d)
	})
}

func (w *sendWorker) deliver(ctx context.Context, db *tenantdb.DB, job *river.Job[SendArgs], d tenantdb.Delivery) error {
	msgID := d.Message.ID
	p := w.c.providers[d.Channel.Type]
	if p == nil {
		return db.RecordSendFailed(ctx, msgID, "This Parley server cannot send through "+string(d.Channel.Type)+" channels.")
	}
	if d.Channel.SecretsUnreadable {
		return db.RecordSendFailed(ctx, msgID, d.Channel.LastError)
	}
	if d.OptedOut {
		return db.RecordSendFailed(ctx, msgID, "The client replied STOP on this contact after the message was written.")
	}
	if d.NoConsent {
		return db.RecordSendFailed(ctx, msgID, "The client does not (or no longer) consent to marketing on "+
			d.Message.Transport.Label()+", so this marketing message was held back.")
	}
	out := app.Outbound{TenantID: job.Args.TenantID, Channel: d.Channel, Key: msgID, Attempt: d.Attempt,
		Transport: d.Message.Transport, To: d.Message.ContactValue, Address: d.Address, Text: d.Message.Text,
		Attachments: d.Message.Attachments, Open: db.ReadAttachment, Subject: d.Message.Subject,
		InReplyTo: d.InReplyTo, References: d.References, ReplyToken: d.ReplyToken, SenderName: d.Message.Sender.Name}
	if wait := w.c.limits.reserve(job.Args.TenantID, d.Channel, p); wait > 0 {
		// Over the provider's rate: the message waits its turn, and the
		// attempt it did not make is not counted.
		if err := db.UndoAttempt(ctx, msgID, d.Uncertain); err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	if d.Uncertain {
		id, found, err := p.Lookup(ctx, out)
		switch {
		case found:
			return db.RecordSent(ctx, msgID, id)
		case errors.Is(err, app.ErrLookupUnsupported):
			return db.RecordSendFailed(ctx, msgID, "An earlier attempt was cut off and the provider cannot say whether it "+
				"arrived. Check with the client before sending it again.")
		case err != nil:
			return w.attemptFailed(ctx, db, job, msgID, fmt.Errorf("ask the provider about an earlier attempt: %w", err))
		}
	}
	id, err := p.Send(ctx, out)
	if err != nil {
		return w.attemptFailed(ctx, db, job, msgID, err)
	}
	return recordSent(ctx, db, msgID, id)
}

// recordSent records a send the provider took, trying a few times and
// even when the attempt's own time ran out just after the provider
// answered: unrecorded, the attempt stays open, and a provider that cannot
// be asked would leave a delivered message failed.
func recordSent(ctx context.Context, db *tenantdb.DB, msgID, providerID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	for wait := 50 * time.Millisecond; wait <= 800*time.Millisecond; wait *= 4 {
		if err = db.RecordSent(ctx, msgID, providerID); err == nil || app.ErrorCode(err) == app.ENOTFOUND {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
	return err
}

// attemptFailed records a failed attempt. A permanent refusal, or the last
// attempt, fails the message with the reason; otherwise River retries.
func (w *sendWorker) attemptFailed(ctx context.Context, db *tenantdb.DB, job *river.Job[SendArgs], msgID string, err error) error {
	var se *app.SendError
	reason := "The provider could not be reached: " + err.Error()
	if errors.As(err, &se) {
		reason = se.Reason
	}
	if se != nil && se.RetryAfter > 0 && !se.Permanent {
		// The provider asked Parley to slow down: wait as long as it said,
		// without spending one of the message's attempts.
		if rerr := db.UndoAttempt(ctx, msgID, false); rerr != nil {
			return errors.Join(err, rerr)
		}
		return river.JobSnooze(min(se.RetryAfter, 10*time.Minute))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "The provider did not answer in time."
	}
	if (se != nil && se.Permanent) || job.Attempt >= job.MaxAttempts {
		if job.Attempt > 1 && (se == nil || !se.Permanent) {
			reason = fmt.Sprintf("Gave up after %d attempts. %s", job.Attempt, reason)
		}
		return db.RecordSendFailed(ctx, msgID, reason)
	}
	if rerr := db.RecordAttemptFailed(ctx, msgID, reason, outcomeUnknown(err)); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// outcomeUnknown reports whether a failed attempt may still have reached
// the provider: anything but the provider's own answer (a *SendError) or
// a connection that was never made. The next attempt then asks the
// provider before sending again, or fails the message for the team to
// check, instead of sending it twice.
func outcomeUnknown(err error) bool {
	var se *app.SendError
	if errors.As(err, &se) {
		return false
	}
	var op *net.OpError
	var dns *net.DNSError
	return !(errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial"))
}
