package main

import (
	"context"
	"fmt"

	"parley/app"
	"parley/tenantdb"
)

// demoClient is one sample client of the demo workspace, with a note.
type demoClient struct {
	in   app.ClientInput
	note app.NoteInput
}

// demoClients make the demo workspace look like a team's real one: varied
// statuses, channels, countries and notes, including a likely duplicate
// pair to try merging on.
func demoClients(ownerID string) []demoClient {
	return []demoClient{
		{app.ClientInput{FirstName: "Anna", LastName: "Kowalska", BirthDate: "1988-03-14", Gender: "female", Status: app.ClientActive,
			OwnerID: ownerID, Tags: []string{"vip"}, Preferences: app.Preferences{Language: "pl", Timezone: "Europe/Warsaw", Currency: "PLN", Channel: "whatsapp"},
			Contacts:  []app.ContactInput{{Type: app.ContactEmail, Value: "anna.kowalska@example.com"}, {Type: app.ContactWhatsApp, Value: "+48 512 345 678"}},
			Addresses: []app.AddressInput{{Type: app.AddressShipping, Street: "ul. Marszałkowska 10", City: "Warszawa", PostalCode: "00-590", Country: "PL"}}},
			app.NoteInput{Type: app.NoteSales, Body: "Renews the annual plan every March; ask about the team add-on.", Pinned: true}},
		{app.ClientInput{FirstName: "Anna", LastName: "Kowalska", BirthDate: "1988-03-14", Status: app.ClientLead,
			Contacts: []app.ContactInput{{Type: app.ContactTelegram, Value: "@anna_kow"}}},
			app.NoteInput{Type: app.NoteSupport, Body: "Wrote on Telegram about an invoice; probably the same Anna as the WhatsApp one."}},
		{app.ClientInput{FirstName: "James", LastName: "O'Connor", Status: app.ClientActive, OwnerID: ownerID, Tags: []string{"b2b"},
			Preferences: app.Preferences{Language: "en-GB", Timezone: "Europe/London", Currency: "GBP", Channel: "email"},
			Contacts:    []app.ContactInput{{Type: app.ContactEmail, Value: "james@oconnor-builders.example", Label: "Work"}, {Type: app.ContactPhone, Value: "+44 7911 123456"}},
			Addresses:   []app.AddressInput{{Type: app.AddressBilling, Street: "221B Baker Street", City: "London", PostalCode: "NW1 6XE", Country: "GB"}}},
			app.NoteInput{Type: app.NoteGeneral, Body: "Prefers a call before 10am."}},
		{app.ClientInput{FirstName: "Lena", LastName: "Müller", Status: app.ClientInactive, Tags: []string{"b2b", "churn-risk"},
			Preferences: app.Preferences{Language: "de", Timezone: "Europe/Berlin", Currency: "EUR"},
			Contacts:    []app.ContactInput{{Type: app.ContactEmail, Value: "lena.mueller@example.de"}, {Type: app.ContactPhone, Value: "+49 1512 3456789"}}},
			app.NoteInput{Type: app.NoteCompliance, Body: "Asked for a copy of her data under GDPR article 15 on 2 Nov."}},
		{app.ClientInput{FirstName: "Carlos", LastName: "Ramírez", Status: app.ClientLead, OwnerID: ownerID,
			Preferences: app.Preferences{Language: "es", Channel: "instagram"},
			Contacts:    []app.ContactInput{{Type: app.ContactInstagram, Value: "@carlos.ramirez"}}},
			app.NoteInput{Type: app.NoteSales, Body: "Found us through the spring campaign; interested in the starter plan."}},
		{app.ClientInput{FirstName: "Aiko", LastName: "Tanaka", Status: app.ClientActive, Tags: []string{"vip"},
			Preferences: app.Preferences{Language: "ja", Timezone: "Asia/Tokyo", Currency: "JPY", Channel: "sms"},
			Contacts:    []app.ContactInput{{Type: app.ContactPhone, Value: "+81 90-1234-5678"}, {Type: app.ContactEmail, Value: "aiko.tanaka@example.jp"}}},
			app.NoteInput{Type: app.NoteSupport, Body: "Time zone is 8 hours ahead of the team: reply in the morning."}},
	}
}

// seedDemoClients fills a new demo workspace with sample clients.
func seedDemoClients(ctx context.Context, tenants *tenantdb.Manager, tenantID, ownerID string) error {
	db, release, err := tenants.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer release()
	for _, d := range demoClients(ownerID) {
		c, err := db.CreateClient(ctx, d.in, app.SystemActor)
		if err != nil {
			return fmt.Errorf("demo client %s: %w (%v)", d.in.FirstName, err, app.ErrorFields(err))
		}
		if _, err := db.AddNote(ctx, c.ID, d.note, app.SystemActor); err != nil {
			return fmt.Errorf("demo note: %w", err)
		}
	}
	return seedDemoConversations(ctx, db)
}

// demoInbound are messages the demo's customers wrote, so a newcomer's
// inbox has conversations in it at once.
var demoInbound = []app.InboundMessage{
	{From: app.ContactInput{Type: app.ContactWhatsApp, Value: "+48 512 345 678"}, SenderName: "Anna Kowalska",
		Text: "Hi! Can I add two more people to our annual plan before the renewal?", ProviderMessageID: "demo-1"},
	{From: app.ContactInput{Type: app.ContactEmail, Value: "james@oconnor-builders.example"}, SenderName: "James O'Connor",
		Text: "Morning, the invoice for October shows the wrong VAT number. Could you send a corrected one?", ProviderMessageID: "demo-2"},
	{From: app.ContactInput{Type: app.ContactEmail, Value: "sofia.rossi@example.it"}, SenderName: "Sofia Rossi",
		Text: "Hello, do you ship to Italy? I could not find it on your website.", ProviderMessageID: "demo-3"},
}

// seedDemoConversations connects the sandbox channel, set to answer like a
// customer, and receives the demo's first messages through it.
func seedDemoConversations(ctx context.Context, db *tenantdb.DB) error {
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{AutoReply: true}, nil, app.SystemActor)
	if err != nil {
		return fmt.Errorf("demo sandbox channel: %w", err)
	}
	for _, in := range demoInbound {
		in.ChannelID = ch.ID
		if _, _, err := db.ReceiveMessage(ctx, in); err != nil {
			return fmt.Errorf("demo message: %w (%v)", err, app.ErrorFields(err))
		}
	}
	return nil
}
