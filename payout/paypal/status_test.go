package paypal

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
)

const batchDetailsJSON = `{
  "batch_header": {
    "payout_batch_id": "FYXMPQTX4JC9N",
    "batch_status": "SUCCESS",
    "sender_batch_header": {"sender_batch_id": "payrun-2026-11-USD-001"},
    "amount": {"currency": "USD", "value": "1000012.31"}
  },
  "items": [
    {
      "payout_item_id": "8AELMXH8UB2P8",
      "transaction_id": "0C413693MN970190K",
      "transaction_status": "SUCCESS",
      "payout_item_fee": {"currency": "USD", "value": "0.25"},
      "payout_batch_id": "FYXMPQTX4JC9N",
      "payout_item": {
        "recipient_type": "EMAIL",
        "amount": {"value": "12.30", "currency": "USD"},
        "note": "Payout 2026-11",
        "receiver": "ada@example.com",
        "sender_item_id": "PO-2026-11-000001"
      },
      "time_processed": "2026-11-16T10:00:00Z",
      "links": [{"href": "https://api.example/v1/payments/payouts-item/8AELMXH8UB2P8", "rel": "item", "method": "GET"}]
    },
    {
      "payout_item_id": "9BFMNYJ9VC3Q9",
      "transaction_status": "FAILED",
      "payout_item": {
        "amount": {"value": "1000000.01", "currency": "USD"},
        "receiver": "grace@example.com",
        "sender_item_id": "PO-2026-11-000004"
      },
      "time_processed": "2026-11-16T10:00:05+01:00",
      "errors": {"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"}
    },
    {
      "payout_item_id": "7CGNPZK1WD4R1",
      "transaction_status": "UNCLAIMED",
      "payout_item": {
        "amount": {"value": "1235", "currency": "JPY"},
        "receiver": "taro@example.jp",
        "sender_item_id": "PO-2026-11-000003"
      },
      "time_processed": "2026-11-16T10:00:10Z"
    }
  ]
}`

func TestParseStatusesJSON(t *testing.T) {
	statuses, err := ParseStatuses(strings.NewReader("\ufeff \n" + batchDetailsJSON))
	require.NoError(t, err)
	require.Len(t, statuses, 3)

	require.Equal(t, "PO-2026-11-000001", statuses[0].SenderItemID)
	require.Equal(t, "8AELMXH8UB2P8", statuses[0].PayoutItemID)
	require.Equal(t, StatusSuccess, statuses[0].TransactionStatus)
	require.True(t, d("12.30").Equal(statuses[0].Amount))
	require.Equal(t, "USD", statuses[0].Currency)
	require.True(t, time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC).Equal(statuses[0].ProcessedAt))

	require.Equal(t, StatusFailed, statuses[1].TransactionStatus)
	require.Equal(t, "RECEIVER_UNREGISTERED", statuses[1].Reason)
	require.True(t, time.Date(2026, 11, 16, 9, 0, 5, 0, time.UTC).Equal(statuses[1].ProcessedAt))

	require.Equal(t, StatusUnclaimed, statuses[2].TransactionStatus)
	require.True(t, d("1235").Equal(statuses[2].Amount))
}

func TestParseStatusesJSONRejectsBadItems(t *testing.T) {
	bad := strings.Replace(batchDetailsJSON, `"transaction_status": "FAILED"`, `"transaction_status": "LOST"`, 1)
	bad = strings.Replace(bad, `"value": "1235"`, `"value": "12.35"`, 1)
	_, err := ParseStatuses(strings.NewReader(bad))
	require.Error(t, err)
	require.ErrorContains(t, err, `items[1].transaction_status: unknown status "LOST"`)
	require.ErrorContains(t, err, `items[2].payout_item.amount.value: "12.35" has more than the 0 decimals of JPY`)
	var recordErr *RecordError
	require.True(t, errors.As(err, &recordErr))
	require.Equal(t, 1, recordErr.Item)
	require.Equal(t, "transaction_status", recordErr.Field.Path)
	require.Equal(t, fielderr.Invalid, recordErr.Field.Code)
	fields := fielderr.All(err)
	require.Len(t, fields, 2)
	require.Equal(t, "payout_item.amount.value", fields[1].Path)

	for name, doc := range map[string]string{
		"no items":     `{"batch_header": {}}`,
		"broken JSON":  `{"items": [`,
		"number value": `{"items": [{"transaction_status": "SUCCESS", "payout_item": {"sender_item_id": "A", "amount": {"value": 12.3, "currency": "USD"}}}]}`,
		"empty":        "  ",
	} {
		_, err := ParseStatuses(strings.NewReader(doc))
		require.ErrorIs(t, err, ErrStatusSyntax, name)
	}
}

