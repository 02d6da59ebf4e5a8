package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"parley/app"
)

// finalCallStatuses end a call; only they are logged. initiated, ringing
// and in-progress come first and are skipped.
var finalCallStatuses = map[string]bool{"completed": true, "busy": true, "no-answer": true, "failed": true, "canceled": true}

// callStatus logs a finished call as a message in the client's chat:
// inbound calls come from the client, outbound ones (outbound-api,
// outbound-dial) went to them.
func (c *typeDriver) callStatus(ch app.Channel, p url.Values) (app.Incoming, error) {
	sid, status := p.Get("CallSid"), p.Get("CallStatus")
	secs, err := seconds(p.Get("CallDuration"))
	if sid == "" || err != nil {
		return app.Incoming{}, app.Errorf(app.EINVALID, "The Twilio call status callback lacks a CallSid or a valid CallDuration.")
	}
	if !finalCallStatuses[status] {
		return app.Incoming{}, nil
	}
	dir := p.Get("Direction")
	msg, ok := callMessage(ch, sid, dir, p.Get("From"), p.Get("To"))
	if !ok {
		return app.Incoming{}, nil
	}
	msg.Text = callText(msg.Direction, status, secs)
	if rec := p.Get("RecordingUrl"); rec != "" {
		msg.Text += "\nRecording: " + rec
	}
	if msg.Direction == app.DirectionIn {
		msg.SenderName = strings.TrimSpace(p.Get("CallerName"))
	}
	msg.Meta = map[string]string{"call_sid": sid, "call_status": status, "duration": strconv.Itoa(secs),
		"direction": dir, "from": p.Get("From"), "to": p.Get("To"), "recording_url": p.Get("RecordingUrl")}
	return app.Incoming{Messages: []app.InboundMessage{msg}}, nil
}

// callMessage starts the message of a call with the client: the caller of
// an inbound call, the callee of an outbound one. Calls whose other end is
// not a phone number (a Twilio Client or SIP leg) are not logged.
func callMessage(ch app.Channel, id, direction, from, to string) (app.InboundMessage, bool) {
	msg := app.InboundMessage{ChannelID: ch.ID, Transport: app.TransportPhone, Direction: app.DirectionIn,
		ProviderMessageID: id}
	client := from
	if strings.HasPrefix(direction, "outbound") {
		msg.Direction, client = app.DirectionOut, to
	}
	if !isPhone(client) {
		return app.InboundMessage{}, false
	}
	msg.From = app.ContactInput{Type: app.ContactPhone, Value: client}
	return msg, true
}

// isPhone reports whether s looks like an E.164 number; Parley normalises
// it properly later.
func isPhone(s string) bool {
	if len(s) < 4 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// callText says what happened, as the team reads it in the chat.
func callText(dir app.Direction, status string, secs int) string {
	if dir == app.DirectionIn {
		if status == "completed" {
			return "Incoming call, " + duration(secs)
		}
		return "Missed call"
	}
	switch status {
	case "completed":
		return "Outgoing call, " + duration(secs)
	case "no-answer":
		return "Outgoing call, no answer"
	}
	return "Outgoing call, " + status
}

// duration formats seconds as "3 min 12 s".
func duration(secs int) string {
	h, m, s := secs/3600, secs%3600/60, secs%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case m > 0 && s == 0:
		return fmt.Sprintf("%d min", m)
	case m > 0:
		return fmt.Sprintf("%d min %d s", m, s)
	}
	return fmt.Sprintf("%d s", s)
}

// seconds reads a duration parameter; absent is zero.
func seconds(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("duration %q", s)
	}
	return n, nil
}

// recording logs a finished recording as its own message: messages are
// immutable, so it cannot be added to the call's. The recording status
// callback names only the call, so the call's numbers are fetched from
// the Call resource unless the request carries them (a <Record> action).
func (c *typeDriver) recording(ctx context.Context, ch app.Channel, p url.Values) (app.Incoming, error) {
	if p.Get("RecordingStatus") != "completed" {
		return app.Incoming{}, nil // in-progress, absent, failed
	}
	sid, callSID, rec := p.Get("RecordingSid"), p.Get("CallSid"), p.Get("RecordingUrl")
	secs, err := seconds(p.Get("RecordingDuration"))
	if sid == "" || callSID == "" || rec == "" || err != nil {
		return app.Incoming{}, app.Errorf(app.EINVALID,
			"The Twilio recording callback lacks a RecordingSid, CallSid, RecordingUrl or valid RecordingDuration.")
	}
	call := callInfo{From: p.Get("From"), To: p.Get("To"), Direction: p.Get("Direction")}
	if call.From == "" || call.To == "" || call.Direction == "" {
		if call, err = c.fetchCall(ctx, accountOf(ch), callSID); err != nil {
			return app.Incoming{}, err
		}
	}
	msg, ok := callMessage(ch, sid, call.Direction, call.From, call.To)
	if !ok {
		return app.Incoming{}, nil
	}
	if !strings.HasSuffix(rec, ".mp3") && !strings.HasSuffix(rec, ".wav") {
		rec += ".mp3"
	}
	msg.Text = fmt.Sprintf("Call recording (%d s): %s", secs, rec)
	msg.Meta = map[string]string{"call_sid": callSID, "recording_sid": sid, "recording_url": rec,
		"duration": strconv.Itoa(secs), "direction": call.Direction, "from": call.From, "to": call.To}
	return app.Incoming{Messages: []app.InboundMessage{msg}}, nil
}

// callInfo is the part of a Call resource a recording needs.
type callInfo struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Direction string `json:"direction"`
}

// fetchCall reads GET /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json.
func (c *typeDriver) fetchCall(ctx context.Context, acc account, callSID string) (callInfo, error) {
	res, err := c.call(ctx, acc, http.MethodGet, acc.path("/Calls/"+url.PathEscape(callSID)+".json"), nil)
	if err != nil {
		return callInfo{}, fmt.Errorf("twilio: fetch call %s: %w", callSID, err)
	}
	if res.status != http.StatusOK {
		return callInfo{}, fmt.Errorf("twilio: fetch call %s: %s", callSID, parseAPIError(res).reason())
	}
	var ci callInfo
	if err := json.Unmarshal(res.body, &ci); err != nil {
		return callInfo{}, fmt.Errorf("twilio: fetch call %s: %w", callSID, err)
	}
	return ci, nil
}
