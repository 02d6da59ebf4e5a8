package meta

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"parley/app"
)

func TestWhatsAppReceive(t *testing.T) {
	t.Parallel()
	status := func(id string, s app.DeliveryStatus, at int64, reason string) app.StatusReport {
		return app.StatusReport{ChannelID: "ch-1", ProviderMessageID: id, Status: s, At: time.Unix(at, 0).UTC(), Reason: reason}
	}
	sent := "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
	sheena := app.ContactInput{Type: app.ContactWhatsApp, Value: "+16505551234"}
	pablo := app.ContactInput{Type: app.ContactWhatsApp, Value: "+12195555358"}
	msg := func(from app.ContactInput, name, id, text string) app.InboundMessage {
		return app.InboundMessage{ChannelID: "ch-1", From: from, Transport: app.TransportWhatsApp, SenderName: name,
			Text: text, ProviderMessageID: id, Direction: app.DirectionIn}
	}
	tests := []struct {
		file     string
		messages []app.InboundMessage
		statuses []app.StatusReport
	}{
		{"wa_text.json", []app.InboundMessage{msg(sheena, "Sheena Nelson",
			"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", "Does it come in another color?")}, nil},
		{"wa_status_sent.json", nil, []app.StatusReport{status(sent, app.StatusSent, 1750263773, "")}},
		{"wa_status_delivered.json", nil, []app.StatusReport{status(sent, app.StatusDelivered, 1750263773, "")}},
		{"wa_status_read.json", nil, []app.StatusReport{status(sent, app.StatusRead, 1750263773, "")}},
		{"wa_status_failed.json", nil, []app.StatusReport{status(sent, app.StatusFailed, 1750263773,
			"WhatsApp: Re-engagement message (131047): Message failed to send because more than 24 hours have passed since the customer last replied to this number.")}},
		{"wa_batch.json", []app.InboundMessage{
			msg(pablo, "Pablo Morales", "wamid.HBgLMTIxOTU1NTUzNTgVAgASGBQzQUJDMTIzNDU2Nzg5MEFCQ0RFRgA=",
				"Location: Main Street Beans 1 Hacker Way, Menlo Park, CA 94025\nhttps://www.google.com/maps/search/?api=1&query=37.483307,-122.148981"),
			msg(pablo, "Pablo Morales", "wamid.HBgLMTIxOTU1NTUzNTgVAgASGBQzQUJDMTIzNDU2Nzg5MEFCQ0RFSAA=", "Cancel"),
			msg(sheena, "Sheena Nelson", "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMQA=", "And one more thing"),
		}, []app.StatusReport{
			status("wamid.HBgLMTIxOTU1NTUzNTgVAgARGBJGRjE5NjcxQzk5MzJCOTI3MUEA", app.StatusDelivered, 1739321050, ""),
			status(sent, app.StatusRead, 1739321075, ""),
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			in, err := testDriver().WhatsApp().Receive(context.Background(), testChannel(app.ChannelWhatsAppCloud, f.srv.URL),
				signed(readTestdata(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in.Messages, tt.messages) {
				t.Errorf("got messages %+v, want %+v", in.Messages, tt.messages)
			}
			if !reflect.DeepEqual(in.Statuses, tt.statuses) {
				t.Errorf("got statuses %+v, want %+v", in.Statuses, tt.statuses)
			}
			if len(f.requests()) != 0 {
				t.Errorf("got %d calls to Meta, want none", len(f.requests()))
			}
		})
	}
}

func TestWhatsAppReceiveMedia(t *testing.T) {
	t.Parallel()
	served := func(base string) string {
		return base + "/whatsapp_business/attachments/?mid=1003383421387256&ext=1744344796&hash=ATs"
	}
	foreign := func(string) string { return "https://attacker.example.com/steal?mid=1003383421387256" }
	tests := []struct {
		name     string
		mediaURL func(base string) string
		inHook   bool // the webhook carries the media URL (Meta's newer payloads)
		wantText string
		uploads  int
	}{
		{"OK", served, false, "This is the one I bought", 1},
		{"OKURLInWebhook", served, true, "This is the one I bought", 1},
		{"ErrForeignHost", foreign, false, "This is the one I bought\n[The image attachment could not be downloaded: " +
			"media URL \"https://attacker.example.com/steal?mid=1003383421387256\" is not on the provider's hosts]", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route("GET /"+GraphVersion+"/1003383421387256", jsonAnswer(http.StatusOK, `{"messaging_product":"whatsapp","url":"`+
				tt.mediaURL(f.srv.URL)+`","mime_type":"image/jpeg","sha256":"SfInY0","file_size":"303833","id":"1003383421387256"}`))
			f.route("GET /whatsapp_business/attachments/", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+testToken {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.Header().Set("Content-Type", "image/jpeg")
				w.Write(jpegBytes)
			})
			body := readTestdata(t, "wa_image.json")
			if tt.inHook {
				body = []byte(strings.Replace(string(body), `"id": "1003383421387256"`,
					`"id": "1003383421387256", "url": "`+tt.mediaURL(f.srv.URL)+`"`, 1))
			}
			in, err := testDriver().WhatsApp().Receive(context.Background(), testChannel(app.ChannelWhatsAppCloud, f.srv.URL),
				signed(body))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Messages) != 1 {
				t.Fatalf("got %d messages, want 1", len(in.Messages))
			}
			m := in.Messages[0]
			if m.Text != tt.wantText || len(m.Uploads) != tt.uploads {
				t.Errorf("got text %q and %d uploads, want %q and %d", m.Text, len(m.Uploads), tt.wantText, tt.uploads)
			}
			if tt.uploads == 1 && (m.Uploads[0].Filename != "image.jpg" || string(m.Uploads[0].Data) != string(jpegBytes)) {
				t.Errorf("got upload %q of %d bytes, want image.jpg with the served bytes", m.Uploads[0].Filename, len(m.Uploads[0].Data))
			}
			lookups := 0
			for _, r := range f.requests() {
				if r.Path == "/"+GraphVersion+"/1003383421387256" {
					lookups++
					if r.RawQuery != "phone_number_id="+testPNID || r.Auth != "Bearer "+testToken {
						t.Errorf("got media lookup ?%s auth %q, want the phone number id and the bearer token", r.RawQuery, r.Auth)
					}
				}
			}
			if want := map[bool]int{false: 1, true: 0}[tt.inHook]; lookups != want {
				t.Errorf("got %d media lookups, want %d", lookups, want)
			}
		})
	}
}

