package meta

import (
	"context"
	"errors"
	"net/url"

	"parley/app"
	"parley/app/channel"
)

// instagram is the driver of Instagram channels, through the Messenger
// Platform's Instagram messaging (a Facebook page linked to the
// Instagram professional account, and the page's access token).
type instagram struct{ d *Driver }

// Instagram's limits: a text message is at most 1000 bytes of UTF-8; an
// image sent as such at most 8 MB.
const (
	igMaxText  = 1000
	igMaxImage = 8 << 20
)

func (instagram) Spec() app.ChannelSpec {
	return app.ChannelSpec{
		Type:  app.ChannelInstagram,
		Label: "Instagram",
		Help: "Link the Instagram professional account to a Facebook page, then in Meta's App Dashboard get a page access " +
			"token with instagram_manage_messages and the page's ID; App settings > Basic shows the app secret. In Webhooks, " +
			"choose Instagram, enter this channel's webhook URL and the same verify token, and subscribe to messages.",
		Fields: []app.SettingField{
			{Key: keyAccessToken, Label: "Page access token", Kind: "password", Required: true, Secret: true,
				Help: "A token of the Facebook page linked to the Instagram account, with instagram_manage_messages."},
			{Key: keyPageID, Label: "Facebook page ID", Kind: "text", Required: true,
				Help: "The ID (digits) of the Facebook page linked to the Instagram account."},
			{Key: keyAppSecret, Label: "App secret", Kind: "password", Required: true, Secret: true,
				Help: "Proves that webhook calls come from Meta."},
			{Key: keyVerifyToken, Label: "Verify token", Kind: "password", Required: true, Secret: true,
				Help: "Any string you choose; type the same in Meta's webhook form."},
		},
		Webhook: true,
		// Meta allows 300 calls a second per Instagram account for text and
		// 10 for audio or video; Parley does not tell them apart, so it keeps
		// to the lower one.
		SendRate:  10,
		SendBurst: 10,
	}
}

func (instagram) Validate(settings map[string]string) error {
	return validate(settings, []rule{
		{keyAccessToken, "Enter the page access token.", checkToken},
		{keyPageID, "Enter the Facebook page ID.", checkDigits},
		{keyAppSecret, "Enter the app secret.", checkToken},
		{keyVerifyToken, "Enter a verify token.", checkToken},
	})
}

// Check reads the page and whether an Instagram account is linked to it.
func (i instagram) Check(ctx context.Context, ch app.Channel) (string, error) {
	g := i.d.graph(ch)
	var page struct {
		Name    string `json:"name"`
		Account *struct {
			ID string `json:"id"`
		} `json:"instagram_business_account"`
	}
	q := url.Values{"fields": {"name,instagram_business_account"}}
	if err := g.get(ctx, g.url(q, ch.Setting(keyPageID)), &page); err != nil {
		return "", checkError("Instagram", err)
	}
	if page.Account == nil || page.Account.ID == "" {
		return "", app.Errorf(app.EINVALID, "The Facebook page %s has no Instagram professional account linked to it (or the token cannot see it).", page.Name)
	}
	return "Instagram via page " + page.Name, nil
}

// Lookup is unsupported: the Send API cannot find a message by Parley's key.
func (instagram) Lookup(context.Context, app.Outbound) (string, bool, error) {
	return "", false, app.ErrLookupUnsupported
}

func (instagram) Handshake(ch app.Channel, query map[string][]string) (string, error) {
	return handshake(ch, query)
}

// igOut is a Send API request.
type igOut struct {
	Recipient igID      `json:"recipient"`
	Message   igMessage `json:"message"`
}

type igID struct {
	ID string `json:"id"`
}

type igMessage struct {
	Text       string        `json:"text,omitempty"`
	Attachment *igAttachment `json:"attachment,omitempty"`
}

type igAttachment struct {
	Type    string    `json:"type"`
	Payload igPayload `json:"payload"`
}

type igPayload struct {
	URL string `json:"url"`
}

// Send sends the text (in pieces of Instagram's size) then each
// attachment, which Instagram fetches from a signed, expiring link to
// Parley. It returns the first message's id.
func (i instagram) Send(ctx context.Context, out app.Outbound) (string, error) {
	to := igRecipient(out)
	if to == "" {
		return "", &app.SendError{Permanent: true, Reason: "Instagram: Parley does not know this client's Instagram id yet; " +
			"Instagram only lets a business message people who wrote to it first, so the client must message the account."}
	}
	var msgs []igMessage
	for _, part := range split(out.Text, igMaxText, true) {
		msgs = append(msgs, igMessage{Text: part})
	}
	for _, att := range out.Attachments {
		if out.Channel.Setting(channel.WebhookURLKey) == "" {
			return "", &app.SendError{Permanent: true, Reason: "Instagram: the channel has no public URL to serve attachments from."}
		}
		msgs = append(msgs, igMessage{Attachment: &igAttachment{Type: igKind(att),
			Payload: igPayload{URL: channel.MediaURL(out.Channel, att, i.d.now())}}})
	}
	if len(msgs) == 0 {
		return "", &app.SendError{Reason: "Instagram: the message has no text and no attachment.", Permanent: true}
	}
	g := i.d.graph(out.Channel)
	var first string
	for _, m := range msgs {
		var resp struct {
			MessageID string `json:"message_id"`
		}
		err := g.postJSON(ctx, g.url(nil, out.Channel.Setting(keyPageID), "messages"), igOut{Recipient: igID{to}, Message: m}, &resp)
		if err != nil {
			return "", sendError("Instagram", err)
		}
		if resp.MessageID == "" {
			return "", errors.New("instagram: the answer to a send has no message_id")
		}
		if first == "" {
			first = resp.MessageID
		}
	}
	return first, nil
}

// igRecipient is the client's Instagram-scoped id: the address an inbound
// message gave, or the contact's value when it is one (digits).
func igRecipient(out app.Outbound) string {
	if out.Address != "" {
		return out.Address
	}
	if digitsPattern.MatchString(out.To) {
		return out.To
	}
	return ""
}

// igKind is the Send API attachment type for a file: the formats Meta
// lists for images (PNG, JPEG up to 8 MB), video (MP4) and audio (WAV
// among Parley's types); anything else goes as a file.
func igKind(att app.Attachment) string {
	switch baseType(att.ContentType) {
	case "image/png", "image/jpeg":
		if att.Size <= igMaxImage {
			return "image"
		}
	case "video/mp4":
		return "video"
	case "audio/wave":
		return "audio"
	}
	return "file"
}
