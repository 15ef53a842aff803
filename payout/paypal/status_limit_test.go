package paypal

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/csvlimit"
)

// A quoted field of many short lines is one record: the record limit
// applies to it, so a huge one is refused with its line after reading
// little of it (not held whole in memory).
func TestParseStatusesCSVRefusesALongQuotedField(t *testing.T) {
	head := "sender_item_id,transaction_status,amount,currency,time_processed,reason\n" +
		"PO-1,SUCCESS,12.30,USD,2026-11-16T10:00:00Z,\n" +
		"PO-2,RETURNED,1.00,USD,2026-11-20T08:30:00Z,\""
	source := &countingReader{r: io.MultiReader(strings.NewReader(head), strings.NewReader(strings.Repeat("closed\n", 4<<20)))}
	_, err := ParseStatuses(source)
	require.ErrorIs(t, err, csvlimit.ErrRecordTooLong)
	require.ErrorContains(t, err, "paypal status: line 3, record: record longer than 65536 bytes (a quoted field spans")
	require.Less(t, source.n, int64(256<<10), "bytes read of a 28 MiB field")
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Text that reaches the database holds no control character (a NUL made
// Postgres answer 500 behind the returns import).
func TestParseStatusesRefusesControlCharacters(t *testing.T) {
	_, err := ParseStatuses(strings.NewReader("sender_item_id,transaction_status,amount,currency,time_processed,reason\n" +
		"PO-\x001,RETURNED,1.00,USD,2026-11-20T08:30:00Z,\"clo\u0085sed\"\n"))
	require.ErrorContains(t, err, "line 2, sender_item_id: contains the control character U+0000")
	require.ErrorContains(t, err, "line 2, reason: contains the control character U+0085")
	_, err = ParseStatuses(strings.NewReader(`{"items":[{"payout_item":{"sender_item_id":"PO-\u0000","amount":{"value":"1.00","currency":"USD"}},"transaction_status":"RETURNED","time_processed":"2026-11-20T08:30:00Z"}]}`))
	require.ErrorContains(t, err, "payout_item.sender_item_id: contains the control character U+0000")
}