func TestReceiveBadSignature(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "wa_text.json")
	good := sign(testSecret, body)
	tests := []struct {
		name, header string
	}{
		{"Missing", ""},
		{"WrongPrefix", "sha1=" + strings.TrimPrefix(good, "sha256=")},
		{"NoPrefix", strings.TrimPrefix(good, "sha256=")},
		{"Truncated", good[:len(good)-2]},
		{"OtherSecret", sign("another app secret", body)},
		{"NotHex", "sha256=" + strings.Repeat("zz", 32)},
		{"Padded", good + "00"},
	}
	for _, tt := range tests {
		for _, d := range []app.WebhookDriver{testDriver().WhatsApp(), testDriver().Instagram()} {
			t.Run(tt.name+"/"+string(d.Spec().Type), func(t *testing.T) {
				t.Parallel()
				req := signed(body)
				req.Header.Set(signatureHeader, tt.header)
				_, err := d.Receive(context.Background(), testChannel(d.Spec().Type, "http://127.0.0.1:1"), req)
				if !errors.Is(err, app.ErrBadSignature) {
					t.Errorf("got %v, want ErrBadSignature", err)
				}
			})
		}
	}
}

func TestReceiveBadSignatureNoSecret(t *testing.T) {
	t.Parallel()
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	ch := testChannel(app.ChannelWhatsAppCloud, "http://127.0.0.1:1")
	delete(ch.Secrets, keyAppSecret)
	req := signed(body)
	req.Header.Set(signatureHeader, sign("", body))
	if _, err := testDriver().WhatsApp().Receive(context.Background(), ch, req); !errors.Is(err, app.ErrBadSignature) {
		t.Errorf("got %v, want ErrBadSignature", err)
	}
}

// TestCheckSignatureKnownAnswer uses the X-Hub-Signature-256 example of
// GitHub's webhook documentation, the same HMAC-SHA256 scheme as Meta's.
func TestCheckSignatureKnownAnswer(t *testing.T) {
	t.Parallel()
	err := checkSignature("It's a Secret to Everybody",
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", []byte("Hello, World!"))
	if err != nil {
		t.Errorf("got %v, want nil", err)
	}
}

func TestReceiveMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"NotJSON", `{"object":"whatsapp_business_account","entry":[`},
		{"WrongObject", `{"object":"page","entry":[]}`},
		{"WrongTypes", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":"x"}}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := testDriver().WhatsApp().Receive(context.Background(),
				testChannel(app.ChannelWhatsAppCloud, "http://127.0.0.1:1"), signed([]byte(tt.body)))
			var ae *app.Error
			if !errors.As(err, &ae) || ae.Code != app.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	q := func(mode, token, challenge string) map[string][]string {
		return map[string][]string{"hub.mode": {mode}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
	}
	tests := []struct {
		name   string
		query  map[string][]string
		noTok  bool
		want   string
		denied bool
	}{
		{"OK", q("subscribe", testVerify, "1158201444"), false, "1158201444", false},
		{"ErrWrongToken", q("subscribe", "guess", "1158201444"), false, "", true},
		{"ErrWrongMode", q("unsubscribe", testVerify, "1158201444"), false, "", true},
		{"ErrNoChallenge", q("subscribe", testVerify, ""), false, "", true},
		{"ErrScriptChallenge", q("subscribe", testVerify, "<script>alert(1)</script>"), false, "", true},
		{"ErrNothing", map[string][]string{}, false, "", true},
		{"ErrNoTokenConfigured", q("subscribe", "", "1158201444"), true, "", true},
	}
	for _, tt := range tests {
		for _, d := range []app.WebhookDriver{testDriver().WhatsApp(), testDriver().Instagram()} {
			t.Run(tt.name+"/"+string(d.Spec().Type), func(t *testing.T) {
				t.Parallel()
				ch := testChannel(d.Spec().Type, "http://127.0.0.1:1")
				if tt.noTok {
					delete(ch.Secrets, keyVerifyToken)
				}
				got, err := d.(app.WebhookHandshaker).Handshake(ch, tt.query)
				if got != tt.want || errors.Is(err, app.ErrBadSignature) != tt.denied {
					t.Errorf("got %q, %v, want %q (denied %v)", got, err, tt.want, tt.denied)
				}
			})
		}
	}
}
