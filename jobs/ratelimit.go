package jobs

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"parley/app"
)

// channelLimits paces sends per channel to the provider's published rate
// (a Twilio long code takes one SMS a second), so bursts queue instead of
// being refused. Limits are per process: one node sends for its tenants.
type channelLimits struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// maxInlineWait is how long a send waits in its worker for its turn; a
// longer wait snoozes the job so it does not hold a worker.
const maxInlineWait = 2 * time.Second

// reserve waits for the channel's next send slot when it is near, and
// returns how long to snooze when it is not (0: go ahead).
func (l *channelLimits) reserve(tenantID string, ch app.Channel, p app.Provider) time.Duration {
	d, ok := p.(interface{ Spec() app.ChannelSpec })
	if !ok {
		return 0
	}
	spec := d.Spec()
	if spec.SendRate <= 0 {
		return 0
	}
	lim := l.limiter(tenantID+"/"+ch.ID, spec)
	r := lim.Reserve()
	wait := r.Delay()
	if wait > maxInlineWait {
		r.Cancel()
		return wait
	}
	time.Sleep(wait)
	return 0
}

func (l *channelLimits) limiter(key string, spec app.ChannelSpec) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limiters == nil {
		l.limiters = map[string]*rate.Limiter{}
	}
	lim, ok := l.limiters[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(spec.SendRate), max(spec.SendBurst, 1))
		l.limiters[key] = lim
	}
	return lim
}
