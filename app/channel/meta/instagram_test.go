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
	"parley/app/channel"
)

const igMessagesPath = "POST /" + GraphVersion + "/" + testPageID + "/messages"

func igSendOK(id string) http.HandlerFunc {
	return jsonAnswer(http.StatusOK, `{"recipient_id":"`+testIGSID+`","message_id":"`+id+`"}`)
}

func TestInstagramSendText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, to, address string
	}{
		{"OK", "peter_chang_live", testIGSID},
		{"OKContactIsIGSID", testIGSID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route(igMessagesPath, igSendOK("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE"))
			ch := testChannel(app.ChannelInstagram, f.srv.URL)
			id, err := testDriver().Instagram().Send(context.Background(), app.Outbound{Channel: ch, To: tt.to, Address: tt.address,
				Text: "Yes, we hold it for 48 hours.", Transport: app.TransportInstagram})
			if err != nil {
				t.Fatal(err)
			}
			if id != "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE" {
				t.Errorf("got id %q, want the message_id", id)
			}
			r := f.requests()[0]
			if r.Method != "POST" || r.Path != "/v26.0/"+testPageID+"/messages" || r.RawQuery != "" ||
				r.Auth != "Bearer "+testToken || r.ContentType != "application/json" {
				t.Errorf("got %s %s?%s auth %q type %q, want an authorised JSON POST to the page's messages", r.Method, r.Path,
					r.RawQuery, r.Auth, r.ContentType)
			}
			want := `{"recipient":{"id":"` + testIGSID + `"},"message":{"text":"Yes, we hold it for 48 hours."}}`
			if string(r.Body) != want {
				t.Errorf("got body %s, want %s", r.Body, want)
			}
		})
	}
}

func TestInstagramSendAttachment(t *testing.T) {
	t.Parallel()
	f := newFakeMeta(t)
	f.route(igMessagesPath, igSendOK("mid.1"))
	ch := testChannel(app.ChannelInstagram, f.srv.URL)
	atts := []app.Attachment{
		{ID: "att-1", Filename: "blue.jpg", ContentType: "image/jpeg", Size: 2048},
		{ID: "att-2", Filename: "size guide.pdf", ContentType: "application/pdf", Size: 4096},
	}
	id, err := testDriver().Instagram().Send(context.Background(), app.Outbound{Channel: ch, Address: testIGSID, Attachments: atts})
	if err != nil {
		t.Fatal(err)
	}
	if id != "mid.1" {
		t.Errorf("got id %q, want mid.1", id)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want one per attachment", len(reqs))
	}
	for i, kind := range []string{"image", "file"} {
		link := channel.MediaURL(ch, atts[i], testNow)
		if !strings.HasPrefix(link, testWebhookURL+"/media/") {
			t.Fatalf("got media link %s, want one under the webhook URL", link)
		}
		want := `{"recipient":{"id":"` + testIGSID + `"},"message":{"attachment":{"type":"` + kind + `","payload":{"url":"` + link + `"}}}}`
		if got := string(reqs[i].Body); got != want {
			t.Errorf("attachment %d: got %s, want %s", i, got, want)
		}
	}
}

func TestInstagramSendNoAddress(t *testing.T) {
	t.Parallel()
	ch := testChannel(app.ChannelInstagram, "http://127.0.0.1:1")
	_, err := testDriver().Instagram().Send(context.Background(), app.Outbound{Channel: ch, To: "peter_chang_live", Text: "Hi"})
	if se := sendErr(t, err); !se.Permanent || !strings.Contains(se.Reason, "must message the account") {
		t.Errorf("got %+v, want a permanent error asking the client to write first", se)
	}
}

func TestInstagramSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		permanent  bool
		retryAfter time.Duration
		reason     string
	}{
		{"OutsideWindow", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 10, 2018278, "(#10) This message is sent outside of allowed window.")
		}, true, 0, "more than 24 hours"},
		{"NotAvailable", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 551, 1545041, "This person isn't available right now.")
		}, true, 0, "isn't available right now"},
		{"RateLimited", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 613, 0, "Calls to this api have exceeded the rate limit.")
		}, false, time.Minute, "exceeded the rate limit"},
		{"TemporaryFailure", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusInternalServerError, 1200, 0, "Temporary send message failure. Please try again later.")
		}, false, 0, "Temporary send message failure"},
		{"BadGateway", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) },
			false, 0, "Instagram: Bad Gateway"},
		{"NoMatchingUser", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 100, 2018001, "No matching user found")
		}, true, 0, "Instagram: No matching user found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route(igMessagesPath, tt.answer)
			ch := testChannel(app.ChannelInstagram, f.srv.URL)
			_, err := testDriver().Instagram().Send(context.Background(), app.Outbound{Channel: ch, Address: testIGSID, Text: "Hi"})
			se := sendErr(t, err)
			if se.Permanent != tt.permanent || se.RetryAfter != tt.retryAfter || !strings.Contains(se.Reason, tt.reason) {
				t.Errorf("got %+v, want permanent %v, retry after %v, reason with %q", se, tt.permanent, tt.retryAfter, tt.reason)
			}
		})
	}
}

func TestInstagramCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer http.HandlerFunc
		want   string
		code   string
	}{
		{"OK", jsonAnswer(http.StatusOK, `{"name":"Acme Shoes","instagram_business_account":{"id":"17841405822304914"},"id":"`+testPageID+`"}`),
			"Instagram via page Acme Shoes", ""},
		{"ErrNoInstagramAccount", jsonAnswer(http.StatusOK, `{"name":"Acme Shoes","id":"`+testPageID+`"}`), "", app.EINVALID},
		{"ErrBadToken", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 190, 460, "Error validating access token: The session has been invalidated")
		}, "", app.EUNAUTHORIZED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route("GET /"+GraphVersion+"/"+testPageID, tt.answer)
			got, err := testDriver().Instagram().Check(context.Background(), testChannel(app.ChannelInstagram, f.srv.URL))
			var ae *app.Error
			if tt.code != "" && (!errors.As(err, &ae) || ae.Code != tt.code) {
				t.Fatalf("got %v, want an error coded %s", err, tt.code)
			}
			if tt.code == "" && (err != nil || got != tt.want) {
				t.Fatalf("got %q, %v, want %q", got, err, tt.want)
			}
			r := f.requests()[0]
			if r.RawQuery != "fields=name%2Cinstagram_business_account" || r.Auth != "Bearer "+testToken {
				t.Errorf("got query %q auth %q, want the fields and the bearer token only", r.RawQuery, r.Auth)
			}
		})
	}
}

func TestInstagramValidate(t *testing.T) {
	t.Parallel()
	settings := map[string]string{keyAccessToken: "EAAG", keyPageID: "page", keyAppSecret: "s", keyVerifyToken: ""}
	err := testDriver().Instagram().Validate(settings)
	var ae *app.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want field errors", err)
	}
	var got []string
	for _, f := range ae.Fields {
		got = append(got, f.Field)
	}
	if want := []string{"settings.page_id", "settings.verify_token"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestInstagramReceive(t *testing.T) {
	t.Parallel()
	const mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODE3MzE3NzkyODE5MDAxMjozMTM4Nzk0NjQ2NzI0NjE2NDEyNzIzNzY2NTA0ODI4MTM0NAZDZD"
	msg := func(label, name string, meta map[string]string) app.InboundMessage {
		return app.InboundMessage{ChannelID: "ch-1", From: app.ContactInput{Type: app.ContactInstagram, Value: testIGSID, Label: label},
			Transport: app.TransportInstagram, SenderName: name, SenderMeta: meta, Text: "Hi! Is the blue one still available?",
			ProviderMessageID: mid, Direction: app.DirectionIn}
	}
	tests := []struct {
		name    string
		profile http.HandlerFunc
		want    app.InboundMessage
	}{
		{"OKUsername", jsonAnswer(http.StatusOK, `{"name":"Peter Chang","username":"Peter_Chang_Live","id":"`+testIGSID+`"}`),
			msg("@peter_chang_live", "Peter Chang", map[string]string{"address": testIGSID, "username": "peter_chang_live"})},
		{"OKUsernameOnly", jsonAnswer(http.StatusOK, `{"username":"@peter_chang_live"}`),
			msg("@peter_chang_live", "peter_chang_live", map[string]string{"address": testIGSID, "username": "peter_chang_live"})},
		{"OKUsernameTooLongForLabel", jsonAnswer(http.StatusOK, `{"name":"Peter Chang","username":"`+strings.Repeat("p", 40)+`"}`),
			msg("", "Peter Chang", map[string]string{"address": testIGSID, "username": strings.Repeat("p", 40)})},
		{"OKBadUsername", jsonAnswer(http.StatusOK, `{"name":"Peter Chang","username":"peter chang"}`),
			msg("", "Peter Chang", map[string]string{"address": testIGSID})},
		{"OKNoProfile", func(w http.ResponseWriter, _ *http.Request) {
			metaError(w, http.StatusBadRequest, 230, 0, "User consent is required to access user profile")
		}, msg("", "", map[string]string{"address": testIGSID})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route("GET /"+GraphVersion+"/"+testIGSID, tt.profile)
			in, err := testDriver().Instagram().Receive(context.Background(), testChannel(app.ChannelInstagram, f.srv.URL),
				signed(readTestdata(t, "ig_text.json")))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Messages) != 1 || !reflect.DeepEqual(in.Messages[0], tt.want) {
				t.Errorf("got %+v, want %+v", in.Messages, tt.want)
			}
			if c := in.Messages[0].From; c.Normalize("from", "") != nil || c != tt.want.From {
				t.Errorf("got contact %+v, want one that app accepts as it is", in.Messages[0].From)
			}
			if r := f.requests()[0]; r.RawQuery != "fields=name%2Cusername" || r.Auth != "Bearer "+testToken {
				t.Errorf("got profile query %q auth %q, want name,username with the bearer token", r.RawQuery, r.Auth)
			}
		})
	}
}

