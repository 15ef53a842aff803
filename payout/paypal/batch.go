package paypal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/payrun/payrun/internal/money"
	"github.com/shopspring/decimal"
)

// Limits. Each names where its number comes from.
const (
	// BatchLimit is the most items one create-payout request may carry:
	// "You can specify up to 15,000 individual payouts in one API call.
	// Exceeding 15,000 payouts in one call returns the HTTP 400 (Bad
	// Request) status code." (PayPal Payouts API integration guide).
	BatchLimit = 15000
	// MaxSenderBatchIDLength: sender_batch_header.sender_batch_id, maxLength
	// 256 (PayPal Payouts API v1 reference, sender_batch_header).
	MaxSenderBatchIDLength = 256
	// MaxEmailSubjectLength: email_subject, "up to 255 single-byte
	// characters" (same reference).
	MaxEmailSubjectLength = 255
	// MaxEmailMessageLength: the reference gives no maximum for
	// email_message; payrun applies the 1000-character limit PayPal states
	// for the notes shown in the same e-mail.
	MaxEmailMessageLength = 1000
	// MaxNoteASCIILength and MaxNoteLength: payout_item.note "supports up to
	// 4000 ASCII characters and 1000 non-ASCII characters" (reference,
	// payout_item).
	MaxNoteASCIILength = 4000
	MaxNoteLength      = 1000
	// MaxReceiverLength: an EMAIL receiver is "a string of up to 127
	// single-byte characters" (reference, payout_item.recipient_type).
	MaxReceiverLength = 127
	// MaxSenderItemIDLength is payrun's own limit on sender_item_id (the
	// reference states none); payout ids are far shorter.
	MaxSenderItemIDLength = 63
	// MaxBatchItems bounds one Batch: 999 parts of BatchLimit items per
	// currency keep the part number at three digits; payrun pays far fewer.
	MaxBatchItems = 999 * BatchLimit
	// maxReportedErrors caps the problems reported at once.
	maxReportedErrors = 100
)

// RecipientTypeEmail is the only recipient type payrun uses (SPEC §6.1: a
// PayPal payout account is an e-mail address).
const RecipientTypeEmail = "EMAIL"

// DefaultSenderBatchPrefix is used when Batch.SenderBatchPrefix is empty.
const DefaultSenderBatchPrefix = "payrun"

// Errors callers may branch on; every error from Write and Stream wraps one.
var (
	ErrInvalidBatch = errors.New("invalid batch")
	ErrInvalidItem  = errors.New("invalid item")
)

// currencyDecimals lists the currencies the Payouts API accepts (PayPal REST
// API "Currency codes" page) that payrun can pay in. PayPal refuses decimals
// for HUF, JPY and TWD ("This currency does not support decimals. If you
// pass a decimal amount, an error occurs."), although ISO 4217 gives HUF and
// TWD two; every other currency uses its ISO 4217 minor unit. RUB is listed
// by PayPal but not payable by payrun.
var currencyDecimals = map[string]int32{
	"HUF": 0, "JPY": 0, "TWD": 0,
	"AUD": -1, "BRL": -1, "CAD": -1, "CHF": -1, "CNY": -1, "CZK": -1, "DKK": -1,
	"EUR": -1, "GBP": -1, "HKD": -1, "ILS": -1, "MXN": -1, "MYR": -1, "NOK": -1,
	"NZD": -1, "PHP": -1, "PLN": -1, "SEK": -1, "SGD": -1, "THB": -1, "USD": -1,
}

// Decimals returns the number of decimals PayPal accepts for currency: 0 for
// HUF, JPY and TWD, the ISO 4217 minor unit otherwise. The close should round
// PayPal payouts with it, not with the ISO exponent alone.
// Errors: a currency PayPal Payouts or payrun does not support.
func Decimals(currency string) (int32, error) {
	places, ok := currencyDecimals[currency]
	if !ok {
		return 0, fmt.Errorf("currency %q is not supported by PayPal Payouts", currency)
	}
	if places >= 0 {
		return places, nil
	}
	return money.MinorUnit(currency)
}

