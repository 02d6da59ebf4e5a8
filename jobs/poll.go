package jobs

import (
	"context"
	"fmt"

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
func StoreIncoming(ctx context.Context, db *tenantdb.DB, ch app.Channel, in app.Incoming, retry func(app.StatusReport) error) error {
	for _, m := range in.Messages {
		m.ChannelID = ch.ID
		if _, _, err := db.ReceiveMessage(ctx, m); err != nil {
			return fmt.Errorf("store message %s: %w", m.ProviderMessageID, err)
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
