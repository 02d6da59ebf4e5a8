package meta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strings"

	"parley/app"
)

// whatsApp is the WhatsApp Cloud API channel driver.
type whatsApp struct{ d *Driver }

// WhatsApp's limits: a text body, a media caption, an image sent as such.
const (
	waMaxText    = 4096
	waMaxCaption = 1024
	waMaxImage   = 5 << 20
)

func (whatsApp) Spec() app.ChannelSpec {
	return app.ChannelSpec{
		Type:  app.ChannelWhatsAppCloud,
		Label: "WhatsApp (Cloud API)",
		Help: "In Meta's App Dashboard, WhatsApp > API Setup shows the phone number ID (use a system user's permanent token " +
			"with whatsapp_business_messaging); App settings > Basic shows the app secret. In WhatsApp > Configuration, enter " +
			"this channel's webhook URL and the same verify token, then subscribe to the messages field.",
		Fields: []app.SettingField{
			{Key: keyAccessToken, Label: "Access token", Kind: "password", Required: true, Secret: true,
				Help: "A system user's permanent token with the whatsapp_business_messaging permission."},
			{Key: keyPhoneNumberID, Label: "Phone number ID", Kind: "text", Required: true,
				Help: "The ID of the business phone number (digits), not the number itself."},
			{Key: keyAppSecret, Label: "App secret", Kind: "password", Required: true, Secret: true,
				Help: "Proves that webhook calls come from Meta."},
			{Key: keyVerifyToken, Label: "Verify token", Kind: "password", Required: true, Secret: true,
				Help: "Any string you choose; type the same in Meta's webhook form."},
		},
		Webhook: true,
		// The Cloud API's default throughput is 80 messages a second per
		// business phone number.
		SendRate:  80,
		SendBurst: 80,
	}
}

func (whatsApp) Validate(settings map[string]string) error {
	return validate(settings, []rule{
		{keyAccessToken, "Enter the access token.", checkToken},
		{keyPhoneNumberID, "Enter the phone number ID.", checkDigits},
		{keyAppSecret, "Enter the app secret.", checkToken},
		{keyVerifyToken, "Enter a verify token.", checkToken},
	})
}

// Check reads the phone number the channel sends from.
func (w whatsApp) Check(ctx context.Context, ch app.Channel) (string, error) {
	g := w.d.graph(ch)
	var phone struct {
		Display  string `json:"display_phone_number"`
		Verified string `json:"verified_name"`
	}
	q := url.Values{"fields": {"display_phone_number,verified_name"}}
	if err := g.get(ctx, g.url(q, ch.Setting(keyPhoneNumberID)), &phone); err != nil {
		return "", checkError("WhatsApp", err)
	}
	display := phone.Display
	if display != "" && !strings.HasPrefix(display, "+") {
		display = "+" + display
	}
	return fmt.Sprintf("WhatsApp %s (%s)", display, phone.Verified), nil
}

// Lookup is unsupported: the Cloud API cannot find a message by Parley's key.
func (whatsApp) Lookup(context.Context, app.Outbound) (string, bool, error) {
	return "", false, app.ErrLookupUnsupported
}

func (whatsApp) Handshake(ch app.Channel, query map[string][]string) (string, error) {
	return handshake(ch, query)
}

// waOut is a Cloud API message, fields in the order Meta documents them.
type waOut struct {
	MessagingProduct string   `json:"messaging_product"`
	RecipientType    string   `json:"recipient_type"`
	To               string   `json:"to"`
	Type             string   `json:"type"`
	Text             *waText  `json:"text,omitempty"`
	Image            *waMedia `json:"image,omitempty"`
	Audio            *waMedia `json:"audio,omitempty"`
	Video            *waMedia `json:"video,omitempty"`
	Document         *waMedia `json:"document,omitempty"`
}