// Batch is one cycle's PayPal payouts.
type Batch struct {
	// CycleMonth names the cycle ("2026-11"); it is part of every
	// sender_batch_id, which makes the ids stable for the cycle.
	CycleMonth string
	// SenderBatchPrefix starts every sender_batch_id ([A-Za-z0-9._-], at
	// most 64 characters); DefaultSenderBatchPrefix when empty.
	SenderBatchPrefix string
	EmailSubject      string
	EmailMessage      string
	Items             []Item
}

// Item is one payout to one PayPal account.
type Item struct {
	// PayoutID is sent as sender_item_id and comes back in status imports.
	PayoutID string
	// Group names the payment an item is part of when one payment is sent
	// as several items (PayPal's per-item maximum, SPEC §6.2): the items of
	// a group, consecutive in Items, always go in the same part. Empty: the
	// item is a payment of its own.
	Group string
	// Receiver is the PayPal account's e-mail address.
	Receiver string
	// Amount is > 0 with at most Decimals(Currency) decimals.
	Amount   decimal.Decimal
	Currency string
	Note     string
}

// Part is one create-payout request: the items of one currency, at most
// BatchLimit of them.
type Part struct {
	// FileName is "paypal-<cycle>-<currency>-<NNN>.json".
	FileName string
	// SenderBatchID is "<prefix>-<cycle>-<currency>-<NNN>": the same cycle,
	// currency and part number always give the same id, so PayPal refuses a
	// resend within 30 days instead of paying twice.
	SenderBatchID string
	Currency      string
	// Number counts the parts of one currency from 1.
	Number int
	Items  int
	Total  decimal.Decimal
	// SHA256 is the hex digest of Bytes, for the cycle manifest.
	SHA256 string
	// Bytes is the request body. In Stream it is valid only until emit
	// returns.
	Bytes []byte
}

// The request body, field order fixed by declaration order.
type request struct {
	Header senderBatchHeader `json:"sender_batch_header"`
	Items  []requestItem     `json:"items"`
}

type senderBatchHeader struct {
	SenderBatchID string `json:"sender_batch_id"`
	EmailSubject  string `json:"email_subject,omitempty"`
	EmailMessage  string `json:"email_message,omitempty"`
}

type requestItem struct {
	RecipientType string        `json:"recipient_type"`
	Amount        requestAmount `json:"amount"`
	Note          string        `json:"note,omitempty"`
	SenderItemID  string        `json:"sender_item_id"`
	Receiver      string        `json:"receiver"`
}

type requestAmount struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

var prefixShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Write returns every part of batch with its bytes. It holds the whole batch
// in memory; use Stream for large cycles. Errors: as Stream.
func Write(batch Batch) ([]Part, error) {
	var parts []Part
	err := Stream(batch, func(p Part) error {
		p.Bytes = bytes.Clone(p.Bytes)
		parts = append(parts, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return parts, nil
}

// Stream validates the whole batch first, then encodes it part by part and
// calls emit once per part, so at most one part (BatchLimit items) is held
// in memory. Parts come per currency in alphabetical order, numbered from 1;
// inside a part the items keep their order in batch.Items. The JSON is
// indented with two spaces, keys in a fixed order, amounts as strings with
// exactly Decimals(currency) decimals. The same batch always gives the same
// bytes.
//
// Nothing is emitted if any item is invalid. Errors: ErrInvalidBatch,
// ErrInvalidItem (joined, one per bad item, naming its index and PayoutID,
// at most 100), and whatever emit returns.
func Stream(batch Batch, emit func(Part) error) error {
	prefix, err := checkBatch(batch)
	if err != nil {
		return err
	}
	byCurrency, err := checkItems(batch.Items)
	if err != nil {
		return err
	}
	currencies := make([]string, 0, len(byCurrency))
	for currency := range byCurrency {
		currencies = append(currencies, currency)
	}
	sort.Strings(currencies)

	chunksByCurrency := make(map[string][][]int, len(currencies))
	for _, currency := range currencies {
		if chunksByCurrency[currency], err = chunks(batch.Items, byCurrency[currency]); err != nil {
			return err
		}
	}

	items := make([]requestItem, 0, min(BatchLimit, len(batch.Items)))
	var buf bytes.Buffer
	for _, currency := range currencies {
		places, _ := Decimals(currency) // checked by checkItems
		for i, chunk := range chunksByCurrency[currency] {
			number := i + 1
			items = items[:0]
			total := decimal.Zero
			for _, i := range chunk {
				item := batch.Items[i]
				total = total.Add(item.Amount)
				items = append(items, requestItem{
					RecipientType: RecipientTypeEmail,
					Amount:        requestAmount{Value: item.Amount.StringFixed(places), Currency: currency},
					Note:          item.Note,
					SenderItemID:  item.PayoutID,
					Receiver:      item.Receiver,
				})
			}
			id := fmt.Sprintf("%s-%s-%s-%03d", prefix, batch.CycleMonth, currency, number)
			buf.Reset()
			encoder := json.NewEncoder(&buf)
			encoder.SetIndent("", "  ")
			encoder.SetEscapeHTML(false)
			body := request{
				Header: senderBatchHeader{SenderBatchID: id, EmailSubject: batch.EmailSubject, EmailMessage: batch.EmailMessage},
				Items:  items,
			}
			if err := encoder.Encode(body); err != nil {
				return fmt.Errorf("paypal: encode %s: %w", id, err)
			}
			digest := sha256.Sum256(buf.Bytes())
			part := Part{
				FileName:      fmt.Sprintf("paypal-%s-%s-%03d.json", batch.CycleMonth, currency, number),
				SenderBatchID: id,
				Currency:      currency,
				Number:        number,
				Items:         len(items),
				Total:         total,
				SHA256:        hex.EncodeToString(digest[:]),
				Bytes:         buf.Bytes(),
			}
			if err := emit(part); err != nil {
				return err
			}
		}
	}
	return nil
}

// chunks cuts one currency's item indexes into parts of at most BatchLimit
// items, never between two items of one Group: a part that would end inside
// a group ends before it instead, and the group starts the next part.
// Without groups every part but the last holds exactly BatchLimit items.
// Errors (ErrInvalidBatch): a group of more than BatchLimit items, more
// than 999 parts.
func chunks(items []Item, indexes []int) ([][]int, error) {
	var parts [][]int
	for start := 0; start < len(indexes); {
		end := min(start+BatchLimit, len(indexes))
		if group := items[indexes[end-1]].Group; end < len(indexes) && group != "" && items[indexes[end]].Group == group {
			for end > start && items[indexes[end-1]].Group == group {
				end--
			}
			if end == start {
				return nil, fmt.Errorf("paypal: the items of %q are more than %d: %w", group, BatchLimit, ErrInvalidBatch)
			}
		}
		parts = append(parts, indexes[start:end])
		start = end
	}
	if len(parts) > 999 {
		return nil, fmt.Errorf("paypal: %d parts in one currency, more than 999: %w", len(parts), ErrInvalidBatch)
	}
	return parts, nil
}

// checkBatch validates the batch header fields and returns the id prefix.
func checkBatch(batch Batch) (string, error) {
	month, err := time.Parse("2006-01", batch.CycleMonth)
	if err != nil || month.Format("2006-01") != batch.CycleMonth {
		return "", fmt.Errorf("paypal: CycleMonth %q is not YYYY-MM: %w", batch.CycleMonth, ErrInvalidBatch)
	}
	prefix := batch.SenderBatchPrefix
	if prefix == "" {
		prefix = DefaultSenderBatchPrefix
	}
	if !prefixShape.MatchString(prefix) {
		return "", fmt.Errorf("paypal: SenderBatchPrefix %q must be 1-64 of [A-Za-z0-9._-]: %w", prefix, ErrInvalidBatch)
	}
	// prefix-YYYY-MM-CCC-NNN: well under MaxSenderBatchIDLength by construction.
	switch {
	case utf8.RuneCountInString(batch.EmailSubject) > MaxEmailSubjectLength:
		return "", fmt.Errorf("paypal: EmailSubject is longer than %d characters: %w", MaxEmailSubjectLength, ErrInvalidBatch)
	case utf8.RuneCountInString(batch.EmailMessage) > MaxEmailMessageLength:
		return "", fmt.Errorf("paypal: EmailMessage is longer than %d characters: %w", MaxEmailMessageLength, ErrInvalidBatch)
	case !utf8.ValidString(batch.EmailSubject) || !utf8.ValidString(batch.EmailMessage):
		return "", fmt.Errorf("paypal: EmailSubject or EmailMessage is not valid UTF-8: %w", ErrInvalidBatch)
	case len(batch.Items) > MaxBatchItems:
		return "", fmt.Errorf("paypal: %d items, more than %d: %w", len(batch.Items), MaxBatchItems, ErrInvalidBatch)
	}
	return prefix, nil
}

// checkItems validates every item and groups their indexes by currency.
func checkItems(items []Item) (map[string][]int, error) {
	byCurrency := map[string][]int{}
	seen := make(map[string]int, len(items))
	var errs []error
	for i, item := range items {
		err := checkItem(item)
		if err == nil {
			if first, dup := seen[item.PayoutID]; dup {
				err = fmt.Errorf("PayoutID also used by item %d", first)
			} else {
				seen[item.PayoutID] = i
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("paypal: item %d (PayoutID %q): %w: %w", i, item.PayoutID, ErrInvalidItem, err))
			if len(errs) == maxReportedErrors {
				break
			}
			continue
		}
		byCurrency[item.Currency] = append(byCurrency[item.Currency], i)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return byCurrency, nil
}

func checkItem(item Item) error {
	places, err := Decimals(item.Currency)
	if err != nil {
		return fmt.Errorf("Currency: %w", err)
	}
	switch {
	case item.PayoutID == "":
		return errors.New("PayoutID is empty")
	case len(item.PayoutID) > MaxSenderItemIDLength:
		return fmt.Errorf("PayoutID is longer than %d characters", MaxSenderItemIDLength)
	case !item.Amount.IsPositive():
		return fmt.Errorf("Amount %s %s is not positive", item.Amount, item.Currency)
	case !item.Amount.Equal(item.Amount.Truncate(places)):
		return fmt.Errorf("Amount %s has more than the %d decimals PayPal accepts for %s", item.Amount, places, item.Currency)
	case len(item.Receiver) > MaxReceiverLength:
		return fmt.Errorf("Receiver is longer than %d characters", MaxReceiverLength)
	case !plainEmail(item.Receiver):
		return fmt.Errorf("Receiver %q is not an e-mail address", item.Receiver)
	case !utf8.ValidString(item.Note):
		return errors.New("Note is not valid UTF-8")
	}
	if noteLength, ascii := noteSize(item.Note); (ascii && noteLength > MaxNoteASCIILength) || (!ascii && noteLength > MaxNoteLength) {
		return fmt.Errorf("Note is longer than PayPal accepts (%d ASCII or %d other characters)", MaxNoteASCIILength, MaxNoteLength)
	}
	return nil
}

// plainEmail accepts a bare address ("a@example.com"), not a display-name
// form ("A <a@example.com>").
func plainEmail(text string) bool {
	address, err := mail.ParseAddress(text)
	return err == nil && address.Name == "" && address.Address == text
}

func noteSize(note string) (length int, ascii bool) {
	ascii = true
	for _, r := range note {
		length++
		if r >= utf8.RuneSelf {
			ascii = false
		}
	}
	return length, ascii
}
