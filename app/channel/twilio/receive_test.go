package twilio_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"parley/app"
	"parley/app/channel/twilio"
)

const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

func TestReceiveSamples(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	apiPrefix := f.URL + "/2010-04-01/Accounts/" + testSID
	tests := []struct {
		name, file string
		typ        app.ChannelType
		messages   []app.InboundMessage
		statuses   []app.StatusReport
		answer     bool // TwiML expected
	}{
		{name: "InboundSMS", file: "inbound_sms.txt", typ: app.ChannelTwilioSMS, answer: true,
			messages: []app.InboundMessage{{ChannelID: "ch1", Transport: app.TransportSMS, Direction: app.DirectionIn,
				From: app.ContactInput{Type: app.ContactPhone, Value: "+14155550123"}, Text: "Hi! Is my order on its way?",
				ProviderMessageID: "SM1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c"}}},
		{name: "StatusSent", file: "status_sent.txt", typ: app.ChannelTwilioSMS, answer: true,
			statuses: []app.StatusReport{{ChannelID: "ch1", ProviderMessageID: "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
				Status: app.StatusSent, At: testNow}}},
		{name: "StatusDelivered", file: "status_delivered.txt", typ: app.ChannelTwilioSMS, answer: true,
			statuses: []app.StatusReport{{ChannelID: "ch1", ProviderMessageID: "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
				Status: app.StatusDelivered, At: testNow}}},
		{name: "StatusRead", file: "status_read.txt", typ: app.ChannelTwilioWhatsApp, answer: true,
			statuses: []app.StatusReport{{ChannelID: "ch1", ProviderMessageID: "SM4d5e6f708192a3b4c5d6e7f8091a2b3c",
				Status: app.StatusRead, At: testNow}}},
		{name: "StatusUndelivered", file: "status_undelivered.txt", typ: app.ChannelTwilioSMS, answer: true,
			statuses: []app.StatusReport{{ChannelID: "ch1", ProviderMessageID: "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
				Status: app.StatusFailed, At: testNow,
				Reason: "Twilio 30003: unreachable destination handset (switched off or out of coverage)"}}},
		{name: "CallCompletedInbound", file: "call_completed_inbound.txt", typ: app.ChannelTwilioVoice,
			messages: []app.InboundMessage{{ChannelID: "ch1", Transport: app.TransportPhone, Direction: app.DirectionIn,
				From: app.ContactInput{Type: app.ContactPhone, Value: "+14155550123"}, Text: "Incoming call, 3 min 12 s",
				ProviderMessageID: "CA5e6f708192a3b4c5d6e7f8091a2b3c4d",
				Meta: map[string]string{"call_sid": "CA5e6f708192a3b4c5d6e7f8091a2b3c4d", "call_status": "completed",
					"duration": "192", "direction": "inbound", "from": "+14155550123", "to": ourNumber, "recording_url": ""}}}},
		{name: "CallNoAnswerOutbound", file: "call_no_answer_outbound.txt", typ: app.ChannelTwilioVoice,
			messages: []app.InboundMessage{{ChannelID: "ch1", Transport: app.TransportPhone, Direction: app.DirectionOut,
				From: app.ContactInput{Type: app.ContactPhone, Value: "+14155550123"}, Text: "Outgoing call, no answer",
				ProviderMessageID: "CA6f708192a3b4c5d6e7f8091a2b3c4d5e",
				Meta: map[string]string{"call_sid": "CA6f708192a3b4c5d6e7f8091a2b3c4d5e", "call_status": "no-answer",
					"duration": "0", "direction": "outbound-api", "from": ourNumber, "to": "+14155550123", "recording_url": ""}}}},
		{name: "CallRingingIgnored", file: "call_ringing.txt", typ: app.ChannelTwilioVoice},
		{name: "RecordingCompleted", file: "recording_completed.txt", typ: app.ChannelTwilioVoice,
			messages: []app.InboundMessage{{ChannelID: "ch1", Transport: app.TransportPhone, Direction: app.DirectionIn,
				From:              app.ContactInput{Type: app.ContactPhone, Value: "+14155550123"},
				Text:              "Call recording (187 s): " + apiPrefix + "/Recordings/RE708192a3b4c5d6e7f8091a2b3c4d5e6f.mp3",
				ProviderMessageID: "RE708192a3b4c5d6e7f8091a2b3c4d5e6f",
				Meta: map[string]string{"call_sid": "CA5e6f708192a3b4c5d6e7f8091a2b3c4d", "recording_sid": "RE708192a3b4c5d6e7f8091a2b3c4d5e6f",
					"recording_url": apiPrefix + "/Recordings/RE708192a3b4c5d6e7f8091a2b3c4d5e6f.mp3", "duration": "187",
					"direction": "inbound", "from": "+14155550123", "to": ourNumber}}}},
		{name: "CallOnSMSChannelIgnored", file: "call_completed_inbound.txt", typ: app.ChannelTwilioSMS},
		{name: "MessageOnVoiceChannelIgnored", file: "inbound_sms.txt", typ: app.ChannelTwilioVoice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := signed(testHook, sample(t, tt.file, f.URL))
			got, err := newDriver(f.Client()).For(tt.typ).Receive(context.Background(), testChannel(t, tt.typ, f.URL), req)
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			if !reflect.DeepEqual(got.Messages, tt.messages) {
				t.Errorf("got messages %+v, want %+v", got.Messages, tt.messages)
			}
			if !reflect.DeepEqual(got.Statuses, tt.statuses) {
				t.Errorf("got statuses %+v, want %+v", got.Statuses, tt.statuses)
			}
			if tt.answer && (got.ContentType != "text/xml" || got.Body != twiml) {
				t.Errorf("got answer %q %q, want empty TwiML", got.ContentType, got.Body)
			}
		})
	}
}

