package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"parley/app"
	"parley/tenantdb"
)

// PollArgs names a channel whose provider Parley fetches from (an IMAP
// mailbox); the reconciler enqueues one per channel each round.
type PollArgs struct {
	TenantID  string `json:"tenant_id"`
	ChannelID string `json:"channel_id"`
}

// Kind is the job kind River stores.
func (PollArgs) Kind() string { return "poll_channel" }

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	c *Client
}

// pollUnique keeps one poll per channel waiting or running: a slow mailbox
// is not polled twice at once.
var pollUnique = &river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
	rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}

// Work fetches what is new, stores it through the one inbound path, and
// only then saves the poller's position: a crash in between fetches the
// same messages again, and the inbound path drops the duplicates.
func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	return w.c.withTenant(ctx, job.Args.TenantID, func(db *tenantdb.DB) error {
		ch, err := db.ChannelByID(ctx, job.Args.ChannelID)
		if app.ErrorCode(err) == app.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		p, ok := w.c.providers[ch.Type].(app.Poller)
		if !ok || !ch.Active {
			return nil
		}
		cursor, err := db.ChannelCursor(ctx, ch.ID)
		if err != nil {
			return err
		}
		in, next, err := p.Poll(ctx, ch, cursor)
		if err == nil {
			err = StoreIncoming(ctx, db, ch, in, nil)
		}
		if err != nil {
			// Recorded for the settings page; River retries the job.
			_ = db.NoteChannelError(ctx, ch.ID, "Fetching new mail failed: "+err.Error())
			return fmt.Errorf("poll channel %s: %w", ch.ID, err)
		}
		if next != cursor {
			return db.SetChannelCursor(ctx, ch.ID, next)
		}
		return nil
	})
}

// StoreIncoming writes what a provider delivered: each message through the
// inbound path (duplicates are dropped there) and each status report. A
// report about a send not recorded yet goes to retry (nil: it is dropped).
//
// A customer's message is never refused for its form: a file of a type
// Parley does not keep is left out with a line saying so, and an empty
// message says it was empty. One the inbound path still refuses (an
// address it cannot read) is skipped and shown as the channel's last
// error, so it cannot hold back the messages after it: the provider would
// retry it, or the mailbox poll stall on it, forever.
func StoreIncoming(ctx context.Context, db *tenantdb.DB, ch app.Channel, in app.Incoming, retry func(app.StatusReport) error) error {
	var skipped []string
	for _, m := range in.Messages {
		m.ChannelID = ch.ID
		keepable(&m)
		_, _, err := db.ReceiveMessage(ctx, m)
		if app.ErrorCode(err) == app.EINVALID {
			skipped = append(skipped, m.ProviderMessageID+": "+app.ErrorMessage(err))
			continue
		} else if err != nil {
			return fmt.Errorf("store message %s: %w", m.ProviderMessageID, err)
		}
	}
	if len(skipped) > 0 {
		if err := db.NoteChannelError(ctx, ch.ID, "Parley could not store a message it received ("+
			strings.Join(skipped, "; ")+")."); err != nil {
			return err
		}
	}
	for _, rep := range in.Statuses {
		rep.ChannelID = ch.ID
		err := db.ReportStatus(ctx, rep)
		if app.ErrorCode(err) == app.ENOTFOUND && retry != nil {
			err = retry(rep)
		} else if app.ErrorCode(err) == app.ENOTFOUND {
			err = nil
		}
		if err != nil {
			return fmt.Errorf("store status of %s: %w", rep.ProviderMessageID, err)
		}
	}
	return nil
}

// keepable leaves out the files the inbound path would refuse, with a line
// saying which and why, and gives an empty message a line of its own.
func keepable(m *app.InboundMessage) {
	kept := m.Uploads[:0:0]
	for _, u := range m.Uploads {
		if err := app.CheckUpload(&u, "attachments"); err != nil {
			m.Text = strings.TrimSpace(m.Text + "\n\n(The attachment " + u.Filename + " was not kept: " + app.ErrorMessage(err) + ")")
			continue
		}
		kept = append(kept, u)
	}
	if len(kept) > app.MaxAttachments {
		m.Text = strings.TrimSpace(m.Text + fmt.Sprintf("\n\n(%d more attachments were not kept: Parley keeps %d per message.)",
			len(kept)-app.MaxAttachments, app.MaxAttachments))
		kept = kept[:app.MaxAttachments]
	}
	m.Uploads = kept
	if strings.TrimSpace(m.Text) == "" && len(m.Uploads) == 0 {
		m.Text = "(The message had no text.)"
	}
}

// pollChannels enqueues a poll of each of the tenant's active channels
// whose provider is fetched from.
func (c *Client) pollChannels(ctx context.Context, t *app.Tenant, db *tenantdb.DB) error {
	chs, err := db.ListChannels(ctx)
	if err != nil {
		return err
	}
	for _, ch := range chs {
		if _, ok := c.providers[ch.Type].(app.Poller); !ok || !ch.Active || !c.pollable(ch) {
			continue
		}
		if _, err := c.river.Insert(ctx, PollArgs{TenantID: t.ID, ChannelID: ch.ID},
			&river.InsertOpts{UniqueOpts: *pollUnique}); err != nil {
			return err
		}
	}
	return nil
}

// pollable asks the provider whether this channel is set up to be fetched
// from (an email channel without an IMAP host receives only by relay).
func (c *Client) pollable(ch app.Channel) bool {
	if p, ok := c.providers[ch.Type].(interface{ Pollable(app.Channel) bool }); ok {
		return p.Pollable(ch)
	}
	return true
}
