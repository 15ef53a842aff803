// Package paypal writes PayPal Payouts batch requests for a cycle's PayPal
// payouts (SPEC §6.2) and imports the item statuses PayPal reports back
// (SPEC §6.3).
//
// It owns the two file formats only: who is paid and how much is decided by
// the close, and what a return does to the ledger by the returns import. It
// does no I/O beyond the given io.Reader / emit callback and never reads the
// clock.
//
// # Batch requests
//
// Each part is the body of one create-payout request (POST
// /v1/payments/payouts):
//
//	{
//	  "sender_batch_header": {"sender_batch_id": "payrun-2026-11-USD-001",
//	                          "email_subject": "...", "email_message": "..."},
//	  "items": [{"recipient_type": "EMAIL",
//	             "amount": {"value": "12.30", "currency": "USD"},
//	             "note": "...", "sender_item_id": "<payout id>",
//	             "receiver": "publisher@example.com"}]
//	}
//
// A cycle's items are split by currency (one currency per request, so each
// request is funded from one balance and has one total) and into parts of at most
// [BatchLimit] (15,000) items. Parts are numbered per currency from 001;
// the sender_batch_id "<prefix>-<cycle>-<currency>-<NNN>" and the file name
// "paypal-<cycle>-<currency>-<NNN>.json" depend only on those, so a resend of
// the same cycle reuses the ids and PayPal refuses it as a duplicate within
// 30 days instead of paying twice. Items keep their input order inside a
// part. Items that share a Group (the items of one payment above PayPal's
// per-item maximum, SPEC §6.2) always go in the same part: a part that
// would end inside a group ends before it, so a part may then hold fewer
// than BatchLimit items; without groups the parts are exactly as before. A
// group of more than BatchLimit items is refused (ErrInvalidBatch): the
// close holds such a payment (payout.AmountOverRailLimit). No request field
// carries a date: a payment's settlement date is the manifest's. JSON is indented with two spaces, keys in a fixed order, no HTML
// escaping; the same batch gives the same bytes. [Stream] holds one part in
// memory at a time; [Write] collects all parts.
//
// Amounts travel as strings with exactly [Decimals] places: the ISO 4217
// minor unit, except HUF, JPY and TWD, for which PayPal refuses decimals
// (0 places, although ISO gives HUF and TWD two). Amounts are never
// rounded here: more decimals than allowed, zero or negative amounts are
// errors naming the item.
//
// # Status imports
//
// [ParseStatuses] reads the batch-details JSON of GET
// /v1/payments/payouts/{payout_batch_id} (items[].transaction_status,
// items[].payout_item.{sender_item_id, amount, receiver},
// items[].time_processed, items[].errors.name) or a CSV with the header
// sender_item_id,transaction_status,amount,currency,time_processed[,reason].
// [Status.IsReturn] decides whether an item came back: FAILED, RETURNED,
// BLOCKED, REFUNDED, REVERSED and DENIED always; UNCLAIMED only once it was
// processed more than [UnclaimedReturnAfter] (30 days) before the given now;
// SUCCESS, PENDING and ONHOLD never.
//
// # Limits
//
// [BatchLimit], [MaxSenderBatchIDLength], [MaxEmailSubjectLength],
// [MaxNoteASCIILength]/[MaxNoteLength] and [MaxReceiverLength] come from the
// PayPal Payouts API reference; [MaxEmailMessageLength],
// [MaxSenderItemIDLength], [MaxBatchItems] and [MaxStatusRecords] are
// payrun's own (their comments say why).
//
// # Failure modes
//
//   - Write/Stream: ErrInvalidBatch (cycle month, prefix, e-mail texts, too
//     many items) or ErrInvalidItem joined per bad item (index and PayoutID:
//     currency not payable through PayPal, amount ≤ 0 or with too many
//     decimals, bad e-mail receiver, over-long note, duplicate PayoutID).
//     Nothing is emitted when validation fails; an emit error stops the
//     stream and is returned as is (parts already emitted stay emitted: the
//     caller writes them to a temporary directory and renames on success).
//   - ParseStatuses: ErrStatusSyntax for an unreadable file, otherwise one
//     *RecordError per bad value (CSV line or JSON item index, around the
//     *fielderr.Error of the field: CSV column or JSON path in the item, a
//     code, a message), joined; a file with any bad record imports nothing.
package paypal
