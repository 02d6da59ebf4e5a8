package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/app"
)

// maxAnswer bounds a Bot API answer read into memory; real ones are a few
// kilobytes.
const maxAnswer = 1 << 20

// errNoToken is returned for a channel saved without a bot token.
var errNoToken = app.Errorf(app.EINVALID, "The Telegram channel has no bot token: enter the one @BotFather gave you.")

// body is a request body and its content type.
type body struct {
	contentType string
	data        []byte
}

// jsonBody encodes v as the JSON body of a Bot API call, leaving <, > and
// & as they are (Telegram reads them either way; this keeps bodies exact).
func jsonBody(v any) *body {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // only our own request structs, which always encode
	return &body{contentType: "application/json", data: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
}

// apiError is Telegram's refusal of a call ({"ok":false,...}) or an HTTP
// failure on the way to it.
type apiError struct {
	// Status is Telegram's error_code, else the HTTP status.
	Status      int
	Description string
	// RetryAfter is Telegram's flood-control wait (parameters.retry_after).
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return "Telegram: " + e.Description }

// permanent reports whether sending again cannot help: a 4xx other than
// 429 (blocked, chat not found, bad token). 5xx and odd answers may pass.
func (e *apiError) permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// answer is the envelope of every Bot API answer.
type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// call invokes a Bot API method (GET when b is nil) and decodes its result
// into out (when not nil). Errors never contain the bot token.
func (d *Driver) call(ctx context.Context, ch app.Channel, method string, b *body, out any) error {
	token := ch.Setting(KeyBotToken)
	if token == "" {
		return errNoToken
	}
	httpMethod, reader := http.MethodGet, io.Reader(nil)
	if b != nil {
		httpMethod, reader = http.MethodPost, bytes.NewReader(b.data)
	}
	req, err := http.NewRequestWithContext(ctx, httpMethod, baseURL(ch)+"/bot"+token+"/"+method, reader)
	if err != nil {
		return redact(err, token)
	}
	if b != nil {
		req.Header.Set("Content-Type", b.contentType)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return redact(fmt.Errorf("call Telegram %s: %w", method, err), token)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return redact(fmt.Errorf("read Telegram's %s answer: %w", method, err), token)
	}
	return d.decode(resp, data, out)
}

// decode turns an answer into out or an *apiError.
func (d *Driver) decode(resp *http.Response, data []byte, out any) error {
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		status := resp.StatusCode
		if status < 300 {
			status = http.StatusBadGateway // a 200 we cannot read: something in between broke
		}
		return &apiError{Status: status, Description: "unreadable answer (" + resp.Status + ")",
			RetryAfter: d.retryAfterHeader(resp)}
	}
	if !a.OK {
		e := &apiError{Status: a.ErrorCode, Description: a.Description}
		if e.Status == 0 {
			e.Status = resp.StatusCode
		}
		if e.Description == "" {
			e.Description = resp.Status
		}
		e.RetryAfter = time.Duration(a.Parameters.RetryAfter) * time.Second
		if e.RetryAfter <= 0 {
			e.RetryAfter = d.retryAfterHeader(resp)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.Result, out); err != nil {
		return fmt.Errorf("read Telegram's result: %w", err)
	}
	return nil
}

// retryAfterHeader reads an HTTP Retry-After (seconds or a date), which a
// proxy in front of the Bot API may send instead of retry_after.
func (d *Driver) retryAfterHeader(resp *http.Response) time.Duration {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(d.now()), 0)
	}
	return 0
}

// adminError words a failed Check or setWebhook for the admin who clicked:
// a refused token, Telegram's own reason, or that Telegram was unreachable.
func adminError(prefix string, err error) error {
	var ae *apiError
	var appErr *app.Error
	switch {
	case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusNotFound):
		return app.Errorf(app.EINVALID, "Telegram did not accept the bot token (%s): copy it again from @BotFather.", ae.Description)
	case errors.As(err, &ae) && ae.permanent():
		return app.Errorf(app.EINVALID, "%s: %s", prefix, ae.Description)
	case errors.As(err, &ae):
		return app.Errorf(app.EUNAVAILABLE, "Telegram is not answering right now (%s): try again in a minute.", ae.Description)
	case errors.As(err, &appErr):
		return appErr
	}
	return app.Errorf(app.EUNAVAILABLE, "Telegram could not be reached: %v", err)
}

// redacted is an error whose text had the bot token cut out: the Bot API
// carries the token in every URL, and URLs end up in error texts.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// redact returns err with the token (plain or escaped) removed from its text.
func redact(err error, token string) error {
	if err == nil || token == "" {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = strings.ReplaceAll(ue.URL, token, "<token>")
	}
	msg := err.Error()
	clean := strings.ReplaceAll(strings.ReplaceAll(msg, token, "<token>"), url.PathEscape(token), "<token>")
	if clean == msg {
		return err
	}
	return &redacted{msg: clean, err: err}
}