func TestReceiveWhatsAppMedia(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	req := signed(testHook, sample(t, "inbound_whatsapp_media.txt", f.URL))
	ch := testChannel(t, app.ChannelTwilioWhatsApp, f.URL)
	got, err := newDriver(f.Client()).For(app.ChannelTwilioWhatsApp).Receive(context.Background(), ch, req)
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive: got %+v, %v", got, err)
	}
	m := got.Messages[0]
	if m.From != (app.ContactInput{Type: app.ContactWhatsApp, Value: "+447700900123"}) || m.Transport != app.TransportWhatsApp ||
		m.SenderName != "Anna Schmidt" || m.SenderMeta["wa_id"] != "447700900123" || m.Text != "Here is the damaged box" ||
		m.ProviderMessageID != "MM2a3b4c5d6e7f8091a2b3c4d5e6f70819" {
		t.Errorf("got %+v, want Anna's WhatsApp message", m)
	}
	if len(m.Uploads) != 1 || !bytes.Equal(m.Uploads[0].Data, jpeg) || m.Uploads[0].Filename != "ME3c4d5e6f708192a3b4c5d6e7f8091a2.jpg" {
		t.Fatalf("got uploads %+v, want the photo", m.Uploads)
	}
	var media recorded
	for _, r := range f.requests() {
		if strings.Contains(r.Path, "/Media/") {
			media = r
		}
	}
	if !media.HasAuth || media.User != testSID || media.Pass != testToken {
		t.Errorf("got media request %+v, want basic auth with the account's credentials", media)
	}
}

