package meta

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

// maxResponse bounds what Parley reads of a Graph API answer (JSON only;
// media go through channel.Fetcher).
const maxResponse = 1 << 20

// graph calls the Graph API for one channel with its bearer token. The
// token goes only in the Authorization header, never in a URL that could
// end up in an error message or a log.
type graph struct {
	client *http.Client
	base   string
	token  string
}

func (d *Driver) graph(ch app.Channel) graph {
	base := strings.TrimSuffix(ch.Setting(keyAPIBaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return graph{client: d.client, base: base, token: ch.Setting(keyAccessToken)}
}

// url returns base/version/path?q; each path element is escaped.
func (g graph) url(q url.Values, elems ...string) string {
	var b strings.Builder
	b.WriteString(g.base + "/" + GraphVersion)
	for _, e := range elems {
		b.WriteString("/" + url.PathEscape(e))
	}
	if len(q) > 0 {
		b.WriteString("?" + q.Encode())
	}
	return b.String()
}

// get decodes the JSON answer of a GET into out.
func (g graph) get(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return g.do(req, out)
}

// postJSON sends in as JSON and decodes the answer into out.
func (g graph) postJSON(ctx context.Context, u string, in, out any) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return err
	}
	return g.post(ctx, u, "application/json", bytes.TrimSuffix(body.Bytes(), []byte("\n")), out)
}

// post sends a body of the given content type and decodes the answer into out.
func (g graph) post(ctx context.Context, u, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	return g.do(req, out)
}

func (g graph) do(req *http.Request, out any) error {
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("Accept", "application/json")
	resp, err := g.client.Do(req) // #nosec G704 -- the URL is the Graph API, or an api_base_url only an operator with --allow-api-base-url can set
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once, without its query
		}
		return fmt.Errorf("meta: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("meta: read %s answer: %w", req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseGraphError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("meta: decode %s answer: %w", req.URL.Path, err)
	}
	return nil
}

// graphError is the Graph API's error object, with what the response's
// headers said about when to try again.
type graphError struct {
	Status     int
	Code       int
	Subcode    int
	Type       string
	Message    string
	Details    string
	Trace      string
	RetryAfter time.Duration
}

func (e *graphError) Error() string {
	return fmt.Sprintf("meta: HTTP %d, error %d/%d: %s", e.Status, e.Code, e.Subcode, e.text())
}

// text is Meta's message and, when it says more, its details.
func (e *graphError) text() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if d := strings.TrimSpace(e.Details); d != "" && d != msg {
		msg += ": " + d
	}
	return msg
}

// parseGraphError reads {"error":{"message","type","code","error_subcode",
// "error_data":{"details"},"fbtrace_id"}}. error_data is an object for
// WhatsApp and sometimes a string elsewhere in the Graph API.
func parseGraphError(resp *http.Response, body []byte) *graphError {
	var env struct {
		Error struct {
			Message   string          `json:"message"`
			Type      string          `json:"type"`
			Code      int             `json:"code"`
			Subcode   int             `json:"error_subcode"`
			ErrorData json.RawMessage `json:"error_data"`
			Trace     string          `json:"fbtrace_id"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env) // a body that is not Meta's JSON leaves only the status
	e := &graphError{Status: resp.StatusCode, Code: env.Error.Code, Subcode: env.Error.Subcode,
		Type: env.Error.Type, Message: env.Error.Message, Trace: env.Error.Trace,
		RetryAfter: retryAfterHeader(resp.Header)}
	var data struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(env.Error.ErrorData, &data) == nil {
		e.Details = data.Details
	}
	return e
}

// retryAfterHeader reads Retry-After (seconds) or, as Meta's business use
// case throttling reports it, X-Business-Use-Case-Usage's
// estimated_time_to_regain_access (minutes).
func retryAfterHeader(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	var usage map[string][]struct {
		Minutes int `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &usage) != nil {
		return 0
	}
	longest := 0
	for _, list := range usage {
		for _, u := range list {
			longest = max(longest, u.Minutes)
		}
	}
	return time.Duration(longest) * time.Minute
}
