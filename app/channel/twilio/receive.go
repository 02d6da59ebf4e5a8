package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"parley/app"
	"parley/app/channel"
)

// emptyTwiML answers an inbound message without replying to it.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Twilio's media hosts. A MediaUrl must be on the API host (or the
// channel's api_base_url); Twilio answers it with a redirect to
// mms.twiliocdn.com when the account enforces HTTP auth on media, or to
// s3-external-1.amazonaws.com when it does not (see "Protect Media Access
// with HTTP Basic Authentication"). The CDN hosts are only followed, never
// fetched first, and get no credentials.
var (
	mediaSourceHosts   = []string{"api.twilio.com"}
	mediaRedirectHosts = []string{"mms.twiliocdn.com", "s3-external-1.amazonaws.com"}
)

// Receive verifies the signature, then reads the webhook: an inbound
// message, a message status callback, or (voice channels) a call or
// recording status callback. What the channel type does not handle is
// left out.
func (c *typeDriver) Receive(ctx context.Context, ch app.Channel, req app.WebhookRequest) (app.Incoming, error) {
	v, err := verify(ch.Setting(KeyAuthToken), req)
	if err != nil {
		return app.Incoming{}, err
	}
	if v.json {
		// JSON webhooks (Event Streams and the like) carry nothing Parley reads.
		if !json.Valid(v.body) {
			return app.Incoming{}, app.Errorf(app.EINVALID, "The Twilio webhook's JSON body is malformed.")
		}
		return app.Incoming{}, nil
	}
	if v.malformed {
		return app.Incoming{}, app.Errorf(app.EINVALID, "The Twilio webhook's form body is malformed.")
	}
	return c.parse(ctx, ch, v.params)
}

// parse dispatches on the parameters that tell Twilio's webhooks apart.
func (c *typeDriver) parse(ctx context.Context, ch app.Channel, p url.Values) (app.Incoming, error) {
	switch {
	case messageSID(p) != "":
		if c.typ == app.ChannelTwilioVoice {
			return app.Incoming{}, nil
		}
		return c.message(ctx, ch, p)
	case p.Get("CallStatus") != "":
		if c.typ != app.ChannelTwilioVoice {
			return app.Incoming{}, nil
		}
		return c.callStatus(ch, p)
	case p.Get("RecordingStatus") != "":
		if c.typ != app.ChannelTwilioVoice {
			return app.Incoming{}, nil
		}
		return c.recording(ctx, ch, p)
	}
	return app.Incoming{}, app.Errorf(app.EINVALID, "The request is not a Twilio message, call or recording webhook.")
}

func messageSID(p url.Values) string {
	if s := p.Get("MessageSid"); s != "" {
		return s
	}
	return p.Get("SmsMessageSid")
}

// message reads an inbound message or a status callback: inbound messages
// carry no MessageStatus, or "received" (SmsStatus says the same).
func (c *typeDriver) message(ctx context.Context, ch app.Channel, p url.Values) (app.Incoming, error) {
	status := p.Get("MessageStatus")
	if status == "" {
		status = p.Get("SmsStatus")
	}
	if status == "" || status == "received" {
		return c.inbound(ctx, ch, p)
	}
	in := app.Incoming{ContentType: "text/xml", Body: emptyTwiML}
	st, ok := map[string]app.DeliveryStatus{"sent": app.StatusSent, "delivered": app.StatusDelivered,
		"read": app.StatusRead, "undelivered": app.StatusFailed, "failed": app.StatusFailed}[status]
	if !ok {
		return in, nil // queued, accepted, sending, scheduled…: nothing the team needs
	}
	rep := app.StatusReport{ChannelID: ch.ID, ProviderMessageID: messageSID(p), Status: st, At: c.now()}
	if st == app.StatusFailed {
		rep.Reason = failureReason(p.Get("ErrorCode"), p.Get("ErrorMessage"), status)
	}
	in.Statuses = []app.StatusReport{rep}
	return in, nil
}

