package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/app"
)

// waPayload is a WhatsApp Business Account webhook: each change's value
// carries messages from clients and statuses of the business's messages
// for one business phone number.
type waPayload struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string  `json:"field"`
			Value waValue `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type waValue struct {
	Metadata struct {
		PhoneNumberID string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []waMessage `json:"messages"`
	Statuses []waStatus  `json:"statuses"`
}

type waMessage struct {
	ID      string `json:"id"`
	From    string `json:"from"`
	GroupID string `json:"group_id"`
	Type    string `json:"type"`
	Text    struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *waMediaIn  `json:"image"`
	Video    *waMediaIn  `json:"video"`
	Audio    *waMediaIn  `json:"audio"`
	Document *waMediaIn  `json:"document"`
	Sticker  *waMediaIn  `json:"sticker"`
	Location *waLocation `json:"location"`
	Contacts []waCard    `json:"contacts"`
	Button   struct {
		Text string `json:"text"`
	} `json:"button"`
	Interactive struct {
		ButtonReply struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Errors []waError `json:"errors"`
}

type waMediaIn struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type waLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
}

type waCard struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
	} `json:"phones"`
}

type waStatus struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Timestamp string    `json:"timestamp"`
	Errors    []waError `json:"errors"`
}

type waError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// Receive verifies the signature, parses the messages and statuses for
// this channel's phone number, and downloads their media.
func (w whatsApp) Receive(ctx context.Context, ch app.Channel, req app.WebhookRequest) (app.Incoming, error) {
	if err := checkSignature(ch.Setting(keyAppSecret), req.Header.Get(signatureHeader), req.Body); err != nil {
		return app.Incoming{}, err
	}
	msgs, statuses, err := parseWhatsApp(req.Body, ch.ID, ch.Setting(keyPhoneNumberID), w.d.now())
	if err != nil {
		return app.Incoming{}, err
	}
	in := app.Incoming{Statuses: statuses}
	for _, p := range msgs {
		for _, m := range p.media {
			w.download(ctx, ch, &p, m)
		}
		in.Messages = append(in.Messages, p.msg)
	}
	return in, nil
}

// parseWhatsApp reads a webhook body. Changes for another phone number
// (one app may serve several) and events Parley does not keep (group
// chats, reactions, system notices) are left out.
func parseWhatsApp(body []byte, channelID, phoneNumberID string, now time.Time) ([]pending, []app.StatusReport, error) {
	var p waPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil, app.Errorf(app.EINVALID, "The WhatsApp webhook is not valid JSON: %v", err)
	}
	if p.Object != "whatsapp_business_account" {
		return nil, nil, app.Errorf(app.EINVALID, "The webhook is not a WhatsApp one (object %q).", p.Object)
	}
	var msgs []pending
	var statuses []app.StatusReport
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" || c.Value.Metadata.PhoneNumberID != phoneNumberID {
				continue
			}
			for _, m := range c.Value.Messages {
				if pm, ok := waInbound(c.Value, m, channelID); ok {
					msgs = append(msgs, pm)
				}
			}
			for _, s := range c.Value.Statuses {
				if r, ok := waReport(s, channelID, now); ok {
					statuses = append(statuses, r)
				}
			}
		}
	}
	return msgs, statuses, nil
}

// waInbound maps one client message. The contact is the sender's number;
// when WhatsApp's id for them differs, replies go to that id.
func waInbound(v waValue, m waMessage, channelID string) (pending, bool) {
	if m.ID == "" || m.From == "" || m.GroupID != "" {
		return pending{}, false
	}
	p := pending{msg: app.InboundMessage{ChannelID: channelID, Transport: app.TransportWhatsApp,
		From: app.ContactInput{Type: app.ContactWhatsApp, Value: "+" + m.From}, ProviderMessageID: m.ID,
		Direction: app.DirectionIn}}
	for _, c := range v.Contacts {
		if c.WaID == m.From || len(v.Contacts) == 1 {
			p.msg.SenderName = c.Profile.Name
			if c.WaID != "" && c.WaID != m.From {
				p.msg.SenderMeta = map[string]string{"address": c.WaID}
			}
			break
		}
	}
	text, media, ok := waContent(m)
	if !ok {
		return pending{}, false
	}
	p.msg.Text = text
	if media != nil {
		p.media = append(p.media, *media)
	}
	return p, true
}

// waContent is a message's text and media by type; ok is false for the
// types Parley leaves out.
func waContent(m waMessage) (string, *mediaRef, bool) {
	media := map[string]*waMediaIn{"image": m.Image, "video": m.Video, "audio": m.Audio,
		"document": m.Document, "sticker": m.Sticker}
	if in, isMedia := media[m.Type]; isMedia {
		if in == nil {
			return fmt.Sprintf("[A WhatsApp %s without its media]", m.Type), nil, true
		}
		return in.Caption, &mediaRef{kind: m.Type, id: in.ID, url: in.URL, mimeType: in.MimeType, filename: in.Filename}, true
	}
	switch m.Type {
	case "text":
		return m.Text.Body, nil, true
	case "location":
		return waLocationText(m.Location), nil, true
	case "contacts":
		return waCardsText(m.Contacts), nil, true
	case "button":
		return m.Button.Text, nil, true
	case "interactive":
		r := m.Interactive
		return strings.TrimSpace(r.ButtonReply.Title + r.ListReply.Title + "\n" + r.ListReply.Description), nil, true
	case "reaction", "system", "request_welcome":
		return "", nil, false
	}
	text := fmt.Sprintf("[A WhatsApp message of type %q that Parley cannot show]", m.Type)
	if len(m.Errors) > 0 && m.Errors[0].ErrorData.Details != "" {
		text += " " + m.Errors[0].ErrorData.Details
	}
	return text, nil, true
}

func waLocationText(l *waLocation) string {
	if l == nil {
		return "[A location]"
	}
	lines := []string{"Location: " + strings.TrimSpace(l.Name+" "+l.Address)}
	lines = append(lines, fmt.Sprintf("https://www.google.com/maps/search/?api=1&query=%g,%g", l.Latitude, l.Longitude))
	return strings.Join(lines, "\n")
}

func waCardsText(cards []waCard) string {
	var lines []string
	for _, c := range cards {
		line := "Contact: " + c.Name.FormattedName
		for _, ph := range c.Phones {
			line += " " + ph.Phone
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "[A contact card]"
	}
	return strings.Join(lines, "\n")
}

// waReport maps a status; WhatsApp's other statuses (deleted, warning)
// are not deliveries.
func waReport(s waStatus, channelID string, now time.Time) (app.StatusReport, bool) {
	st := map[string]app.DeliveryStatus{"sent": app.StatusSent, "delivered": app.StatusDelivered,
		"read": app.StatusRead, "failed": app.StatusFailed}[s.Status]
	if st == "" || s.ID == "" {
		return app.StatusReport{}, false
	}
	r := app.StatusReport{ChannelID: channelID, ProviderMessageID: s.ID, Status: st, At: unixTime(s.Timestamp, now)}
	if st == app.StatusFailed {
		r.Reason = "WhatsApp: the message could not be delivered."
		if len(s.Errors) > 0 {
			r.Reason = waErrorText(s.Errors[0])
		}
	}
	return r, true
}

func waErrorText(e waError) string {
	title := e.Title
	if title == "" {
		title = e.Message
	}
	text := fmt.Sprintf("WhatsApp: %s (%d)", title, e.Code)
	if d := e.ErrorData.Details; d != "" && d != title {
		text += ": " + d
	}
	return text
}

// download fetches one WhatsApp media file: by the URL the webhook gives
// (Meta adds it since late 2025) or else by asking the Graph API for it,
// with the channel's token either way. A failure becomes a line of text.
func (w whatsApp) download(ctx context.Context, ch app.Channel, p *pending, m mediaRef) {
	g := w.d.graph(ch)
	link := m.url
	if link == "" {
		if !digitsPattern.MatchString(m.id) {
			p.addLine(failedLine(m.kind, fmt.Errorf("the media id %q is not Meta's", m.id)))
			return
		}
		var info struct {
			URL string `json:"url"`
		}
		q := url.Values{"phone_number_id": {ch.Setting(keyPhoneNumberID)}}
		if err := g.get(ctx, g.url(q, m.id), &info); err != nil {
			p.addLine(failedLine(m.kind, err))
			return
		}
		link = info.URL
	}
	f := w.d.fetcher(ch, "lookaside.fbsbx.com", ".fbcdn.net")
	up, err := f.Fetch(ctx, link, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+g.token) })
	if err != nil {
		p.addLine(failedLine(m.kind, err))
		return
	}
	up.Filename = uploadName(m.filename, m.kind, up.Data)
	p.msg.Uploads = append(p.msg.Uploads, up)
}
