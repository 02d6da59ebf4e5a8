package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in throttles: an account gets 10 tries, then one every 30 seconds; an
// address gets 30 tries, then one every 2 seconds (offices share addresses).
const (
	accountBurst = 10
	accountEvery = 30 * time.Second
	ipBurst      = 30
	ipEvery      = 2 * time.Second
	// An address may create 5 workspaces, then one every 10 minutes.
	signupBurst = 5
	signupEvery = 10 * time.Minute
	// limitsIdle is how long an unused limiter is kept (it is full again by then).
	limitsIdle = time.Hour
)

// loginLimits throttles sign-in attempts per account and per client address,
// and workspace sign-ups per address.
type loginLimits struct {
	mu        sync.Mutex
	now       func() time.Time
	byIP      map[string]*limiter
	byAccount map[string]*limiter
	bySignup  map[string]*limiter
	lastSweep time.Time
}

type limiter struct {
	*rate.Limiter
	seen time.Time
}

func newLoginLimits(now func() time.Time) *loginLimits {
	return &loginLimits{now: now, byIP: map[string]*limiter{}, byAccount: map[string]*limiter{}, bySignup: map[string]*limiter{}}
}

// allow takes one attempt from both the address's and the account's budget
// and reports whether both had one left.
func (l *loginLimits) allow(ip, account string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	a := get(l.byIP, ip, rate.Every(ipEvery), ipBurst, now)
	b := get(l.byAccount, account, rate.Every(accountEvery), accountBurst, now)
	okA, okB := a.AllowN(now, 1), b.AllowN(now, 1)
	return okA && okB
}

// signupAllowed reports whether the address may create another workspace.
// Only created workspaces count (recordSignup), not refused forms.
func (l *loginLimits) signupAllowed(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	return get(l.bySignup, ip, rate.Every(signupEvery), signupBurst, now).TokensAt(now) >= 1
}

// recordSignup takes one workspace creation from the address's budget.
func (l *loginLimits) recordSignup(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	get(l.bySignup, ip, rate.Every(signupEvery), signupBurst, now).AllowN(now, 1)
}

func get(m map[string]*limiter, key string, r rate.Limit, burst int, now time.Time) *limiter {
	lim := m[key]
	if lim == nil {
		lim = &limiter{Limiter: rate.NewLimiter(r, burst)}
		m[key] = lim
	}
	lim.seen = now
	return lim
}

// sweep drops limiters unused for limitsIdle, at most once a minute.
func (l *loginLimits) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for _, m := range []map[string]*limiter{l.byIP, l.byAccount, l.bySignup} {
		for k, lim := range m {
			if now.Sub(lim.seen) > limitsIdle {
				delete(m, k)
			}
		}
	}
}

// limitRule is a token bucket: burst at once, then one every every.
type limitRule struct {
	every time.Duration
	burst int
}

// limitKey is one bucket: whose, and its rule.
type limitKey struct {
	key  string
	rule limitRule
}

// rateBuckets holds token buckets by key (a visitor, an address, a
// client), each with its own rule, dropping those unused for limitsIdle
// (they are full again by then).
type rateBuckets struct {
	mu        sync.Mutex
	now       func() time.Time
	buckets   map[string]*limiter
	lastSweep time.Time
}

func (l *rateBuckets) bucket(k limitKey, now time.Time) *limiter {
	return get(l.buckets, k.key, rate.Every(k.rule.every), k.rule.burst, now)
}

// take spends one token from every bucket if each has one, and reports
// whether they all did; a refusal spends nothing.
func (l *rateBuckets) take(keys ...limitKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > time.Minute {
		l.lastSweep = now
		for k, lim := range l.buckets {
			if now.Sub(lim.seen) > limitsIdle {
				delete(l.buckets, k)
			}
		}
	}
	for _, k := range keys {
		if l.bucket(k, now).TokensAt(now) < 1 {
			return false
		}
	}
	for _, k := range keys {
		l.bucket(k, now).AllowN(now, 1)
	}
	return true
}

// has reports whether the bucket has a token, without spending it.
func (l *rateBuckets) has(k limitKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return l.bucket(k, now).TokensAt(now) >= 1
}

func newRateBuckets(now func() time.Time) *rateBuckets {
	return &rateBuckets{now: now, buckets: map[string]*limiter{}}
}