type waText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type waMedia struct {
	ID       string `json:"id"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// uploaded is an attachment Meta holds, ready to be sent by id.
type uploaded struct {
	kind  string
	media waMedia
}

// Send uploads the attachments first (invisible to the client, so a
// failure there sends nothing), then sends the text and each attachment,
// the text as the first attachment's caption when it fits. It returns the
// first message's id (wamid).
func (w whatsApp) Send(ctx context.Context, out app.Outbound) (string, error) {
	to := waRecipient(out)
	if to == "" {
		return "", &app.SendError{Reason: "WhatsApp: the client has no phone number to send to.", Permanent: true}
	}
	g := w.d.graph(out.Channel)
	pnid := out.Channel.Setting(keyPhoneNumberID)
	var media []uploaded
	for _, att := range out.Attachments {
		u, err := w.upload(ctx, g, pnid, out, att)
		if err != nil {
			return "", err
		}
		media = append(media, u)
	}
	msgs := waMessages(to, out.Text, media)
	if len(msgs) == 0 {
		return "", &app.SendError{Reason: "WhatsApp: the message has no text and no attachment.", Permanent: true}
	}
	var first string
	for _, m := range msgs {
		var resp struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
		}
		if err := g.postJSON(ctx, g.url(nil, pnid, "messages"), m, &resp); err != nil {
			return "", sendError("WhatsApp", err)
		}
		if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
			return "", errors.New("whatsapp: the answer to a send has no message id")
		}
		if first == "" {
			first = resp.Messages[0].ID
		}
	}
	return first, nil
}

// waRecipient is the number to send to: digits of the E.164 number (or
// of the WhatsApp id an inbound message gave), without the "+".
func waRecipient(out app.Outbound) string {
	v := out.Address
	if v == "" {
		v = out.To
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, v)
}

// waMessages builds the messages to send, in order.
func waMessages(to, text string, media []uploaded) []waOut {
	base := waOut{MessagingProduct: "whatsapp", RecipientType: "individual", To: to}
	var msgs []waOut
	if len(media) > 0 && media[0].kind != "audio" && text != "" && len([]rune(text)) <= waMaxCaption {
		media[0].media.Caption, text = text, ""
	}
	for _, part := range split(text, waMaxText, false) {
		m := base
		m.Type, m.Text = "text", &waText{Body: part}
		msgs = append(msgs, m)
	}
	for _, u := range media {
		m := base
		m.Type = u.kind
		ref := u.media
		switch u.kind {
		case "image":
			m.Image = &ref
		case "video":
			m.Video = &ref
		case "audio":
			m.Audio = &ref
		default:
			m.Document = &ref
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// waKind is how WhatsApp shows an attachment: images (up to 5 MB) and
// videos inline, MP3 as audio, the rest as documents (OGG audio must be
// Opus for WhatsApp's audio type, which the bytes do not say).
func waKind(contentType string, size int) string {
	switch baseType(contentType) {
	case "image/jpeg", "image/png":
		if size <= waMaxImage {
			return "image"
		}
	case "video/mp4":
		return "video"
	case "audio/mpeg":
		return "audio"
	}
	return "document"
}

// upload posts one attachment to /{phone_number_id}/media as multipart
// form data and returns its media id.
func (w whatsApp) upload(ctx context.Context, g graph, pnid string, out app.Outbound, att app.Attachment) (uploaded, error) {
	if out.Open == nil {
		return uploaded{}, errors.New("whatsapp: no way to open attachments")
	}
	data, err := out.Open(att)
	if err != nil {
		return uploaded{}, fmt.Errorf("open attachment %s: %w", att.ID, err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("messaging_product", "whatsapp") // writes to a buffer cannot fail
	_ = mw.WriteField("type", baseType(att.ContentType))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", att.Filename))
	h.Set("Content-Type", baseType(att.ContentType))
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(data)
	_ = mw.Close()
	var resp struct {
		ID string `json:"id"`
	}
	if err := g.post(ctx, g.url(nil, pnid, "media"), mw.FormDataContentType(), body.Bytes(), &resp); err != nil {
		return uploaded{}, sendError("WhatsApp", err)
	}
	if resp.ID == "" {
		return uploaded{}, errors.New("whatsapp: the answer to a media upload has no id")
	}
	u := uploaded{kind: waKind(att.ContentType, len(data)), media: waMedia{ID: resp.ID}}
	if u.kind == "document" {
		u.media.Filename = att.Filename
	}
	return u, nil
}
