package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"parley/app"
)

// igWebhook is an Instagram messaging webhook: entry[].messaging[] events.
type igWebhook struct {
	Object string `json:"object"`
	Entry  []struct {
		ID        string    `json:"id"`
		Messaging []igEvent `json:"messaging"`
	} `json:"entry"`
}

type igEvent struct {
	Sender    igID         `json:"sender"`
	Recipient igID         `json:"recipient"`
	Timestamp int64        `json:"timestamp"`
	Message   *igMessageIn `json:"message"`
	Read      *struct {
		MID string `json:"mid"`
	} `json:"read"`
	Postback *struct {
		MID   string `json:"mid"`
		Title string `json:"title"`
	} `json:"postback"`
}

type igMessageIn struct {
	MID           string `json:"mid"`
	Text          string `json:"text"`
	IsEcho        bool   `json:"is_echo"`
	IsDeleted     bool   `json:"is_deleted"`
	IsUnsupported bool   `json:"is_unsupported"`
	Attachments   []struct {
		Type    string `json:"type"`
		Payload struct {
			URL   string `json:"url"`
			Title string `json:"title"`
		} `json:"payload"`
	} `json:"attachments"`
}

// handlePattern is app's rule for instagram user names (and contact values).
var handlePattern = regexp.MustCompile(`^[a-z0-9_.]{1,64}$`)

// maxLabel is the longest contact label app accepts, in characters.
const maxLabel = 40

// Receive verifies the signature, parses the messages (and read receipts),
// names each sender (and labels their contact with their @username) when
// Meta's profile lookup gives it, and downloads their media from Meta's CDN.
// The contact itself is always the sender's Instagram-scoped id.
func (i instagram) Receive(ctx context.Context, ch app.Channel, req app.WebhookRequest) (app.Incoming, error) {
	if err := checkSignature(ch.Setting(keyAppSecret), req.Header.Get(signatureHeader), req.Body); err != nil {
		return app.Incoming{}, err
	}
	msgs, statuses, err := parseInstagram(req.Body, ch.ID, i.d.now())
	if err != nil {
		return app.Incoming{}, err
	}
	in := app.Incoming{Statuses: statuses}
	profiles := map[string]igProfile{}
	f := i.d.fetcher(ch, "lookaside.fbsbx.com", ".fbcdn.net", ".cdninstagram.com")
	for _, p := range msgs {
		igsid := p.msg.SenderMeta["address"]
		prof, ok := profiles[igsid]
		if !ok {
			prof = i.profile(ctx, ch, igsid)
			profiles[igsid] = prof
		}
		prof.apply(&p.msg)
		for _, m := range p.media {
			if m.label != "" {
				p.addLine(m.label)
			}
			up, err := f.Fetch(ctx, m.url, nil) // signed CDN links: no token
			if err != nil {
				p.addLine(failedLine(m.kind, err))
				continue
			}
			up.Filename = uploadName("", m.kind, up.Data)
			p.msg.Uploads = append(p.msg.Uploads, up)
		}
		in.Messages = append(in.Messages, p.msg)
	}
	return in, nil
}

// parseInstagram reads a webhook body. Echoes of the account's own
// messages, deleted messages, reactions and other events are left out;
// a read receipt naming a message becomes a read status.
func parseInstagram(body []byte, channelID string, now time.Time) ([]pending, []app.StatusReport, error) {
	var w igWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, nil, app.Errorf(app.EINVALID, "The Instagram webhook is not valid JSON: %v", err)
	}
	if w.Object != "instagram" {
		return nil, nil, app.Errorf(app.EINVALID, "The webhook is not an Instagram one (object %q).", w.Object)
	}
	var msgs []pending
	var statuses []app.StatusReport
	for _, e := range w.Entry {
		for _, ev := range e.Messaging {
			if ev.Read != nil && ev.Read.MID != "" {
				statuses = append(statuses, app.StatusReport{ChannelID: channelID, ProviderMessageID: ev.Read.MID,
					Status: app.StatusRead, At: milliTime(ev.Timestamp, now)})
			}
			if p, ok := igInbound(ev, channelID); ok {
				msgs = append(msgs, p)
			}
		}
	}
	return msgs, statuses, nil
}