// inbound reads a message from a client, downloading its media.
func (c *typeDriver) inbound(ctx context.Context, ch app.Channel, p url.Values) (app.Incoming, error) {
	from := strings.TrimSpace(p.Get("From"))
	n, err := numMedia(p.Get("NumMedia"))
	if from == "" || err != nil {
		return app.Incoming{}, app.Errorf(app.EINVALID, "The Twilio message webhook lacks a valid From or NumMedia.")
	}
	msg := app.InboundMessage{ChannelID: ch.ID, Transport: c.typ.Transport(), Direction: app.DirectionIn,
		ProviderMessageID: messageSID(p), Text: p.Get("Body"), OptOut: optOut(c.typ, p)}
	if c.typ == app.ChannelTwilioWhatsApp {
		msg.From = app.ContactInput{Type: app.ContactWhatsApp, Value: strings.TrimPrefix(from, whatsappPrefix)}
		msg.SenderName = strings.TrimSpace(p.Get("ProfileName"))
		if wa := p.Get("WaId"); wa != "" {
			msg.SenderMeta = map[string]string{"wa_id": wa}
		}
	} else {
		msg.From = app.ContactInput{Type: app.ContactPhone, Value: from}
	}
	var lines []string
	if loc := location(p); loc != "" {
		lines = append(lines, loc)
	}
	acc := accountOf(ch)
	for i := range n {
		up, err := c.fetchMedia(ctx, acc, p.Get(fmt.Sprintf("MediaUrl%d", i)), p.Get(fmt.Sprintf("MediaContentType%d", i)))
		if err != nil {
			lines = append(lines, fmt.Sprintf("[Attachment %d could not be downloaded: %v]", i+1, err))
			continue
		}
		msg.Uploads = append(msg.Uploads, up)
	}
	if msg.Text != "" {
		lines = append([]string{msg.Text}, lines...)
	}
	msg.Text = strings.Join(lines, "\n")
	return app.Incoming{Messages: []app.InboundMessage{msg}, ContentType: "text/xml", Body: emptyTwiML}, nil
}

// numMedia reads NumMedia: Twilio sends at most ten.
func numMedia(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > app.MaxAttachments {
		return 0, fmt.Errorf("NumMedia %q", s)
	}
	return n, nil
}

// location describes a shared WhatsApp location, which has no Body.
func location(p url.Values) string {
	lat, lon := p.Get("Latitude"), p.Get("Longitude")
	if lat == "" || lon == "" {
		return ""
	}
	desc := strings.TrimSpace(p.Get("Label") + " " + p.Get("Address"))
	if desc != "" {
		desc += " "
	}
	return fmt.Sprintf("Location: %s(%s, %s)", desc, lat, lon)
}

// Twilio's opt-out keywords (SMS STOP filtering, and REVOKE and OPTOUT
// since 2023) and opt-in keywords, matched against the whole trimmed body.
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	startWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
	// Twilio filters keywords only on SMS. On WhatsApp "Cancel", "End" or
	// "Yes" are ordinary answers, so only the unambiguous words count.
	whatsappStopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "REVOKE": true, "OPTOUT": true}
	whatsappStartWords = map[string]bool{"START": true, "UNSTOP": true}
)

// optOut reads Advanced Opt-Out's OptOutType when Twilio classified the
// message, else the default keywords.
func optOut(t app.ChannelType, p url.Values) app.OptOutChange {
	if p.Has("OptOutType") {
		switch strings.ToUpper(strings.TrimSpace(p.Get("OptOutType"))) {
		case "STOP":
			return app.OptOutStop
		case "START":
			return app.OptOutStart
		}
		return "" // HELP
	}
	word := strings.ToUpper(strings.TrimSpace(p.Get("Body")))
	stop, start := stopWords, startWords
	if t == app.ChannelTwilioWhatsApp {
		stop, start = whatsappStopWords, whatsappStartWords
	}
	switch {
	case stop[word]:
		return app.OptOutStop
	case start[word]:
		return app.OptOutStart
	}
	return ""
}

// fetchMedia downloads one MediaUrl with the account's credentials. The
// URL must be on Twilio's API host; its redirect may go to the CDN.
func (c *typeDriver) fetchMedia(ctx context.Context, acc account, raw, contentType string) (app.Upload, error) {
	sources := append(slices.Clone(mediaSourceHosts), channel.HostOf(acc.base))
	u, err := url.Parse(raw)
	if raw == "" || err != nil || !(channel.Fetcher{Hosts: sources}).Allowed(u) {
		return app.Upload{}, fmt.Errorf("the media URL %q is not on Twilio's API host", raw)
	}
	f := channel.Fetcher{Client: c.client, Hosts: append(sources, mediaRedirectHosts...)}
	up, err := f.Fetch(ctx, raw, func(r *http.Request) { r.SetBasicAuth(acc.sid, acc.token) })
	if err != nil {
		return app.Upload{}, err
	}
	if path.Ext(up.Filename) == "" {
		up.Filename += extension(contentType)
	}
	return up, nil
}

// extension names a file of a media type Twilio reports; the bytes decide
// the type later.
func extension(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	if ext, ok := app.AttachmentTypes[mt]; ok {
		return ext
	}
	return map[string]string{"text/plain": ".txt", "text/vcard": ".vcf", "text/x-vcard": ".vcf", "audio/amr": ".amr",
		"audio/aac": ".aac", "audio/mp4": ".m4a", "video/3gpp": ".3gp", "image/jpg": ".jpg"}[mt]
}
