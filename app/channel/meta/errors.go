package meta

import (
	"errors"
	"net/http"
	"time"

	"parley/app"
)

// rateLimitWaits are Meta's throttling codes and how long to wait when
// the response's headers do not say. Sources: Graph API error handling
// (4, 17, 32, 613), WhatsApp Cloud API error codes (80007, 130429, 131048,
// 131056) and Messenger Platform error codes (80002, 80006).
var rateLimitWaits = map[int]time.Duration{
	4:      time.Minute,      // application request limit
	17:     time.Minute,      // user request limit
	32:     time.Minute,      // page request limit
	613:    time.Minute,      // calls to this API exceeded the rate limit
	80002:  time.Minute,      // Instagram account rate limit
	80006:  time.Minute,      // Messenger rate limit
	80007:  time.Minute,      // WhatsApp Business Account rate limit
	130429: 5 * time.Second,  // Cloud API throughput (per second) reached
	131048: 15 * time.Minute, // spam rate limit: quality-based, lifts slowly
	131056: 10 * time.Second, // too many messages to the same recipient
}

// transientCodes are errors Meta documents as temporary.
var transientCodes = map[int]bool{
	1:      true, // API unknown
	2:      true, // API service: temporary downtime or overload
	1200:   true, // Messenger: temporary send message failure
	131000: true, // WhatsApp: something went wrong
	131016: true, // WhatsApp: service unavailable
	133004: true, // WhatsApp: server temporarily unavailable
}

// sendError turns a failed call into what the delivery worker needs: a
// network error stays retryable as it is, Meta's answer is classified.
func sendError(product string, err error) error {
	var ge *graphError
	if !errors.As(err, &ge) {
		return err
	}
	reason := product + ": " + ge.text()
	if wait, ok := rateLimitWaits[ge.Code]; ok || ge.Status == http.StatusTooManyRequests {
		if ge.RetryAfter > 0 {
			wait = ge.RetryAfter
		} else if wait == 0 {
			wait = time.Minute
		}
		return &app.SendError{Reason: reason, RetryAfter: wait}
	}
	if explain := explanation(product, ge); explain != "" {
		return &app.SendError{Reason: explain + " (" + reason + ")", Permanent: true}
	}
	if transientCodes[ge.Code] || ge.Status >= 500 {
		return &app.SendError{Reason: reason}
	}
	return &app.SendError{Reason: reason, Permanent: true}
}

// explanation says in the team's words what the permanent errors they
// will meet most often mean, and what to do.
func explanation(product string, ge *graphError) string {
	switch {
	case ge.Code == 131047:
		return "WhatsApp: more than 24 hours have passed since the client last wrote, so WhatsApp only delivers an approved template message until they write again"
	case ge.Code == 10 && ge.Subcode == 2018278:
		return "Instagram: the client last wrote more than 24 hours ago, so Instagram does not let the business answer until they write again"
	case ge.Code == 131026:
		return "WhatsApp: the message could not be delivered (the number may not be on WhatsApp, or the client blocked the business or has an outdated app)"
	case ge.Code == 551:
		return "Instagram: this person is not available right now (they may have blocked the account or deactivated theirs)"
	case ge.Code == 190 || ge.Status == http.StatusUnauthorized:
		return product + ": Meta refused the channel's access token; create a new one and save it in the channel's settings"
	}
	return ""
}

// checkError words a failed Check for the admin on the settings page.
func checkError(product string, err error) error {
	var ge *graphError
	if !errors.As(err, &ge) {
		return app.Errorf(app.EUNAVAILABLE, "Could not reach Meta: %v", err)
	}
	switch {
	case ge.Code == 190 || ge.Status == http.StatusUnauthorized:
		return app.Errorf(app.EUNAUTHORIZED, "Meta refused the access token (%s). Create a new token and save it again.", ge.text())
	case ge.Code == 10 || (ge.Code >= 200 && ge.Code <= 299):
		return app.Errorf(app.EINVALID, "The access token lacks a permission %s needs (%s).", product, ge.text())
	case transientCodes[ge.Code] || ge.Status >= 500:
		return app.Errorf(app.EUNAVAILABLE, "Meta could not answer now (%s). Try again in a minute.", ge.text())
	}
	if _, ok := rateLimitWaits[ge.Code]; ok || ge.Status == http.StatusTooManyRequests {
		return app.Errorf(app.ERATELIMITED, "Meta is throttling this account (%s). Try again later.", ge.text())
	}
	return app.Errorf(app.EINVALID, "Meta refused the settings (%s). Check the IDs and the token's permissions.", ge.text())
}
