package main

import (
	"net/http"
	"time"

	"parley/app"
	"parley/app/channel/email"
	"parley/app/channel/meta"
	"parley/app/channel/telegram"
	"parley/app/channel/twilio"
)

// providerDrivers builds the provider packages channels connect with. One
// HTTP client is shared: each call is bounded by it and by the send job's
// own timeout.
func providerDrivers(now func() time.Time, privateMailHosts bool) map[app.ChannelType]app.Driver {
	client := &http.Client{Timeout: 30 * time.Second}
	tw := twilio.New(twilio.Options{Client: client, Now: now})
	mt := meta.New(meta.Options{Client: client, Now: now})
	return map[app.ChannelType]app.Driver{
		app.ChannelTelegram:       telegram.New(telegram.Options{Client: client, Now: now}),
		app.ChannelTwilioSMS:      tw.For(app.ChannelTwilioSMS),
		app.ChannelTwilioWhatsApp: tw.For(app.ChannelTwilioWhatsApp),
		app.ChannelTwilioVoice:    tw.For(app.ChannelTwilioVoice),
		app.ChannelWhatsAppCloud:  mt.WhatsApp(),
		app.ChannelInstagram:      mt.Instagram(),
		app.ChannelEmail:          email.New(email.Options{Now: now, AllowPrivateHosts: privateMailHosts}),
	}
}
