package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel/sandbox"
)

// reports records what the sandbox schedules.
type reports struct {
	mu      sync.Mutex
	status  []app.StatusReport
	inbound []app.InboundMessage
}

func (r *reports) ScheduleReports(_ context.Context, _ string, reps []app.StatusReport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = append(r.status, reps...)
	return nil
}

func (r *reports) ScheduleInbound(_ context.Context, _ string, in app.InboundMessage, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inbound = append(r.inbound, in)
	return nil
}

// outboxServer speaks the HTTPOutbox wire format.
func outboxServer(t *testing.T) *httptest.Server {
	ids := map[string]string{}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodGet {
			id, ok := ids[r.URL.Query().Get("tenant_id")+"/"+r.URL.Query().Get("key")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"id": id})
			return
		}
		var m struct {
			TenantID string `json:"tenant_id"`
			Key      string `json:"key"`
			To       string `json:"to"`
		}
		if json.NewDecoder(r.Body).Decode(&m); m.To == "fail@example.com" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ids[m.TenantID+"/"+m.Key] = "out-" + m.Key
		json.NewEncoder(w).Encode(map[string]string{"id": ids[m.TenantID+"/"+m.Key]})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func channel(t *testing.T, s app.SandboxSettings) app.Channel {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return app.Channel{ID: "ch1", Type: app.ChannelSandbox, Settings: b, Active: true}
}

func TestSendDeliversReportsAndAnswers(t *testing.T) {
	srv := outboxServer(t)
	rep := &reports{}
	p := sandbox.New(sandbox.HTTPOutbox{URL: srv.URL}, rep)
	ctx := context.Background()
	out := app.Outbound{TenantID: "t1", Channel: channel(t, app.SandboxSettings{AutoReply: true}), Key: "m1", Attempt: 1,
		Transport: app.TransportWhatsApp, To: "+447911123456", Text: "Hello"}
	if _, found, err := p.Lookup(ctx, out); found || err != nil {
		t.Fatalf("lookup before sending: found %v, %v", found, err)
	}
	id, err := p.Send(ctx, out)
	if err != nil || id != "out-m1" {
		t.Fatalf("send: got %q, %v", id, err)
	}
	if got, found, err := p.Lookup(ctx, out); !found || got != id || err != nil {
		t.Errorf("lookup after sending: got %q found %v, %v", got, found, err)
	}
	if len(rep.status) != 2 || rep.status[0].Status != app.StatusDelivered || rep.status[1].Status != app.StatusRead ||
		rep.status[0].ProviderMessageID != id {
		t.Errorf("reports: got %+v", rep.status)
	}
	if len(rep.inbound) != 1 || rep.inbound[0].From.Type != app.ContactWhatsApp || rep.inbound[0].From.Value != "+447911123456" {
		t.Errorf("answer: got %+v", rep.inbound)
	}
}

func TestSendFailsFirstAttemptsOnRequest(t *testing.T) {
	p := sandbox.New(sandbox.HTTPOutbox{URL: outboxServer(t).URL}, &reports{})
	out := app.Outbound{TenantID: "t1", Channel: channel(t, app.SandboxSettings{FailAttempts: 2}), Key: "m2", Attempt: 2,
		Transport: app.TransportEmail, To: "a@example.com", Text: "Hi"}
	var se *app.SendError
	if _, err := p.Send(context.Background(), out); !errors.As(err, &se) || se.Permanent {
		t.Fatalf("attempt 2 of 2 failing: got %v, want a temporary SendError", err)
	}
	out.Attempt = 3
	if _, err := p.Send(context.Background(), out); err != nil {
		t.Fatalf("attempt 3: %v", err)
	}
}

func TestOutboxErrorsAreReported(t *testing.T) {
	p := sandbox.New(sandbox.HTTPOutbox{URL: outboxServer(t).URL}, &reports{})
	out := app.Outbound{TenantID: "t1", Channel: channel(t, app.SandboxSettings{}), Key: "m3", Attempt: 1,
		Transport: app.TransportEmail, To: "fail@example.com", Text: "Hi"}
	if _, err := p.Send(context.Background(), out); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("outbox down: got %v, want the 503", err)
	}
}
