package app

import (
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ChatStatus is where a conversation stands for the team.
type ChatStatus string

// Chat statuses. A snoozed chat wakes (becomes open) at its snooze time, and
// any new inbound message reopens a snoozed or resolved chat.
const (
	ChatOpen     ChatStatus = "open"
	ChatSnoozed  ChatStatus = "snoozed"
	ChatResolved ChatStatus = "resolved"
)

// ChatStatuses lists the statuses in the order filters offer them.
var ChatStatuses = []ChatStatus{ChatOpen, ChatSnoozed, ChatResolved}

// Label is the status as shown to people.
func (s ChatStatus) Label() string {
	switch s {
	case ChatOpen:
		return "Open"
	case ChatSnoozed:
		return "Snoozed"
	case ChatResolved:
		return "Resolved"
	}
	return string(s)
}

// Chat is the one conversation a workspace has with a client, across every
// transport. Its client never changes; merging two clients folds the other
// client's chat into this one.
type Chat struct {
	ID            string     `json:"id"`
	ClientID      string     `json:"client_id"`
	ClientName    string     `json:"client_name"`
	Status        ChatStatus `json:"status"`
	SnoozedUntil  *time.Time `json:"snoozed_until"`
	AssigneeID    string     `json:"assignee_id"`
	AssigneeName  string     `json:"assignee_name"`
	UnreadCount   int        `json:"unread_count"`
	MessageCount  int        `json:"message_count"`
	LastMessageAt time.Time  `json:"last_message_at"`
	// LastTransport is the transport of the latest message; the list shows it.
	LastTransport Transport `json:"last_transport"`
	// LastPreview is the start of the latest message's text.
	LastPreview string `json:"last_preview"`
	// ReplyContactID is the contact the client last wrote from: the
	// composer's default.
	ReplyContactID string    `json:"reply_contact_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// Transport is how a message travels: the client's contact type, or the
// website, or a phone call.
type Transport string

// Transports.
const (
	TransportEmail     Transport = "email"
	TransportSMS       Transport = "sms"
	TransportWhatsApp  Transport = "whatsapp"
	TransportTelegram  Transport = "telegram"
	TransportInstagram Transport = "instagram"
	TransportWebsite   Transport = "website"
	TransportPhone     Transport = "phone"
	// TransportInternal marks internal notes and system lines: never sent.
	TransportInternal Transport = "internal"
)

// Transports lists the transports a message can travel over, as filters offer them.
var Transports = []Transport{TransportEmail, TransportSMS, TransportWhatsApp, TransportTelegram,
	TransportInstagram, TransportWebsite, TransportPhone}

// Label is the transport's name as shown to people.
func (t Transport) Label() string {
	switch t {
	case TransportEmail:
		return "Email"
	case TransportSMS:
		return "SMS"
	case TransportWhatsApp:
		return "WhatsApp"
	case TransportTelegram:
		return "Telegram"
	case TransportInstagram:
		return "Instagram"
	case TransportWebsite:
		return "Website"
	case TransportPhone:
		return "Phone"
	case TransportInternal:
		return "Internal"
	}
	return string(t)
}

// ParseTransport checks a transport named in a filter or request.
func ParseTransport(field, s string) (Transport, error) {
	for _, t := range Transports {
		if string(t) == s {
			return t, nil
		}
	}
	return "", InvalidField(field, "Choose one of email, sms, whatsapp, telegram, instagram, website or phone.")
}

// TransportFor returns the transport a message to contact type t travels
// over, or "" when nothing can be sent to it (a contact of type other).
func TransportFor(t ContactType) Transport {
	switch t {
	case ContactEmail:
		return TransportEmail
	case ContactPhone:
		return TransportSMS
	case ContactWhatsApp:
		return TransportWhatsApp
	case ContactTelegram:
		return TransportTelegram
	case ContactInstagram:
		return TransportInstagram
	case ContactWebsite:
		return TransportWebsite
	}
	return ""
}

// MessageKind separates what is sent or received from what stays inside the team.
type MessageKind string

// Message kinds.
const (
	KindMessage MessageKind = "message" // to or from the client
	KindNote    MessageKind = "note"    // internal note: the team only, never sent
	KindSystem  MessageKind = "system"  // a line Parley writes (assigned, resolved, merged)
)

// Direction says whether a message came from the client or went to them.
type Direction string

// Directions.
const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// DeliveryStatus is where an outbound message is on its way to the client.
// It only moves forward: queued -> sent -> delivered -> read, or failed.
// Inbound messages and notes are "received".
type DeliveryStatus string

// Delivery statuses.
const (
	StatusQueued    DeliveryStatus = "queued"
	StatusSent      DeliveryStatus = "sent"
	StatusDelivered DeliveryStatus = "delivered"
	StatusRead      DeliveryStatus = "read"
	StatusFailed    DeliveryStatus = "failed"
	StatusReceived  DeliveryStatus = "received"
)

// rank orders the forward path; failed ends it from queued or sent only.
func (s DeliveryStatus) rank() int {
	switch s {
	case StatusQueued:
		return 1
	case StatusSent:
		return 2
	case StatusDelivered:
		return 3
	case StatusRead:
		return 4
	}
	return 0
}

// Advances reports whether a message in status s may move to next. Reports
// arrive out of order (a "read" before its "delivered"); a later status wins
// and an earlier one is ignored. A message the provider took cannot fail
// after it was delivered.
func (s DeliveryStatus) Advances(next DeliveryStatus) bool {
	if next == StatusFailed {
		return s == StatusQueued || s == StatusSent
	}
	return s.rank() > 0 && next.rank() > s.rank()
}

// Sender types: who wrote a message.
const (
	SenderUser     = "user"
	SenderClient   = "client"
	SenderSystem   = "system"
	SenderExternal = "external" // someone writing over a transport who is not (yet) known as the client
	SenderService  = "service"  // an integration acting through an API token
)

// Sender is who wrote a message; Meta keeps transport-specific details
// (a Telegram user id, an email display name) apart from the shared fields.
type Sender struct {
	Type string            `json:"type"`
	ID   string            `json:"id,omitempty"`
	Name string            `json:"name"`
	Meta map[string]string `json:"meta,omitempty"`
}

// Message is one immutable line of a chat. Only its delivery fields change.
type Message struct {
	ID                string         `json:"id"`
	ChatID            string         `json:"chat_id"`
	Kind              MessageKind    `json:"kind"`
	Direction         Direction      `json:"direction"`
	Transport         Transport      `json:"transport"`
	ChannelID         string         `json:"channel_id,omitempty"`
	ContactID         string         `json:"contact_id,omitempty"`
	ContactValue      string         `json:"contact_value,omitempty"`
	Sender            Sender         `json:"sender"`
	Text              string         `json:"text"`
	TemplateID        string         `json:"template_id,omitempty"`
	Marketing         bool           `json:"marketing"`
	Mentions          []string       `json:"mentions,omitempty"`
	Status            DeliveryStatus `json:"status"`
	FailureReason     string         `json:"failure_reason,omitempty"`
	ProviderMessageID string         `json:"provider_message_id,omitempty"`
	// Subject is an email's subject; HasHTML says the email had an HTML
	// part, kept sanitised and shown apart from the text.
	Subject string `json:"subject,omitempty"`
	HasHTML bool   `json:"has_html,omitempty"`
	// Meta holds the provider's details worth showing: a call's duration
	// and recording link, an email's Message-ID.
	Meta        map[string]string `json:"meta,omitempty"`
	Attachments []Attachment      `json:"attachments"`
	CreatedAt   time.Time         `json:"created_at"`
	SentAt      *time.Time        `json:"sent_at"`
	DeliveredAt *time.Time        `json:"delivered_at"`
	ReadAt      *time.Time        `json:"read_at"`
	// SendAttempts counts calls to the provider; the worker asks the
	// provider before trying again after an attempt whose outcome is unknown.
	SendAttempts int `json:"-"`
}

// Retryable reports whether the team may send a failed message again.
func (m *Message) Retryable() bool {
	return m.Kind == KindMessage && m.Direction == DirectionOut && m.Status == StatusFailed
}

// Attachment is a file sent with a message, stored under the tenant's data
// directory and served only to the tenant's signed-in team.
type Attachment struct {
	ID          string `json:"id"`
	MessageID   string `json:"-"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// IsImage reports whether the attachment can be shown inline.
func (a Attachment) IsImage() bool { return strings.HasPrefix(a.ContentType, "image/") }

// Limits of messages and attachments.
const (
	MaxMessageText     = 10000
	MaxAttachments     = 10
	MaxAttachmentBytes = 10 << 20
)

// AttachmentTypes are the content types accepted, as sniffed from the bytes
// (never from the name or the sender's claim). Nothing a browser would run
// (HTML, SVG, scripts) is on the list.
var AttachmentTypes = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"application/pdf": ".pdf", "text/plain; charset=utf-8": ".txt", "application/zip": ".zip",
	"audio/mpeg": ".mp3", "audio/ogg": ".ogg", "video/mp4": ".mp4", "audio/wave": ".wav",
}

// Upload is an attachment's bytes before they are stored.
type Upload struct {
	Filename    string
	ContentType string // sniffed by CheckUpload
	Data        []byte
}

// SendInput is a message the team writes: to the client (Note false) or an
// internal note.
type SendInput struct {
	Text       string `json:"text"`
	ContactID  string `json:"contact_id"`
	TemplateID string `json:"template_id"`
	Marketing  bool   `json:"marketing"`
	// ChannelID picks the channel to send through; empty sends through the
	// one the contact last wrote in on (or the workspace's default).
	ChannelID string `json:"channel_id"`
	// Subject is an email's subject; empty answers the last one ("Re: …").
	Subject string   `json:"subject"`
	Note    bool     `json:"-"`
	Uploads []Upload `json:"-"`
}

// Normalize trims the text and checks its size.
func (in *SendInput) Normalize() error {
	in.Text = strings.TrimSpace(strings.ReplaceAll(in.Text, "\r\n", "\n"))
	in.ContactID, in.TemplateID = strings.TrimSpace(in.ContactID), strings.TrimSpace(in.TemplateID)
	in.ChannelID, in.Subject = strings.TrimSpace(in.ChannelID), strings.Join(strings.Fields(in.Subject), " ")
	if utf8.RuneCountInString(in.Subject) > 200 {
		return InvalidField("subject", "Keep the subject under 200 characters.")
	}
	switch {
	case in.Text == "" && len(in.Uploads) == 0:
		return InvalidField("text", "Write a message or attach a file.")
	case utf8.RuneCountInString(in.Text) > MaxMessageText:
		return InvalidField("text", "Keep a message under 10,000 characters.")
	case hasControl(in.Text, true):
		return InvalidField("text", "The message contains characters that cannot be sent.")
	case len(in.Uploads) > MaxAttachments:
		return InvalidField("attachments", "Attach up to 10 files to one message.")
	case in.Note && len(in.Uploads) > 0:
		return InvalidField("attachments", "Internal notes cannot carry files.")
	}
	return nil
}

// mentionPattern finds @mentions: an @ at a word start followed by a name
// of letters, digits, dots, dashes and underscores.
var mentionPattern = regexp.MustCompile(`(?:^|[\s(])@([\p{L}\p{N}._-]+)`)

// MentionHandles returns the handles @mentioned in text, lower-cased, once each.
func MentionHandles(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range mentionPattern.FindAllStringSubmatch(text, -1) {
		h := strings.ToLower(strings.TrimRight(m[1], "._-"))
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// MentionHandle is the handle a user is @mentioned by: the part of their
// email address before the @, lower-cased.
func MentionHandle(u *User) string {
	h, _, _ := strings.Cut(strings.ToLower(u.Email), "@")
	return h
}

// InboundMessage is a message a provider received from someone, on its way
// into the shared inbound path.
type InboundMessage struct {
	ChannelID string
	// From is the sender's address on the transport, normalised by the
	// inbound path (an email, a phone number, a handle).
	From              ContactInput
	Transport         Transport
	SenderName        string
	SenderMeta        map[string]string
	Text              string
	ProviderMessageID string
	Uploads           []Upload
	// Direction is DirectionIn unless the provider logged something the
	// business did (an outgoing call).
	Direction Direction
	// Automatic marks an auto-reply (out of office): it is kept in the chat
	// but does not count as unread, notify anyone or reopen the chat.
	Automatic bool
	// OptOut is the client's keyword on this contact: "stop" blocks sending
	// to it, "start" lifts the block.
	OptOut OptOutChange
	// Email: the subject, the sanitised HTML part, and the threading hints
	// tried in order: Parley's reply token, then the Message-IDs answered.
	Subject    string
	HTML       string
	ReplyToken string
	References []string
	// Meta holds details worth keeping with the message (a call's duration
	// and recording link, the email's Message-ID).
	Meta map[string]string
}

// OptOutChange is a client's request to stop or restart messages on one
// contact (SMS STOP and START).
type OptOutChange string

// Opt-out keywords.
const (
	OptOutStop  OptOutChange = "stop"
	OptOutStart OptOutChange = "start"
)

// StatusReport is a provider's word on an outbound message's delivery.
type StatusReport struct {
	ChannelID         string
	ProviderMessageID string
	Status            DeliveryStatus
	Reason            string
	At                time.Time
}

// ChatFilter narrows the chat list. Nil fields do not filter.
type ChatFilter struct {
	Status     *ChatStatus
	AssigneeID *string // "" means unassigned
	Unread     bool
	Transport  *Transport
	ClientID   *string
	Limit      int
	Cursor     string
}

// ChatScope is what a user may see: every chat, or only those assigned to
// them, unassigned ones and those of clients they own.
type ChatScope struct {
	All    bool
	UserID string
}

// ScopeFor returns the chats user may see.
func ScopeFor(role Role, userID string) ChatScope {
	return ChatScope{All: role.Can(PermViewAllConversations), UserID: userID}
}

// ChatPage is one page of the chat list.
type ChatPage struct {
	Chats      []Chat
	NextCursor string
}

// ChatUpdate changes a chat's assignee or status.
type ChatUpdate struct {
	AssigneeID   *string     `json:"assignee_id"` // "" unassigns
	Status       *ChatStatus `json:"status"`
	SnoozedUntil *time.Time  `json:"snoozed_until"`
}

// Event types of conversations.
const (
	EventChatStarted       = "ChatStarted"
	EventChatAssigned      = "ChatAssigned"
	EventChatStatusChanged = "ChatStatusChanged"
	EventChatRead          = "ChatRead"
	EventChatMerged        = "ChatMerged"
	EventMessageQueued     = "MessageQueued"
	EventMessageReceived   = "MessageReceived"
	EventMessageStatus     = "MessageStatusChanged"
	EventNotePosted        = "ChatNotePosted"
	EventChannelConnected  = "ChannelConnected"
	EventChannelChanged    = "ChannelChanged"
	// EventContactOptOut records a client's STOP or START on one contact.
	EventContactOptOut = "ContactOptOutChanged"
	// EventConsentChanged records a consent's move (purpose, channel,
	// state, source).
	EventConsentChanged = "ConsentChanged"
	// EventRetentionSwept records what a retention sweep removed (counts).
	EventRetentionSwept = "RetentionSwept"
	// EventLegalHoldChanged records a client put on or taken off legal hold.
	EventLegalHoldChanged = "LegalHoldChanged"
	// Subject access exports: requested, and each download (who, when).
	EventExportRequested  = "ClientExportRequested"
	EventExportDownloaded = "ClientExportDownloaded"
	// Erasure: EventClientErasureStarted records the request (who asked,
	// when; the job erases in the background), EventClientErased the
	// erasure done: counts of what went, never what it said.
	EventClientErasureStarted = "ClientErasureStarted"
	EventClientErased         = "ClientErased"
)

// MessageSearchHit is a message matching a search, with its text marked.
type MessageSearchHit struct {
	Message    Message
	ClientName string
	Snippet    string // text with \x01…\x02 around each match, see SplitMarks
}

// CheckUpload sniffs an upload's type from its bytes and checks it against
// AttachmentTypes and the size limit; it also cleans the file name.
func CheckUpload(u *Upload, field string) error {
	if len(u.Data) == 0 {
		return InvalidField(field, "The file “"+u.Filename+"” is empty.")
	}
	if len(u.Data) > MaxAttachmentBytes {
		return InvalidField(field, "The file “"+u.Filename+"” is larger than 10 MB.")
	}
	ct := http.DetectContentType(u.Data)
	ext, ok := AttachmentTypes[ct]
	if !ok {
		return InvalidField(field, "Files of this type cannot be attached: send images, PDFs, text, audio, video or ZIP archives.")
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, path.Base(strings.ReplaceAll(u.Filename, `\`, "/")))
	if name == "" || name == "." || name == "/" {
		name = "attachment" + ext
	}
	if utf8.RuneCountInString(name) > 120 {
		name = string([]rune(name)[:100]) + ext
	}
	u.Filename, u.ContentType = name, ct
	return nil
}
