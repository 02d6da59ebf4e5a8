package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"parley/app"
)

// WhatsAppWindow is how long after a customer's last message WhatsApp lets
// a business answer with free text; after it only approved templates go.
const WhatsAppWindow = 24 * time.Hour

// checkCanMessage refuses, before anything is queued, a message the
// provider would refuse or the client asked not to get: a contact that
// opted out (SMS STOP), or WhatsApp free text outside the 24-hour
// customer-service window.
func checkCanMessage(ctx context.Context, q querier, k app.Contact, ch app.Channel, now time.Time) error {
	if k.OptedOutAt != nil {
		return app.InvalidField("contact_id", fmt.Sprintf("%s asked for no more messages on %s (they replied STOP on %s). "+
			"Parley sends nothing to it until they write START.", k.Display(), k.Type.Label(), k.OptedOutAt.Format("2 Jan 2006")))
	}
	if ch.Type != app.ChannelTwilioWhatsApp && ch.Type != app.ChannelWhatsAppCloud {
		return nil
	}
	// The newest inbound WhatsApp message, through messages_contact_in.
	var t time.Time
	err := q.QueryRowContext(ctx, `SELECT created_at FROM messages WHERE contact_id = ? AND direction = 'in'
		AND transport = 'whatsapp' ORDER BY seq DESC LIMIT 1`, k.ID).Scan(&t)
	if err == sql.ErrNoRows {
		return app.InvalidField("text", "WhatsApp lets a business send free text only within 24 hours of the customer's "+
			"last message, and "+k.Display()+" has not written on WhatsApp yet. Ask them to write first, or reach them on another channel.")
	} else if err != nil {
		return fmt.Errorf("last whatsapp message: %w", err)
	}
	t = t.UTC()
	if now.Sub(t) > WhatsAppWindow {
		return app.InvalidField("text", "WhatsApp lets a business send free text only within 24 hours of the customer's "+
			"last message; "+k.Display()+" last wrote on "+t.Format("2 Jan 2006 at 15:04 UTC")+
			". Reach them on another channel, or wait for them to write again.")
	}
	return nil
}

// replySubject is an email's subject: the one given, else "Re: " the
// chat's last email subject; other transports have none.
func replySubject(ctx context.Context, q querier, chatID string, t app.Transport, given string) (string, error) {
	if t != app.TransportEmail || given != "" {
		return given, nil
	}
	var last string
	err := q.QueryRowContext(ctx, `SELECT subject FROM messages WHERE chat_id = ? AND transport = 'email'
		AND subject != '' ORDER BY seq DESC LIMIT 1`, chatID).Scan(&last)
	if err == sql.ErrNoRows {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("last subject: %w", err)
	}
	if low := strings.ToLower(last); strings.HasPrefix(low, "re:") || strings.HasPrefix(low, "aw:") {
		return last, nil
	}
	return "Re: " + last, nil
}
