package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// Live updates. Every committed write to a tenant file signals the hub
// (Manager.OnCommit); a tenant with subscribers has one feed goroutine that
// reads the new events from the event log once and fans them out, as small
// named signals, to the SSE streams of the users allowed to see them. The
// page then fetches what changed with htmx ("sse:chats" triggers a list
// refresh), so the signal carries no content and costs the same for 10 or
// 10,000 subscribers.
//
// Signals (SSE event names):
//   chats        a chat's place or summary in the list changed (data: chat id)
//   chat-{id}    something happened in that chat: a message, a status tick,
//                an assignment (data: the event type)
//   notify       a notification for this user (data: chat id)
//   reset        the stream fell behind and dropped signals: refresh all
//
// A web chat visitor's stream (GET /widget/events) is scoped to their one
// chat instead of a team member's view, and hears only of messages in it:
//   message      a message was written in the visitor's chat (data: 1)

// liveEvent is one SSE event.
type liveEvent struct{ name, data string }

// liveSub is one SSE stream.
type liveSub struct {
	scope app.ChatScope
	// visitorChat, when set, makes this a web chat visitor's stream: it
	// hears only of messages in that one chat, never of anything else.
	visitorChat string
	out         chan liveEvent
	// lagged is set when out was full and a signal was dropped; the stream
	// then sends "reset" so the page refreshes everything.
	lagged atomic.Bool
}

type liveFeed struct {
	subs map[*liveSub]struct{}
	wake chan struct{}
	done chan struct{}
	last int64 // rowid of the last event read
}

type liveHub struct {
	tenants *tenantdb.Manager
	log     *slog.Logger

	mu     sync.Mutex
	feeds  map[string]*liveFeed
	closed chan struct{}
	once   sync.Once
}

func newLiveHub(tenants *tenantdb.Manager, log *slog.Logger) *liveHub {
	h := &liveHub{tenants: tenants, log: log, feeds: map[string]*liveFeed{}, closed: make(chan struct{})}
	if tenants != nil {
		tenants.OnCommit(h.notify)
	}
	return h
}

// notify wakes the tenant's feed, if it has one. It never blocks.
func (h *liveHub) notify(tenantID string) {
	h.mu.Lock()
	f := h.feeds[tenantID]
	h.mu.Unlock()
	if f != nil {
		select {
		case f.wake <- struct{}{}:
		default: // a wake is pending already; it will read this commit too
		}
	}
}

// subscribe adds a stream for the tenant; the feed starts reading after
// the newest event now in the log.
func (h *liveHub) subscribe(ctx context.Context, db *tenantdb.DB, scope app.ChatScope) (*liveSub, error) {
	return h.add(ctx, db, &liveSub{scope: scope, out: make(chan liveEvent, 64)})
}

// subscribeVisitor adds a web chat visitor's stream about their chat.
func (h *liveHub) subscribeVisitor(ctx context.Context, db *tenantdb.DB, chatID string) (*liveSub, error) {
	return h.add(ctx, db, &liveSub{visitorChat: chatID, out: make(chan liveEvent, 8)})
}

func (h *liveHub) add(ctx context.Context, db *tenantdb.DB, sub *liveSub) (*liveSub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.feeds[db.TenantID]; f != nil {
		f.subs[sub] = struct{}{}
		return sub, nil
	}
	last, err := db.LastEventRowID(ctx)
	if err != nil {
		return nil, err
	}
	f := &liveFeed{subs: map[*liveSub]struct{}{sub: {}}, wake: make(chan struct{}, 1), done: make(chan struct{}), last: last}
	h.feeds[db.TenantID] = f
	go h.run(db.TenantID, f)
	return sub, nil
}

func (h *liveHub) unsubscribe(tenantID string, sub *liveSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[tenantID]
	if f == nil {
		return
	}
	delete(f.subs, sub)
	if len(f.subs) == 0 {
		delete(h.feeds, tenantID)
		close(f.done)
	}
}

// close ends every stream (at shutdown, so that draining requests does not
// wait for SSE connections that never end on their own).
func (h *liveHub) close() { h.once.Do(func() { close(h.closed) }) }

// run reads the tenant's new events whenever a commit wakes it.
func (h *liveHub) run(tenantID string, f *liveFeed) {
	for {
		select {
		case <-f.done:
			return
		case <-h.closed:
			return
		case <-f.wake:
		}
		more, err := h.read(tenantID, f)
		if err != nil {
			h.log.Warn("live feed read failed", "tenant", tenantID, "err", err)
			time.Sleep(time.Second)
		}
		if more || err != nil {
			select {
			case f.wake <- struct{}{}:
			default:
			}
		}
	}
}

const liveBatch = 500