func TestReceiveMediaRefused(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	mediaPath := "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/"
	tests := []struct{ name, mediaURL, want string }{
		{name: "ForeignHost", mediaURL: f.foreign.URL + "/photo.jpg",
			want: `[Attachment 1 could not be downloaded: the media URL "` + f.foreign.URL + `/photo.jpg" is not on Twilio's API host]`},
		{name: "RedirectToForeignHost", mediaURL: f.URL + mediaPath + "MEforeign", want: "is not on the provider's hosts"},
		{name: "Missing", mediaURL: "", want: `[Attachment 1 could not be downloaded: the media URL "" is not on Twilio's API host]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			form := url.Values{"MessageSid": {"MM1"}, "From": {"+14155550123"}, "To": {ourNumber}, "Body": {"Photo"},
				"NumMedia": {"1"}, "MediaContentType0": {"image/jpeg"}, "MediaUrl0": {tt.mediaURL}}
			req := signed(testHook, form.Encode())
			got, err := newDriver(f.Client()).For(app.ChannelTwilioSMS).Receive(context.Background(),
				testChannel(t, app.ChannelTwilioSMS, f.URL), req)
			if err != nil || len(got.Messages) != 1 {
				t.Fatalf("receive: got %+v, %v, want the message kept", got, err)
			}
			m := got.Messages[0]
			if len(m.Uploads) != 0 || !strings.HasPrefix(m.Text, "Photo\n[Attachment 1 could not be downloaded: ") ||
				!strings.Contains(m.Text, tt.want) {
				t.Errorf("got %q with %d uploads, want the text with a line containing %q", m.Text, len(m.Uploads), tt.want)
			}
		})
	}
}

func TestReceiveBadSignature(t *testing.T) {
	t.Parallel()
	body := sample(t, "inbound_sms.txt", "")
	good := signed(testHook, body)
	sig := good.Header.Get(twilio.SignatureHeader)
	with := func(change func(*app.WebhookRequest)) app.WebhookRequest {
		r := app.WebhookRequest{URL: good.URL, Header: good.Header.Clone(), Body: bytes.Clone(good.Body)}
		change(&r)
		return r
	}
	tests := []struct {
		name string
		req  app.WebhookRequest
	}{
		{"Missing", with(func(r *app.WebhookRequest) { r.Header.Del(twilio.SignatureHeader) })},
		{"Wrong", with(func(r *app.WebhookRequest) {
			r.Header.Set(twilio.SignatureHeader, sign("f"+testToken[1:], testHook, nil))
		})},
		{"Truncated", with(func(r *app.WebhookRequest) { r.Header.Set(twilio.SignatureHeader, sig[:len(sig)-2]) })},
		{"OtherURL", with(func(r *app.WebhookRequest) { r.URL = testHook + "?x=1" })},
		{"BodyChanged", with(func(r *app.WebhookRequest) { r.Body = bytes.Replace(r.Body, []byte("Hi"), []byte("Ho"), 1) })},
		{"ParamAdded", with(func(r *app.WebhookRequest) { r.Body = append(r.Body, "&Extra=1"...) })},
		{"BadJSONHash", app.WebhookRequest{URL: testHook + "?bodySHA256=00", Header: http.Header{
			twilio.SignatureHeader: {sign(testToken, testHook+"?bodySHA256=00", nil)}}, Body: []byte(`{}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newDriver(nil).For(app.ChannelTwilioSMS).Receive(context.Background(), testChannel(t, app.ChannelTwilioSMS, ""), tt.req)
			if !errors.Is(err, app.ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}
	t.Run("NoToken", func(t *testing.T) {
		t.Parallel()
		ch := testChannel(t, app.ChannelTwilioSMS, "")
		delete(ch.Secrets, twilio.KeyAuthToken)
		if _, err := newDriver(nil).For(app.ChannelTwilioSMS).Receive(context.Background(), ch, good); !errors.Is(err, app.ErrBadSignature) {
			t.Errorf("got %v, want ErrBadSignature", err)
		}
	})
}

// TestReceiveFixtureVector uses the known answer from Twilio's
// documentation: the signature passes, and the request (a <Gather>
// action, not a status callback) is refused as malformed, not forged.
func TestReceiveFixtureVector(t *testing.T) {
	t.Parallel()
	ch := testChannel(t, app.ChannelTwilioVoice, "")
	ch.Secrets[twilio.KeyAuthToken] = "12345"
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"}}
	req := app.WebhookRequest{URL: "https://mycompany.com/myapp.php?foo=1&bar=2",
		Header: http.Header{twilio.SignatureHeader: {"0/KCTR6DLpKmkAf8muzZqo1nDgQ="}}, Body: []byte(form.Encode())}
	_, err := newDriver(nil).For(app.ChannelTwilioVoice).Receive(context.Background(), ch, req)
	if app.ErrorCode(err) != app.EINVALID {
		t.Errorf("got %v, want EINVALID after a good signature", err)
	}
	req.URL = "https://mycompany.com:443/myapp.php?foo=1&bar=2" // Twilio signs either form
	if _, err := newDriver(nil).For(app.ChannelTwilioVoice).Receive(context.Background(), ch, req); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("with the default port: got %v, want EINVALID after a good signature", err)
	}
}

func TestReceiveMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  app.ChannelType
		body string
	}{
		{"BadEscape", app.ChannelTwilioSMS, "MessageSid=SM1&From=%2B14155550123&Body=%zz"},
		{"UnknownWebhook", app.ChannelTwilioSMS, "AccountSid=" + testSID + "&Foo=bar"},
		{"NoFrom", app.ChannelTwilioSMS, "MessageSid=SM1&Body=hi"},
		{"BadNumMedia", app.ChannelTwilioWhatsApp, "MessageSid=SM1&From=whatsapp%3A%2B14155550123&NumMedia=many"},
		{"TooManyMedia", app.ChannelTwilioSMS, "MessageSid=SM1&From=%2B14155550123&NumMedia=11"},
		{"BadCallDuration", app.ChannelTwilioVoice, "CallSid=CA1&CallStatus=completed&Direction=inbound&From=%2B14155550123&CallDuration=-3"},
		{"NoCallSid", app.ChannelTwilioVoice, "CallStatus=completed&Direction=inbound&From=%2B14155550123"},
		{"RecordingWithoutURL", app.ChannelTwilioVoice, "CallSid=CA1&RecordingSid=RE1&RecordingStatus=completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newDriver(nil).For(tt.typ).Receive(context.Background(), testChannel(t, tt.typ, ""), signed(testHook, tt.body))
			if app.ErrorCode(err) != app.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
}

func TestReceiveJSONBody(t *testing.T) {
	t.Parallel()
	body := []byte(`{"type":"com.twilio.messaging.message.delivered","data":{"messageSid":"SM1"}}`)
	sum := sha256.Sum256(body)
	u := testHook + "?bodySHA256=" + hex.EncodeToString(sum[:])
	req := app.WebhookRequest{URL: u, Header: http.Header{twilio.SignatureHeader: {sign(testToken, u, nil)}}, Body: body}
	d := newDriver(nil).For(app.ChannelTwilioSMS)
	got, err := d.Receive(context.Background(), testChannel(t, app.ChannelTwilioSMS, ""), req)
	if err != nil || len(got.Messages)+len(got.Statuses) != 0 {
		t.Errorf("got %+v, %v, want nothing to store", got, err)
	}
	req.Body = append(bytes.Clone(body), ' ')
	if _, err := d.Receive(context.Background(), testChannel(t, app.ChannelTwilioSMS, ""), req); !errors.Is(err, app.ErrBadSignature) {
		t.Errorf("changed body: got %v, want ErrBadSignature", err)
	}
}

func TestReceiveGETWebhook(t *testing.T) {
	t.Parallel()
	u := testHook + "?" + url.Values{"MessageSid": {"SM2"}, "From": {"+14155550123"}, "Body": {"via GET"}}.Encode()
	req := app.WebhookRequest{URL: u, Header: http.Header{twilio.SignatureHeader: {sign(testToken, u, nil)}}}
	got, err := newDriver(nil).For(app.ChannelTwilioSMS).Receive(context.Background(), testChannel(t, app.ChannelTwilioSMS, ""), req)
	if err != nil || len(got.Messages) != 1 || got.Messages[0].Text != "via GET" || got.Messages[0].ProviderMessageID != "SM2" {
		t.Errorf("got %+v, %v, want the message from the query", got, err)
	}
}

func TestReceiveOptOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ              app.ChannelType
		body, optOutType string
		want             app.OptOutChange
	}{
		{app.ChannelTwilioSMS, "STOP", "", app.OptOutStop},
		{app.ChannelTwilioSMS, "  stop\n", "", app.OptOutStop},
		{app.ChannelTwilioSMS, "Cancel", "", app.OptOutStop},
		{app.ChannelTwilioSMS, "revoke", "", app.OptOutStop},
		{app.ChannelTwilioSMS, "optout", "", app.OptOutStop},
		{app.ChannelTwilioSMS, "Stop sending me these", "", ""},
		{app.ChannelTwilioSMS, "start", "", app.OptOutStart},
		{app.ChannelTwilioSMS, "Yes", "", app.OptOutStart},
		{app.ChannelTwilioSMS, "UNSTOP", "", app.OptOutStart},
		{app.ChannelTwilioSMS, "ARRET", "STOP", app.OptOutStop},
		{app.ChannelTwilioSMS, "Reprendre", "START", app.OptOutStart},
		{app.ChannelTwilioSMS, "HELP", "HELP", ""},
		{app.ChannelTwilioWhatsApp, "STOP", "", app.OptOutStop},
		{app.ChannelTwilioWhatsApp, "cancel", "", ""},
		{app.ChannelTwilioWhatsApp, "yes", "", ""},
		{app.ChannelTwilioWhatsApp, "Cancel", "STOP", app.OptOutStop},
	}
	for _, tt := range tests {
		form := url.Values{"MessageSid": {"SM1"}, "From": {"+14155550123"}, "Body": {tt.body}}
		if tt.optOutType != "" {
			form.Set("OptOutType", tt.optOutType)
		}
		got, err := newDriver(nil).For(tt.typ).Receive(context.Background(), testChannel(t, tt.typ, ""), signed(testHook, form.Encode()))
		if err != nil || len(got.Messages) != 1 || got.Messages[0].OptOut != tt.want {
			t.Errorf("%s %q (OptOutType %q): got %+v, %v, want opt-out %q", tt.typ, tt.body, tt.optOutType, got.Messages, err, tt.want)
		}
	}
}