func TestParseStatusesCSV(t *testing.T) {
	csvText := "sender_item_id,transaction_status,amount,currency,time_processed,reason\n" +
		"PO-2026-11-000001,SUCCESS,12.30,USD,2026-11-16T10:00:00Z,\n" +
		"PO-2026-11-000004,RETURNED,1000000.01,USD,2026-11-20T08:30:00Z,\"Account closed, funds returned\"\n" +
		"PO-2026-11-000005,PENDING,5.00,EUR,,\n"
	statuses, err := ParseStatuses(strings.NewReader(csvText))
	require.NoError(t, err)
	require.Len(t, statuses, 3)
	require.Equal(t, StatusReturned, statuses[1].TransactionStatus)
	require.Equal(t, "Account closed, funds returned", statuses[1].Reason)
	require.True(t, statuses[2].ProcessedAt.IsZero())

	// The reason column is optional and columns may come in any order.
	reordered := "currency,amount,sender_item_id,time_processed,transaction_status\r\n" +
		"JPY,1235,PO-9,2026-11-16T10:00:00Z,UNCLAIMED\r\n"
	statuses, err = ParseStatuses(strings.NewReader(reordered))
	require.NoError(t, err)
	require.Equal(t, "PO-9", statuses[0].SenderItemID)
	require.True(t, d("1235").Equal(statuses[0].Amount))
}

func TestParseStatusesCSVRejectsBadRows(t *testing.T) {
	csvText := "sender_item_id,transaction_status,amount,currency,time_processed\n" +
		"PO-1,SUCCESS,12.30,USD,2026-11-16T10:00:00Z\n" + // line 2: fine
		",SUCCESS,12.30,USD,2026-11-16T10:00:00Z\n" + // line 3: no id
		"PO-3,MAYBE,12.30,USD,2026-11-16T10:00:00Z\n" + // line 4: unknown status
		"PO-4,FAILED,-1.00,USD,2026-11-16T10:00:00Z\n" + // line 5: negative
		"PO-5,FAILED,1.00,XYZ,2026-11-16T10:00:00Z\n" + // line 6: currency
		"PO-6,FAILED,1.00,USD,16/11/2026\n" + // line 7: time
		"PO-7,UNCLAIMED,1.00,USD,\n" + // line 8: unclaimed needs a time
		"PO-8,FAILED,1.00\n" + // line 9: too few fields
		"PO-9,FAILED,1e3,USD,2026-11-16T10:00:00Z\n" // line 10: amount syntax
	statuses, err := ParseStatuses(strings.NewReader(csvText))
	require.Nil(t, statuses, "a bad file imports nothing")
	for _, want := range []string{
		"line 3, sender_item_id: empty",
		`line 4, transaction_status: unknown status "MAYBE"`,
		`line 5, amount: "-1.00" is not positive`,
		"line 6, currency:",
		`line 7, time_processed: "16/11/2026" is not an RFC 3339 time`,
		"line 8, time_processed: required for UNCLAIMED",
		"line 9, record:",
		`line 10, amount: "1e3"`,
	} {
		require.ErrorContains(t, err, want)
	}
	require.NotContains(t, err.Error(), "line 2,")

	for name, header := range map[string]string{
		"missing column": "sender_item_id,transaction_status,amount,currency\n",
		"unknown column": "sender_item_id,transaction_status,amount,currency,time_processed,colour\n",
		"twice":          "sender_item_id,sender_item_id,transaction_status,amount,currency,time_processed\n",
	} {
		_, err := ParseStatuses(strings.NewReader(header))
		require.ErrorIs(t, err, ErrStatusSyntax, name)
	}
}

func TestIsReturn(t *testing.T) {
	now := time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)
	processed := func(daysAgo int) time.Time { return now.Add(-time.Duration(daysAgo) * 24 * time.Hour) }
	for _, tc := range []struct {
		status string
		at     time.Time
		want   bool
	}{
		{StatusUnclaimed, processed(29), false},
		{StatusUnclaimed, processed(30), false}, // exactly 30 days is not "more than"
		{StatusUnclaimed, processed(30).Add(-time.Second), true},
		{StatusUnclaimed, processed(31), true},
		{StatusUnclaimed, time.Time{}, false},
		{StatusFailed, processed(0), true},
		{StatusReturned, processed(0), true},
		{StatusBlocked, processed(0), true},
		{StatusRefunded, processed(0), true},
		{StatusReversed, processed(0), true},
		{StatusDenied, processed(0), true},
		{StatusSuccess, processed(100), false},
		{StatusPending, processed(100), false},
		{StatusOnHold, processed(100), false},
	} {
		s := Status{TransactionStatus: tc.status, ProcessedAt: tc.at}
		require.Equal(t, tc.want, s.IsReturn(now), "%s processed %s before now", tc.status, now.Sub(tc.at))
	}
}

func FuzzParseStatuses(f *testing.F) {
	f.Add([]byte(batchDetailsJSON))
	f.Add([]byte("sender_item_id,transaction_status,amount,currency,time_processed\nPO-1,SUCCESS,1.00,USD,2026-11-16T10:00:00Z\n"))
	f.Add([]byte(`{"items": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		statuses, err := ParseStatuses(strings.NewReader(string(data)))
		if err != nil {
			require.Nil(t, statuses)
			return
		}
		for _, s := range statuses {
			require.NotEmpty(t, s.SenderItemID)
			require.True(t, s.Amount.IsPositive())
			_, known := knownStatuses[s.TransactionStatus]
			require.True(t, known)
		}
	})
}

// Regression: an unterminated quote in the first data row made parseCSV ask
// csv.Reader.FieldPos about a record that was never read, which panics.
func TestParseStatusesCSVUnterminatedQuoteIsAnError(t *testing.T) {
	csvText := "sender_item_id,transaction_status,amount,currency,time_processed\n0\"0000000000000"
	statuses, err := ParseStatuses(strings.NewReader(csvText))
	require.Nil(t, statuses)
	require.ErrorContains(t, err, "line 2, record:")
}