// read fans out one batch of new events; more says the batch was full.
func (h *liveHub) read(tenantID string, f *liveFeed) (more bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, release, err := h.tenants.Acquire(ctx, tenantID)
	if err != nil {
		return false, err
	}
	defer release()
	evs, last, err := db.EventsAfter(ctx, f.last, liveBatch)
	if err != nil {
		return false, err
	}
	f.last = last
	seen := map[string]chatAudience{}
	for _, ev := range evs {
		if ev.AggregateType != "chat" {
			continue
		}
		aud, ok := seen[ev.AggregateID]
		if !ok {
			if aud, err = loadAudience(ctx, db, ev.AggregateID); err != nil {
				return false, err
			}
			seen[ev.AggregateID] = aud
		}
		h.fanOut(tenantID, ev, aud)
	}
	return len(evs) == liveBatch, nil
}

// chatAudience is what decides who may see a chat's signals.
type chatAudience struct{ assigneeID, ownerID string }

func loadAudience(ctx context.Context, db *tenantdb.DB, chatID string) (chatAudience, error) {
	c, err := db.ChatByID(ctx, chatID, app.ChatScope{All: true})
	if err != nil && app.ErrorCode(err) != app.EMOVED && app.ErrorCode(err) != app.ENOTFOUND {
		return chatAudience{}, err
	}
	owner, err := db.ClientOwner(ctx, c.ClientID)
	return chatAudience{assigneeID: c.AssigneeID, ownerID: owner}, err
}

func (a chatAudience) visibleTo(s app.ChatScope) bool {
	return s.All || a.assigneeID == "" || a.assigneeID == s.UserID || (a.ownerID != "" && a.ownerID == s.UserID)
}

// fanOut sends an event's signals to every stream allowed to see them.
func (h *liveHub) fanOut(tenantID string, ev app.Event, aud chatAudience) {
	var payload struct {
		Mentions []string `json:"mentions"`
		From     any      `json:"from"` // ChatAssigned: the previous assignee
	}
	_ = json.Unmarshal(ev.Payload, &payload) // events are written by us as JSON objects
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[tenantID]
	if f == nil {
		return
	}
	for sub := range f.subs {
		if sub.visitorChat != "" {
			if ev.AggregateID == sub.visitorChat && (ev.Type == app.EventMessageReceived || ev.Type == app.EventMessageQueued) {
				sub.send(liveEvent{"message", "1"})
			}
			continue
		}
		if !aud.visibleTo(sub.scope) {
			// The previous assignee of a reassigned chat must still hear
			// of it, to drop it from their list.
			if ev.Type == app.EventChatAssigned && payload.From == sub.scope.UserID {
				sub.send(liveEvent{"chats", ev.AggregateID})
			}
			continue
		}
		sub.send(liveEvent{"chat-" + ev.AggregateID, ev.Type})
		if ev.Type != app.EventNotePosted {
			sub.send(liveEvent{"chats", ev.AggregateID})
		}
		notifyUser := ev.Type == app.EventMessageReceived &&
			(aud.assigneeID == sub.scope.UserID || aud.assigneeID == "")
		for _, id := range payload.Mentions {
			notifyUser = notifyUser || id == sub.scope.UserID
		}
		if notifyUser {
			sub.send(liveEvent{"notify", ev.AggregateID})
		}
	}
}

func (s *liveSub) send(ev liveEvent) {
	select {
	case s.out <- ev:
	default:
		s.lagged.Store(true)
	}
}

// streamEvents is the SSE endpoint of the team app: the signals above for
// the signed-in user, a comment every 25 seconds to keep proxies from
// closing an idle stream.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	sub, err := s.live.subscribe(r.Context(), t.DB, app.ScopeFor(t.User.Role, t.User.ID))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	defer s.live.unsubscribe(t.DB.TenantID, sub)
	s.pumpEvents(w, r, sub)
}

// pumpEvents writes a subscribed stream's signals as server-sent events
// until the client goes or the server shuts down.
func (s *Server) pumpEvents(w http.ResponseWriter, r *http.Request, sub *liveSub) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		var ev liveEvent
		select {
		case <-r.Context().Done():
			return
		case <-s.live.closed:
			return
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev = <-sub.out:
			if sub.lagged.Swap(false) {
				ev = liveEvent{"reset", "1"}
			}
			writeSignals(w, ev, sub.out)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// writeSignals writes ev and whatever else is already waiting, each
// signal once, so that one flush carries a message's several signals (at
// 10,000 streams the flushes, not the signals, are the cost).
func writeSignals(w http.ResponseWriter, ev liveEvent, more <-chan liveEvent) {
	seen := map[liveEvent]bool{ev: true}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, ev.data)
	for range cap(more) {
		select {
		case ev := <-more:
			if !seen[ev] {
				seen[ev] = true
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, ev.data)
			}
		default:
			return
		}
	}
}

// Shutdown ends the live streams, so that the HTTP server's graceful
// shutdown does not wait for them.
func (s *Server) Shutdown() { s.live.close() }