func TestReceiveCallTexts(t *testing.T) {
	t.Parallel()
	tests := []struct{ direction, status, duration, recording, want string }{
		{"inbound", "completed", "45", "", "Incoming call, 45 s"},
		{"inbound", "completed", "3600", "", "Incoming call, 1 h 0 min"},
		{"inbound", "no-answer", "0", "", "Missed call"},
		{"inbound", "busy", "0", "", "Missed call"},
		{"outbound-api", "completed", "120", "", "Outgoing call, 2 min"},
		{"outbound-dial", "busy", "0", "", "Outgoing call, busy"},
		{"inbound", "completed", "62", "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
			"Incoming call, 1 min 2 s\nRecording: https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"},
	}
	for _, tt := range tests {
		form := url.Values{"CallSid": {"CA1"}, "CallStatus": {tt.status}, "Direction": {tt.direction},
			"From": {"+14155550123"}, "To": {ourNumber}, "CallDuration": {tt.duration}}
		if strings.HasPrefix(tt.direction, "outbound") {
			form.Set("From", ourNumber)
			form.Set("To", "+14155550123")
		}
		if tt.recording != "" {
			form.Set("RecordingUrl", tt.recording)
		}
		got, err := newDriver(nil).For(app.ChannelTwilioVoice).Receive(context.Background(),
			testChannel(t, app.ChannelTwilioVoice, ""), signed(testHook, form.Encode()))
		if err != nil || len(got.Messages) != 1 || got.Messages[0].Text != tt.want || got.Messages[0].From.Value != "+14155550123" {
			t.Errorf("%s %s: got %+v, %v, want %q", tt.direction, tt.status, got.Messages, err, tt.want)
		}
	}
}

