package publisher

import (
	"context"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// MaxCachedShares bounds the withholding shares a Service keeps (cents keyed
// by the line, about 60 bytes each): enough for the payouts of the
// publishers being browsed.
const MaxCachedShares = 500_000

// allocationCache keeps paid payouts' withholding allocations for the
// transactions pages. An allocation never changes: a paid payout's window
// is in the past (no line can become available in it again: available_at
// is never before its import) and its lines and withholding are
// append-only. Without it, every page of a payout's lines would read all of
// the payout's US-sourced lines again (100k-line publishers: the page's
// whole cost). Exports stream one payout at a time and do not use it.
type allocationCache struct {
	mu      sync.Mutex
	entries map[allocationKey]map[string]int64
	order   []allocationKey // oldest first: evicted first
	size    int             // shares held
}

type allocationKey struct {
	accountID int64
	month     time.Time
}

// get returns w's allocation (a paid window), computing it on a miss.
func (c *allocationCache) get(ctx context.Context, tx *sqlx.Tx, accountID int64, w window) (map[string]int64, error) {
	key := allocationKey{accountID, w.month}
	c.mu.Lock()
	shares, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return shares, nil
	}
	shares, err := allocation(ctx, tx, accountID, w)
	if err != nil || len(shares) > MaxCachedShares {
		return shares, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[allocationKey]map[string]int64{}
	}
	if _, ok := c.entries[key]; !ok {
		for c.size+len(shares) > MaxCachedShares && len(c.order) > 0 {
			oldest := c.order[0]
			c.order = c.order[1:]
			c.size -= len(c.entries[oldest])
			delete(c.entries, oldest)
		}
		c.entries[key], c.order, c.size = shares, append(c.order, key), c.size+len(shares)
	}
	return shares, nil
}