// igInbound maps a message (or a tap on an icebreaker or button, which the
// client sees as their message) from a client. The contact is keyed on the
// sender's Instagram-scoped id (IGSID), never their username: a username
// can be changed and then taken by someone else, who would otherwise land
// in the first client's chat, while the IGSID stays that person's for this
// account. An event whose sender id is not an IGSID (digits) is left out.
func igInbound(ev igEvent, channelID string) (pending, bool) {
	igsid := ev.Sender.ID
	if !digitsPattern.MatchString(igsid) {
		return pending{}, false
	}
	p := pending{msg: app.InboundMessage{ChannelID: channelID, Transport: app.TransportInstagram,
		From:       app.ContactInput{Type: app.ContactInstagram, Value: igsid},
		SenderMeta: map[string]string{"address": igsid}, Direction: app.DirectionIn}}
	switch m := ev.Message; {
	case m != nil && m.MID != "" && !m.IsEcho && !m.IsDeleted:
		p.msg.ProviderMessageID, p.msg.Text = m.MID, m.Text
		if m.IsUnsupported {
			p.addLine("[A kind of Instagram message that Meta does not pass on to apps]")
		}
		for _, a := range m.Attachments {
			igAttachmentIn(&p, a.Type, a.Payload.URL, a.Payload.Title)
		}
	case ev.Postback != nil && ev.Postback.MID != "":
		p.msg.ProviderMessageID, p.msg.Text = ev.Postback.MID, ev.Postback.Title
	default:
		return pending{}, false
	}
	return p, true
}

// igAttachmentIn queues an attachment's download, with a line saying what
// a shared post, reel or story mention is.
func igAttachmentIn(p *pending, kind, link, title string) {
	labels := map[string]string{"share": "Shared a post", "ig_post": "Shared a post", "ig_reel": "Shared a reel",
		"reel": "Shared a reel", "story_mention": "Mentioned the account in their story"}
	label, known := labels[kind]
	switch kind {
	case "image", "video", "audio", "file":
		known = true
	}
	if !known || link == "" {
		p.addLine(fmt.Sprintf("[An Instagram %s attachment that Parley cannot show]", kind))
		return
	}
	if label != "" && title != "" {
		label += ": " + title
	}
	p.media = append(p.media, mediaRef{kind: kind, url: link, label: label})
}

// igProfile is what the User Profile API says of a client.
type igProfile struct {
	Name     string `json:"name"`
	Username string `json:"username"`
}

// profile asks Meta for the sender's name and username (allowed once they
// have messaged the account), for display only. Failing that, the message
// is the same but for the name and label: the contact is the IGSID either
// way.
func (i instagram) profile(ctx context.Context, ch app.Channel, igsid string) igProfile {
	var p igProfile
	if !digitsPattern.MatchString(igsid) {
		return p
	}
	g := i.d.graph(ch)
	if err := g.get(ctx, g.url(url.Values{"fields": {"name,username"}}, igsid), &p); err != nil {
		return igProfile{}
	}
	return p
}

// apply shows the profile: the username as the contact's label (what the
// team knows the client by) and in SenderMeta, the name as the sender's
// name. The contact's value stays the IGSID, and replies go to it.
func (p igProfile) apply(m *app.InboundMessage) {
	if u := strings.ToLower(strings.TrimPrefix(p.Username, "@")); handlePattern.MatchString(u) {
		m.SenderMeta["username"] = u
		if len("@"+u) <= maxLabel { // the pattern keeps it ASCII: bytes are characters
			m.From.Label = "@" + u
		}
	}
	m.SenderName = strings.TrimSpace(p.Name)
	if m.SenderName == "" {
		m.SenderName = m.SenderMeta["username"]
	}
}