func TestReceiveRecordingCallUnavailable(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	body := strings.ReplaceAll(sample(t, "recording_completed.txt", f.URL), "CallSid=CA5e6f", "CallSid=CAffff")
	_, err := newDriver(f.Client()).For(app.ChannelTwilioVoice).Receive(context.Background(),
		testChannel(t, app.ChannelTwilioVoice, f.URL), signed(testHook, body))
	if err == nil || app.ErrorCode(err) != app.EINTERNAL || !strings.Contains(err.Error(), "Twilio 20404") {
		t.Errorf("got %v, want an error saying the call could not be fetched", err)
	}
}

func TestReceiveWhatsAppLocation(t *testing.T) {
	t.Parallel()
	form := url.Values{"MessageSid": {"SM3"}, "From": {"whatsapp:+447700900123"}, "MessageType": {"location"},
		"NumMedia": {"0"}, "Latitude": {"51.5033"}, "Longitude": {"-0.1196"}, "Label": {"London Eye"}, "Address": {"Riverside Building"}}
	got, err := newDriver(nil).For(app.ChannelTwilioWhatsApp).Receive(context.Background(),
		testChannel(t, app.ChannelTwilioWhatsApp, ""), signed(testHook, form.Encode()))
	want := "Location: London Eye Riverside Building (51.5033, -0.1196)"
	if err != nil || len(got.Messages) != 1 || got.Messages[0].Text != want {
		t.Errorf("got %+v, %v, want text %q", got.Messages, err, want)
	}
}