// TestInstagramReceiveUsernameReused checks that two people who show the
// same username (one gave it up, the other took it) stay two contacts,
// keyed on their IGSIDs, and that a sender id that is not an IGSID is left
// out.
func TestInstagramReceiveUsernameReused(t *testing.T) {
	t.Parallel()
	const newcomer = "6617450021349826"
	f := newFakeMeta(t)
	f.route("GET /"+GraphVersion+"/"+testIGSID, jsonAnswer(http.StatusOK, `{"name":"Peter Chang","username":"peter_chang_live"}`))
	f.route("GET /"+GraphVersion+"/"+newcomer, jsonAnswer(http.StatusOK, `{"name":"Paula Chang","username":"peter_chang_live"}`))
	in, err := testDriver().Instagram().Receive(context.Background(), testChannel(app.ChannelInstagram, f.srv.URL),
		signed(readTestdata(t, "ig_username_reused.json")))
	if err != nil {
		t.Fatal(err)
	}
	var got [][3]string
	for _, m := range in.Messages {
		got = append(got, [3]string{m.From.Value, m.From.Label, m.SenderMeta["address"]})
	}
	want := [][3]string{{testIGSID, "@peter_chang_live", testIGSID}, {newcomer, "@peter_chang_live", newcomer}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got contacts (value, label, address) %v, want %v", got, want)
	}
}

func TestInstagramReceiveAttachment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     func(base string) string
		wantText string
		uploads  int
	}{
		{"OK", func(base string) string { return base }, "", 1},
		{"ErrForeignHost", func(string) string { return "https://images.example.net" },
			`[The image attachment could not be downloaded: media URL "https://images.example.net/ig_messaging_cdn/?asset_id=17915893403967281&signature=AbzKWd7fX3Bq1z0cT2mQvLr8Yh" is not on the provider's hosts]`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			f.route("GET /"+GraphVersion+"/"+testIGSID, jsonAnswer(http.StatusOK, `{"username":"peter_chang_live"}`))
			f.route("GET /ig_messaging_cdn/", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "" {
					t.Errorf("got a token sent to the CDN, want none")
				}
				w.Header().Set("Content-Type", "image/jpeg")
				w.Write(jpegBytes)
			})
			body := strings.ReplaceAll(string(readTestdata(t, "ig_image.json")), "https://lookaside.fbsbx.com", tt.host(f.srv.URL))
			in, err := testDriver().Instagram().Receive(context.Background(), testChannel(app.ChannelInstagram, f.srv.URL),
				signed([]byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Messages) != 1 {
				t.Fatalf("got %d messages, want 1", len(in.Messages))
			}
			m := in.Messages[0]
			if m.Text != tt.wantText || len(m.Uploads) != tt.uploads || m.From.Value != testIGSID || m.From.Label != "@peter_chang_live" {
				t.Errorf("got text %q, %d uploads from %q (%q), want %q, %d from %s (@peter_chang_live)", m.Text, len(m.Uploads),
					m.From.Value, m.From.Label, tt.wantText, tt.uploads, testIGSID)
			}
			if tt.uploads == 1 && (m.Uploads[0].Filename != "image.jpg" || string(m.Uploads[0].Data) != string(jpegBytes)) {
				t.Errorf("got upload %q, want image.jpg with the CDN's bytes", m.Uploads[0].Filename)
			}
		})
	}
}

func TestInstagramReceiveEchoAndRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		statuses []app.StatusReport
	}{
		{"ig_echo.json", nil},
		{"ig_read.json", []app.StatusReport{{ChannelID: "ch-1", Status: app.StatusRead,
			ProviderMessageID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODE3MzE3NzkyODE5MDAxMjozMTM4Nzk0NjQ2NzI0NjE2NDEyNzIzNzY2NTA0ODI4MTM0NgZDZD",
			At:                time.UnixMilli(1569262494573).UTC()}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f := newFakeMeta(t)
			in, err := testDriver().Instagram().Receive(context.Background(), testChannel(app.ChannelInstagram, f.srv.URL),
				signed(readTestdata(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Messages) != 0 || !reflect.DeepEqual(in.Statuses, tt.statuses) {
				t.Errorf("got %+v, %+v, want no messages and %+v", in.Messages, in.Statuses, tt.statuses)
			}
			if len(f.requests()) != 0 {
				t.Errorf("got %d calls to Meta, want none", len(f.requests()))
			}
		})
	}
}

func TestInstagramReceiveMalformed(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`[]`, `{"object":"whatsapp_business_account"}`, `{"object":"instagram","entry":[{"messaging":[{"timestamp":"x"}]}]}`} {
		_, err := testDriver().Instagram().Receive(context.Background(), testChannel(app.ChannelInstagram, "http://127.0.0.1:1"),
			signed([]byte(body)))
		var ae *app.Error
		if !errors.As(err, &ae) || ae.Code != app.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", body, err)
		}
	}
}
