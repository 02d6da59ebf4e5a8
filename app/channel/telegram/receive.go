package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"parley/app"
	"parley/app/channel"
)

// SecretHeader carries the webhook's secret_token on every update Telegram
// posts; it is the only proof that an update is Telegram's.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token" // #nosec G101 -- a header name, not a credential

// secretPattern is what setWebhook accepts as secret_token.
var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// handlePattern is a telegram contact value as app.ContactInput accepts it.
var handlePattern = regexp.MustCompile(`^[a-z0-9_.]{1,64}$`)

// maxLabel is the longest contact label app.ContactInput accepts, in
// characters.
const maxLabel = 40

// maxDownload is the largest file downloaded: the Bot API serves bots
// files of up to 20 MB, and Parley keeps files of up to channel.MaxMedia.
const maxDownload = min(20<<20, channel.MaxMedia)

// update is the part of a Bot API Update that Parley reads.
type update struct {
	UpdateID *int64   `json:"update_id"`
	Message  *message `json:"message"`
}

// message is the part of a Bot API Message that Parley reads.
type message struct {
	MessageID    int64      `json:"message_id"`
	From         *user      `json:"from"`
	Chat         chat       `json:"chat"`
	Text         string     `json:"text"`
	Caption      string     `json:"caption"`
	MediaGroupID string     `json:"media_group_id"`
	Photo        []fileInfo `json:"photo"`
	Document     *fileInfo  `json:"document"`
	Video        *fileInfo  `json:"video"`
	VideoNote    *fileInfo  `json:"video_note"`
	Audio        *fileInfo  `json:"audio"`
	Voice        *fileInfo  `json:"voice"`
	Sticker      *sticker   `json:"sticker"`
	Location     *location  `json:"location"`
	Venue        *struct {
		Location location `json:"location"`
		Title    string   `json:"title"`
		Address  string   `json:"address"`
	} `json:"venue"`
	Contact *struct {
		PhoneNumber string `json:"phone_number"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
	} `json:"contact"`
	Poll *struct {
		Question string `json:"question"`
	} `json:"poll"`
	Dice *struct {
		Emoji string `json:"emoji"`
		Value int    `json:"value"`
	} `json:"dice"`
}

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

// fileInfo holds the fields PhotoSize, Document, Video, VideoNote, Audio,
// Voice and Sticker share.
type fileInfo struct {
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size"`
	FileName string `json:"file_name"`
	Width    int64  `json:"width"`
	Height   int64  `json:"height"`
}

type sticker struct {
	fileInfo
	Emoji      string `json:"emoji"`
	IsAnimated bool   `json:"is_animated"`
	IsVideo    bool   `json:"is_video"`
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// media is the one file a message carries, to download.
type media struct {
	kind string // "photo", "voice message"…, as the text names it
	info fileInfo
}

// label names the file in a note: its kind, and its name when it has one.
func (m media) label() string {
	if m.info.FileName != "" {
		return m.kind + " “" + m.info.FileName + "”"
	}
	return m.kind
}

// Receive checks the secret token, parses the update and, for a message
// from a private chat, downloads its file. Other updates (edits, groups,
// channels) give nothing.
func (d *Driver) Receive(ctx context.Context, ch app.Channel, req app.WebhookRequest) (app.Incoming, error) {
	if !validSecret(req.Header, ch.Secrets[app.WebhookSecretKey]) {
		return app.Incoming{}, app.ErrBadSignature
	}
	u, err := parseUpdate(req.Body)
	if err != nil {
		return app.Incoming{}, err
	}
	in, file, ok := inbound(ch, u)
	if !ok {
		return app.Incoming{}, nil
	}
	if file != nil {
		up, err := d.download(ctx, ch, *file)
		if err != nil {
			in.Text = addLine(in.Text, fmt.Sprintf("[The %s could not be downloaded: %v]", file.label(), err))
		} else {
			in.Uploads = []app.Upload{up}
		}
	}
	return app.Incoming{Messages: []app.InboundMessage{in}}, nil
}

// validSecret reports whether the request carries exactly the channel's
// secret, compared in constant time. Without a secret nothing is valid.
func validSecret(h http.Header, secret string) bool {
	got := h.Values(SecretHeader)
	return secret != "" && len(got) == 1 && subtle.ConstantTimeCompare([]byte(got[0]), []byte(secret)) == 1
}

// parseUpdate decodes an Update; a message from a private chat must name
// its sender, since replies go to them.
func parseUpdate(body []byte) (update, error) {
	var u update
	if err := json.Unmarshal(body, &u); err != nil || u.UpdateID == nil {
		return update{}, app.Errorf(app.EINVALID, "The request is not a Telegram update.")
	}
	if m := u.Message; m != nil && m.Chat.Type == "private" && (m.From == nil || m.From.ID <= 0 || m.Chat.ID == 0) {
		return update{}, app.Errorf(app.EINVALID, "The Telegram message does not say who sent it.")
	}
	return u, nil
}

// inbound turns an update into the message it carries and the file to
// download; ok is false for updates Parley does not take.
func inbound(ch app.Channel, u update) (in app.InboundMessage, file *media, ok bool) {
	m := u.Message
	if m == nil || m.Chat.Type != "private" || m.From == nil || m.From.IsBot {
		return app.InboundMessage{}, nil, false
	}
	in = app.InboundMessage{
		ChannelID:         ch.ID,
		Transport:         app.TransportTelegram,
		Direction:         app.DirectionIn,
		From:              contactOf(m.From),
		SenderName:        strings.TrimSpace(m.From.FirstName + " " + m.From.LastName),
		SenderMeta:        senderMeta(m),
		Text:              m.Text,
		ProviderMessageID: strconv.FormatInt(*u.UpdateID, 10),
		Meta:              map[string]string{"message_id": strconv.FormatInt(m.MessageID, 10)},
	}
	if in.Text == "" {
		in.Text = m.Caption
	}
	if m.MediaGroupID != "" {
		in.Meta["media_group_id"] = m.MediaGroupID
	}
	file, note := mediaOf(m)
	if file == nil && note == "" && in.Text == "" {
		note = describe(m)
	}
	in.Text = addLine(in.Text, note)
	return in, file, true
}

// contactOf is the client as a contact: keyed on their numeric user id,
// which Telegram never changes or gives to anyone else, and labelled with
// their @user name for the team to read. The user name is not the key: its
// owner can change it, and someone else can then claim it, so keying on it
// would put a stranger in the first client's chat.
func contactOf(u *user) app.ContactInput {
	return app.ContactInput{Type: app.ContactTelegram, Value: strconv.FormatInt(u.ID, 10), Label: usernameLabel(u.Username)}
}

// usernameLabel is "@"+username, or "" when there is none or it would not
// be a valid label (too long, or with control characters); a cut user
// name would name someone else, so it is dropped rather than truncated.
func usernameLabel(username string) string {
	name := strings.TrimPrefix(strings.TrimSpace(username), "@")
	if name == "" || strings.ContainsFunc(name, unicode.IsControl) {
		return ""
	}
	label := "@" + name
	if utf8.RuneCountInString(label) > maxLabel {
		return ""
	}
	return label
}

// senderMeta keeps the chat to answer in (address) and who the client is
// on Telegram.
func senderMeta(m *message) map[string]string {
	meta := map[string]string{
		"address": strconv.FormatInt(m.Chat.ID, 10),
		"user_id": strconv.FormatInt(m.From.ID, 10),
	}
	if m.From.Username != "" {
		meta["username"] = m.From.Username
	}
	return meta
}

// mediaOf returns the message's file to download, or a note instead when
// it is not taken (an animated sticker, a file over the limit).
func mediaOf(m *message) (*media, string) {
	if s := m.Sticker; s != nil && (s.IsAnimated || s.IsVideo) {
		return nil, strings.TrimSpace("[animated sticker " + s.Emoji + "]")
	}
	f := pickMedia(m)
	if f != nil && f.info.FileSize > maxDownload {
		return nil, fmt.Sprintf("[The client sent a %s of %s, over the %s limit; it was not downloaded.]",
			f.label(), humanSize(f.info.FileSize), humanSize(maxDownload))
	}
	return f, ""
}

func pickMedia(m *message) *media {
	switch {
	case len(m.Photo) > 0:
		return &media{kind: "photo", info: largest(m.Photo)}
	case m.Document != nil: // also set for animations (GIFs)
		return &media{kind: "file", info: *m.Document}
	case m.Video != nil:
		return &media{kind: "video", info: *m.Video}
	case m.VideoNote != nil:
		return &media{kind: "video message", info: *m.VideoNote}
	case m.Audio != nil:
		return &media{kind: "audio file", info: *m.Audio}
	case m.Voice != nil:
		return &media{kind: "voice message", info: *m.Voice}
	case m.Sticker != nil:
		return &media{kind: "sticker", info: m.Sticker.fileInfo}
	}
	return nil
}

// largest picks the biggest of a photo's sizes.
func largest(sizes []fileInfo) fileInfo {
	best := sizes[0]
	for _, s := range sizes[1:] {
		if s.Width*s.Height > best.Width*best.Height ||
			(s.Width*s.Height == best.Width*best.Height && s.FileSize > best.FileSize) {
			best = s
		}
	}
	return best
}

// describe words a message with neither text nor file, so that it is
// kept rather than lost.
func describe(m *message) string {
	switch {
	case m.Venue != nil:
		v := m.Venue
		return fmt.Sprintf("[venue: %s, %s (%s, %s)]", v.Title, v.Address, coord(v.Location.Latitude), coord(v.Location.Longitude))
	case m.Location != nil:
		return fmt.Sprintf("[location %s, %s]", coord(m.Location.Latitude), coord(m.Location.Longitude))
	case m.Contact != nil:
		c := m.Contact
		return fmt.Sprintf("[contact: %s, %s]", strings.TrimSpace(c.FirstName+" "+c.LastName), c.PhoneNumber)
	case m.Poll != nil:
		return "[poll: " + m.Poll.Question + "]"
	case m.Dice != nil:
		return fmt.Sprintf("[dice %s %d]", m.Dice.Emoji, m.Dice.Value)
	}
	return "[a Telegram message Parley cannot show]"
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// humanSize writes a byte count in MB with at most one decimal.
func humanSize(n int64) string {
	return strconv.FormatFloat(math.Floor(float64(n)/(1<<20)*10)/10, 'f', -1, 64) + " MB"
}

// addLine appends line to text on a line of its own.
func addLine(text, line string) string {
	switch {
	case line == "":
		return text
	case text == "":
		return line
	}
	return text + "\n" + line
}

// download asks getFile where the file is and fetches it from the Bot API
// server's file endpoint, only from Telegram's host (or the channel's own
// Bot API server). Errors never contain the bot token.
func (d *Driver) download(ctx context.Context, ch app.Channel, m media) (app.Upload, error) {
	var f struct {
		FileSize int64  `json:"file_size"`
		FilePath string `json:"file_path"`
	}
	req := struct {
		FileID string `json:"file_id"`
	}{m.info.FileID}
	if err := d.call(ctx, ch, "getFile", jsonBody(req), &f); err != nil {
		return app.Upload{}, err
	}
	if f.FileSize > maxDownload {
		return app.Upload{}, fmt.Errorf("it is %s, over the %s limit", humanSize(f.FileSize), humanSize(maxDownload))
	}
	p, ok := filePath(f.FilePath)
	if !ok {
		return app.Upload{}, errors.New("Telegram gave no usable file path")
	}
	token := ch.Setting(KeyBotToken)
	fetch := channel.Fetcher{Client: d.client, Hosts: mediaHosts(ch)}
	up, err := fetch.Fetch(ctx, baseURL(ch)+"/file/bot"+token+"/"+p, nil)
	if err != nil {
		return app.Upload{}, redact(err, token)
	}
	if m.info.FileName != "" {
		up.Filename = m.info.FileName
	}
	return up, nil
}

// filePath escapes getFile's relative file_path ("photos/file_0.jpg") for a
// URL; an absolute path (a local Bot API server's) or one climbing up is
// refused.
func filePath(p string) (string, bool) {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", false
		}
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/"), true
}

// mediaHosts are the hosts media may come from.
func mediaHosts(ch app.Channel) []string {
	hosts := []string{apiHost}
	if b := ch.Setting(KeyBaseURL); b != "" {
		if h := channel.HostOf(b); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}
