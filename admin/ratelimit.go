package admin

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/payrun/payrun/accounts"
)

// Rate limits of the public endpoints that take a secret or send mail: POST
// /v1/token, /v1/password-reset, /v1/password-reset/complete and
// /v1/invitations/accept. Each has two token buckets per caller: one per
// client address (taken before the body is read) and one per principal
// named in the body (the sign-in name or client id, the reset's user name,
// the code or invitation token). A bucket holds Burst requests and regains
// one every Every; an empty bucket answers 429 with Retry-After (when the
// next request would pass). They sit in front of the accounts package's own
// limits, which hold across restarts and replicas: the lockout
// (accounts.MaxFailedSignIns failures per name within
// accounts.LockoutWindow), the hashing bound (accounts.Hashing) and the
// per-user reset limit (accounts.MaxPasswordResetsPerHour).
//
// The client address is the connection's (RemoteAddr), never
// X-Forwarded-For, which any client can write. Behind a reverse proxy every
// request then shares the proxy's address, and the per-address limits count
// all clients together; trusting a proxy's header would need a setting naming
// the proxies, which payrun does not have. IPv6 addresses count by their /64
// (one subscriber's prefix), so one host cannot take fresh buckets by
// changing its address.
const (
	// Sign-in per address: an office behind one NAT address signs dozens of
	// people in at 9:00, so 30 at once, then one every 2 s (1800 an hour).
	// That is far above any office and far below a guessing rate worth
	// having: the lockout already stops each name after 5 guesses, so this
	// bounds how many names one address can try.
	tokenPerAddressBurst = 30
	tokenPerAddressEvery = 2 * time.Second
	// Sign-in per name or client id: a person or app needs a token an hour;
	// 10 at once then one every 6 s leaves room for retries and scripts
	// while a flood of one name is answered without touching the database.
	tokenPerNameBurst = 10
	tokenPerNameEvery = 6 * time.Second
	// Reset requests per address: each may send mail, so 5 at once, then one
	// every 5 minutes.
	resetPerAddressBurst = 5
	resetPerAddressEvery = 5 * time.Minute
	// Reset requests per name: the same as the database's limit
	// (accounts.MaxPasswordResetsPerHour, 3 an hour), which also holds
	// across restarts.
	resetPerNameBurst = accounts.MaxPasswordResetsPerHour
	resetPerNameEvery = time.Hour / accounts.MaxPasswordResetsPerHour
	// Completing a reset or accepting an invitation, per address: a person
	// does it once, maybe retrying a too-weak password; 10 at once, then
	// one every 6 s. The codes are 256-bit random values, so this is about
	// load (each accepted code costs an argon2id hash), not guessing.
	redeemPerAddressBurst = 10
	redeemPerAddressEvery = 6 * time.Second
	// Per code or invitation token: 5 tries, then one a minute.
	redeemPerCodeBurst = 5
	redeemPerCodeEvery = time.Minute
	// maxLimiterKeys bounds each bucket table (a key costs about 170 bytes
	// with its map entry and list element, measured: at most about 1.7 MB a
	// table, 14 MB for all eight): idle keys (a full bucket is the same as no
	// bucket) are dropped as new ones come, and past the cap the least
	// recently used key goes, full or not. An attacker with more addresses
	// than the cap can push its own keys out, and start them afresh; the
	// lockout and the hashing bound still hold.
	maxLimiterKeys = 10000
)

// limiter is a table of token buckets, one per key, with a bounded number
// of keys. Safe for concurrent use.
type limiter struct {
	burst   float64
	every   time.Duration
	maxKeys int

	mu   sync.Mutex
	keys map[string]*list.Element // of *bucket
	lru  *list.List               // most recently used first
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time // when tokens was computed
}

func newLimiter(burst int, every time.Duration, maxKeys int) *limiter {
	return &limiter{burst: float64(burst), every: every, maxKeys: maxKeys, keys: map[string]*list.Element{}, lru: list.New()}
}

