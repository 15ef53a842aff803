package paypal

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func fixtureBatch() Batch {
	return Batch{
		CycleMonth:        "2026-11",
		SenderBatchPrefix: "payrun",
		EmailSubject:      "Your November 2026 payout",
		EmailMessage:      "Your marketplace earnings for the November 2026 cycle are on their way.",
		Items: []Item{
			{PayoutID: "PO-2026-11-000001", Receiver: "ada@example.com", Amount: d("12.3"), Currency: "USD", Note: "Payout 2026-11"},
			{PayoutID: "PO-2026-11-000002", Receiver: "jurgen@example.de", Amount: d("50.00"), Currency: "EUR", Note: "Auszahlung 2026-11 für Jürgen & Co <GmbH>"},
			{PayoutID: "PO-2026-11-000003", Receiver: "taro@example.jp", Amount: d("1235"), Currency: "JPY"},
			{PayoutID: "PO-2026-11-000004", Receiver: "grace@example.com", Amount: d("1000000.01"), Currency: "USD", Note: "Payout 2026-11"},
		},
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./payout/paypal -update` to create %s", path)
	require.Equal(t, string(want), string(got), "output differs from %s (run with -update if the change is intended)", path)
}

func TestWriteGolden(t *testing.T) {
	parts, err := Write(fixtureBatch())
	require.NoError(t, err)
	require.Len(t, parts, 3)
	for i, want := range []struct {
		file, id, currency string
		items              int
		total              string
	}{
		{"paypal-2026-11-EUR-001.json", "payrun-2026-11-EUR-001", "EUR", 1, "50"},
		{"paypal-2026-11-JPY-001.json", "payrun-2026-11-JPY-001", "JPY", 1, "1235"},
		{"paypal-2026-11-USD-001.json", "payrun-2026-11-USD-001", "USD", 2, "1000012.31"},
	} {
		part := parts[i]
		require.Equal(t, want.file, part.FileName)
		require.Equal(t, want.id, part.SenderBatchID)
		require.Equal(t, want.currency, part.Currency)
		require.Equal(t, 1, part.Number)
		require.Equal(t, want.items, part.Items)
		require.True(t, d(want.total).Equal(part.Total), "total %s", part.Total)
		require.Len(t, part.SHA256, 64)
		checkGolden(t, strings.TrimSuffix(part.FileName, ".json")+".golden", part.Bytes)
	}
	require.Contains(t, string(parts[2].Bytes), `"value": "12.30"`)
	require.Contains(t, string(parts[1].Bytes), `"value": "1235"`)
	require.Contains(t, string(parts[0].Bytes), `für Jürgen & Co <GmbH>`, "no HTML escaping")
}

// decoded is the request as PayPal would read it.
type decoded struct {
	Header map[string]string `json:"sender_batch_header"`
	Items  []struct {
		RecipientType string            `json:"recipient_type"`
		Amount        map[string]string `json:"amount"`
		Note          string            `json:"note"`
		SenderItemID  string            `json:"sender_item_id"`
		Receiver      string            `json:"receiver"`
	} `json:"items"`
}

func TestRequestShape(t *testing.T) {
	parts, err := Write(fixtureBatch())
	require.NoError(t, err)
	var body decoded
	require.NoError(t, json.Unmarshal(parts[2].Bytes, &body))
	require.Equal(t, map[string]string{
		"sender_batch_id": "payrun-2026-11-USD-001",
		"email_subject":   "Your November 2026 payout",
		"email_message":   "Your marketplace earnings for the November 2026 cycle are on their way.",
	}, body.Header)
	require.Len(t, body.Items, 2)
	require.Equal(t, "EMAIL", body.Items[0].RecipientType)
	require.Equal(t, map[string]string{"value": "12.30", "currency": "USD"}, body.Items[0].Amount)
	require.Equal(t, "PO-2026-11-000001", body.Items[0].SenderItemID, "input order kept")
	require.Equal(t, "ada@example.com", body.Items[0].Receiver)
	require.Equal(t, "1000000.01", body.Items[1].Amount["value"])
	// Fixed key order: the raw bytes list the keys as the API documents them.
	raw := string(parts[2].Bytes)
	order := []string{`"recipient_type"`, `"amount"`, `"value"`, `"currency"`, `"note"`, `"sender_item_id"`, `"receiver"`}
	last := 0
	for _, key := range order {
		at := strings.Index(raw[last:], key)
		require.GreaterOrEqual(t, at, 0, "%s after position %d", key, last)
		last += at
	}
}

func manyItems(currency string, n int, places int32) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{
			PayoutID: fmt.Sprintf("PO-%s-%06d", currency, i),
			Receiver: fmt.Sprintf("publisher%d@example.com", i),
			Amount:   decimal.New(int64(i%997+1)*101, -places),
			Currency: currency,
		}
	}
	return items
}

func TestSplitAtBatchLimit(t *testing.T) {
	const n = 2*BatchLimit + 1
	batch := fixtureBatch()
	usd := manyItems("USD", n, 2)
	eur := manyItems("EUR", n, 2)
	// Interleave the currencies: the split must still follow input order per currency.
	batch.Items = nil
	for i := range n {
		batch.Items = append(batch.Items, usd[i], eur[i])
	}

	run := func() ([]Part, [][]byte) {
		var parts []Part
		var bodies [][]byte
		err := Stream(batch, func(p Part) error {
			bodies = append(bodies, bytes.Clone(p.Bytes))
			p.Bytes = nil
			parts = append(parts, p)
			return nil
		})
		require.NoError(t, err)
		return parts, bodies
	}
	parts, bodies := run()
	require.Len(t, parts, 6)

	wantSizes := []int{BatchLimit, BatchLimit, 1}
	for c, currency := range []string{"EUR", "USD"} {
		items := eur
		if currency == "USD" {
			items = usd
		}
		next := 0
		for k := range 3 {
			part := parts[c*3+k]
			require.Equal(t, currency, part.Currency)
			require.Equal(t, k+1, part.Number)
			require.Equal(t, fmt.Sprintf("payrun-2026-11-%s-%03d", currency, k+1), part.SenderBatchID)
			require.Equal(t, fmt.Sprintf("paypal-2026-11-%s-%03d.json", currency, k+1), part.FileName)
			require.Equal(t, wantSizes[k], part.Items)

			var body decoded
			require.NoError(t, json.Unmarshal(bodies[c*3+k], &body))
			require.Len(t, body.Items, wantSizes[k])
			require.LessOrEqual(t, len(body.Items), BatchLimit)
			sum := decimal.Zero
			expected := decimal.Zero
			for _, item := range body.Items {
				require.Equal(t, currency, item.Amount["currency"])
				require.Equal(t, items[next].PayoutID, item.SenderItemID, "items keep input order")
				sum = sum.Add(d(item.Amount["value"]))
				expected = expected.Add(items[next].Amount)
				next++
			}
			require.True(t, expected.Equal(part.Total), "part %s total %s, expected %s", part.SenderBatchID, part.Total, expected)
			require.True(t, sum.Equal(part.Total), "part %s: bytes sum to %s, Total %s", part.SenderBatchID, sum, part.Total)
		}
		require.Equal(t, n, next)
	}

	// A second run gives the same ids and the same bytes.
	again, againBodies := run()
	require.Equal(t, parts, again)
	require.Equal(t, bodies, againBodies)
}

func TestWriteRefusesBadItems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Item)
		text   string
	}{
		{"zero amount", func(i *Item) { i.Amount = d("0") }, "not positive"},
		{"negative amount", func(i *Item) { i.Amount = d("-5.00") }, "not positive"},
		{"sub-cent amount", func(i *Item) { i.Amount = d("1.001") }, "decimals"},
		{"decimal yen", func(i *Item) { i.Currency = "JPY"; i.Amount = d("12.5") }, "decimals"},
		{"decimal forint", func(i *Item) { i.Currency = "HUF"; i.Amount = d("1000.50") }, "decimals"},
		{"unsupported currency", func(i *Item) { i.Currency = "INR" }, "not supported"},
		{"empty payout id", func(i *Item) { i.PayoutID = "" }, "PayoutID is empty"},
		{"long payout id", func(i *Item) { i.PayoutID = strings.Repeat("P", 64) }, "PayoutID is longer"},
		{"bad receiver", func(i *Item) { i.Receiver = "not an address" }, "e-mail"},
		{"display-name receiver", func(i *Item) { i.Receiver = "Ada <ada@example.com>" }, "e-mail"},
		{"long note", func(i *Item) { i.Note = strings.Repeat("é", MaxNoteLength+1) }, "Note"},
		{"duplicate payout id", func(i *Item) { i.PayoutID = "PO-2026-11-000001" }, "also used by item 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := fixtureBatch()
			tc.change(&batch.Items[1])
			emitted := 0
			err := Stream(batch, func(Part) error { emitted++; return nil })
			require.ErrorIs(t, err, ErrInvalidItem)
			require.ErrorContains(t, err, "item 1 (PayoutID")
			require.ErrorContains(t, err, tc.text)
			require.Zero(t, emitted, "nothing is emitted when an item is bad")
		})
	}
}

func TestWriteRefusesBadBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Batch)
	}{
		{"cycle month", func(b *Batch) { b.CycleMonth = "2026-13" }},
		{"cycle month format", func(b *Batch) { b.CycleMonth = "2026-1" }},
		{"prefix", func(b *Batch) { b.SenderBatchPrefix = "pay run" }},
		{"long subject", func(b *Batch) { b.EmailSubject = strings.Repeat("s", MaxEmailSubjectLength+1) }},
		{"long message", func(b *Batch) { b.EmailMessage = strings.Repeat("m", MaxEmailMessageLength+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := fixtureBatch()
			tc.change(&batch)
			_, err := Write(batch)
			require.ErrorIs(t, err, ErrInvalidBatch)
		})
	}
}

func TestDefaultPrefixAndZeroDecimalCurrencies(t *testing.T) {
	batch := fixtureBatch()
	batch.SenderBatchPrefix = ""
	batch.Items = []Item{
		{PayoutID: "A", Receiver: "a@example.com", Amount: d("15000"), Currency: "HUF"},
		{PayoutID: "B", Receiver: "b@example.com", Amount: d("1.250"), Currency: "CHF"},
	}
	parts, err := Write(batch)
	require.NoError(t, err)
	require.Equal(t, "payrun-2026-11-CHF-001", parts[0].SenderBatchID)
	require.Contains(t, string(parts[0].Bytes), `"value": "1.25"`)
	require.Contains(t, string(parts[1].Bytes), `"value": "15000"`)
	for _, p := range parts {
		require.LessOrEqual(t, len(p.SenderBatchID), MaxSenderBatchIDLength)
	}
}

func TestDecimals(t *testing.T) {
	for currency, want := range map[string]int32{"USD": 2, "EUR": 2, "JPY": 0, "HUF": 0, "TWD": 0, "GBP": 2} {
		got, err := Decimals(currency)
		require.NoError(t, err)
		require.Equal(t, want, got, currency)
	}
	_, err := Decimals("BHD")
	require.Error(t, err)
}

func TestEmitErrorStops(t *testing.T) {
	stop := errors.New("disk full")
	calls := 0
	err := Stream(fixtureBatch(), func(Part) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)
}

// The items of one payment (a Group, SPEC §6.2's per-item maximum) never
// straddle two requests: a part that would end inside a group ends before
// it. Without groups the parts are exactly as before (TestSplitAtBatchLimit).
func TestGroupsStayInOnePart(t *testing.T) {
	t.Parallel()
	batch := fixtureBatch()
	batch.Items = manyItems("USD", BatchLimit+3, 2)
	// Items BatchLimit-2 .. BatchLimit+1 are one payment's four items.
	for i := BatchLimit - 2; i <= BatchLimit+1; i++ {
		batch.Items[i].Group = "P20261100000042"
	}
	parts, err := Write(batch)
	require.NoError(t, err)
	require.Len(t, parts, 2)
	require.Equal(t, BatchLimit-2, parts[0].Items, "the first part ends before the group")
	require.Equal(t, 5, parts[1].Items, "the group's 4 items and the last one")
	var body decoded
	require.NoError(t, json.Unmarshal(parts[1].Bytes, &body))
	require.Equal(t, batch.Items[BatchLimit-2].PayoutID, body.Items[0].SenderItemID)

	// A group that fits exactly at the end of a part stays there.
	batch.Items = manyItems("USD", BatchLimit+1, 2)
	batch.Items[BatchLimit-2].Group, batch.Items[BatchLimit-1].Group = "G", "G"
	parts, err = Write(batch)
	require.NoError(t, err)
	require.Equal(t, []int{BatchLimit, 1}, []int{parts[0].Items, parts[1].Items})

	// A group larger than one request is refused, nothing emitted.
	batch.Items = manyItems("USD", BatchLimit+1, 2)
	for i := range batch.Items {
		batch.Items[i].Group = "HUGE"
	}
	emitted := 0
	err = Stream(batch, func(Part) error { emitted++; return nil })
	require.ErrorIs(t, err, ErrInvalidBatch)
	require.ErrorContains(t, err, `the items of "HUGE" are more than 15000`)
	require.Zero(t, emitted)
}
