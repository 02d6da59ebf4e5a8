package jobs_test

import (
	"context"
	"strings"
	"testing"

	"parley/app"
	"parley/jobs"
)

// TestStoreIncomingKeepsEveryCustomersMessage: a file Parley does not keep
// and an empty message are stored with a line saying so; a message whose
// address cannot be read is skipped and shown on the channel, and the
// messages after it are still stored.
func TestStoreIncomingKeepsEveryCustomersMessage(t *testing.T) {
	t.Parallel()
	e := setupProviders(t, map[app.ChannelType]app.Provider{})
	ch := e.connect(t, app.ChannelTwilioSMS, map[string]string{"from_number": "+14155550100"}, map[string]string{})
	ctx := context.Background()
	from := func(n string) app.ContactInput { return app.ContactInput{Type: app.ContactPhone, Value: n} }
	in := app.Incoming{Messages: []app.InboundMessage{
		{From: from("+14155550123"), Text: "Here is the file", ProviderMessageID: "SM1",
			Uploads: []app.Upload{{Filename: "page.html", Data: []byte("<html><script>alert(1)</script></html>")}}},
		{From: from("not a number"), Text: "lost?", ProviderMessageID: "SM2"},
		{From: from("+14155550124"), ProviderMessageID: "SM3"},
	}}
	if err := jobs.StoreIncoming(ctx, e.db, ch, in, nil); err != nil {
		t.Fatal(err)
	}
	page, err := e.db.ListChats(ctx, app.ChatFilter{Limit: 10}, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for _, c := range page.Chats {
		msgs, _, err := e.db.ListMessages(ctx, c.ID, app.ChatScope{All: true}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			texts[m.ProviderMessageID] = m.Text
			if len(m.Attachments) != 0 {
				t.Errorf("%s kept a refused file: %v", m.ProviderMessageID, m.Attachments)
			}
		}
	}
	if !strings.Contains(texts["SM1"], "Here is the file") || !strings.Contains(texts["SM1"], "page.html was not kept") {
		t.Errorf("SM1: got %q, want the text and a line about the file left out", texts["SM1"])
	}
	if texts["SM3"] != "(The message had no text.)" {
		t.Errorf("SM3: got %q, want the empty message kept", texts["SM3"])
	}
	if _, ok := texts["SM2"]; ok {
		t.Error("SM2, whose address cannot be read, was stored")
	}
	got, err := e.db.ChannelByID(ctx, ch.ID)
	if err != nil || !strings.Contains(got.LastError, "SM2") {
		t.Errorf("channel error: got %q, %v, want it to name SM2", got.LastError, err)
	}
}