// refilled is b's token count at now.
func (l *limiter) refilled(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at)
	if elapsed <= 0 {
		return b.tokens
	}
	return min(l.burst, b.tokens+float64(elapsed)/float64(l.every))
}

// allow takes a token from key's bucket at now. When there is none it
// reports how long until there is one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.keys[key]; ok {
		b = e.Value.(*bucket)
		b.tokens, b.at = l.refilled(b, now), maxTime(b.at, now)
		l.lru.MoveToFront(e)
	} else {
		l.evict(now)
		b = &bucket{key: key, tokens: l.burst, at: now}
		l.keys[key] = l.lru.PushFront(b)
	}
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return true, 0
}

// evict makes room for one new key: it drops the least recently used keys
// while they are idle (their bucket has refilled), at most a few per call so
// a call stays O(1), then the least recently used key when the table is
// still full.
func (l *limiter) evict(now time.Time) {
	for range 4 {
		e := l.lru.Back()
		if e == nil || l.refilled(e.Value.(*bucket), now) < l.burst {
			break
		}
		l.remove(e)
	}
	for l.lru.Len() >= l.maxKeys {
		l.remove(l.lru.Back())
	}
}

func (l *limiter) remove(e *list.Element) {
	delete(l.keys, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// size is how many keys the table holds.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// endpointLimits are one endpoint's two tables.
type endpointLimits struct {
	address *limiter
	name    *limiter
}

// rateLimits are the limits of the public endpoints, by operation id.
type rateLimits map[string]endpointLimits

func newRateLimits() rateLimits {
	return rateLimits{
		"token": {newLimiter(tokenPerAddressBurst, tokenPerAddressEvery, maxLimiterKeys),
			newLimiter(tokenPerNameBurst, tokenPerNameEvery, maxLimiterKeys)},
		"request-password-reset": {newLimiter(resetPerAddressBurst, resetPerAddressEvery, maxLimiterKeys),
			newLimiter(resetPerNameBurst, resetPerNameEvery, maxLimiterKeys)},
		"complete-password-reset": {newLimiter(redeemPerAddressBurst, redeemPerAddressEvery, maxLimiterKeys),
			newLimiter(redeemPerCodeBurst, redeemPerCodeEvery, maxLimiterKeys)},
		"accept-invitation": {newLimiter(redeemPerAddressBurst, redeemPerAddressEvery, maxLimiterKeys),
			newLimiter(redeemPerCodeBurst, redeemPerCodeEvery, maxLimiterKeys)},
	}
}

func rateLimited(what string, wait time.Duration) error {
	return &accounts.Error{Kind: accounts.KindRateLimited, Reason: "too many requests " + what + ": try again later", RetryAfter: wait}
}

// limitAddress is the middleware that takes a token from the client
// address's bucket of a rate-limited endpoint, before the body is read.
func (s *Server) limitAddress(ctx huma.Context, next func(huma.Context)) {
	if op := ctx.Operation(); op != nil && s.limits != nil {
		if l, ok := s.limits[op.OperationID]; ok {
			if allowed, wait := l.address.allow(clientAddress(ctx.RemoteAddr()), s.now()); !allowed {
				s.fail(ctx, rateLimited("from this address", wait))
				return
			}
		}
	}
	next(ctx)
}

// limitName takes a token from the bucket of the principal a rate-limited
// endpoint's body names (kept as a sha256, never as the secret itself).
// Errors: KindRateLimited.
func (s *Server) limitName(operationID, name string) error {
	l, ok := s.limits[operationID]
	if !ok || name == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(name))))
	if allowed, wait := l.name.allow(hex.EncodeToString(sum[:16]), s.now()); !allowed {
		return rateLimited("for this name", wait)
	}
	return nil
}

// clientAddress is the rate-limit key of a connection's remote address: the
// IP (IPv4, or the /64 of IPv6), without the port.
func clientAddress(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		prefix, _ := addr.WithZone("").Prefix(64)
		return prefix.String()
	}
	return addr.String()
}
