package tax

import (
	"encoding/json"
	"log/slog"
	"strings"
	"time"
)

// Status is the state of a publisher's tax profile at an instant (SPEC §5.1).
type Status string

// Profile statuses.
const (
	// StatusMissing: no form was submitted before the instant.
	StatusMissing Status = "missing"
	// StatusValid: the form that counts is in force.
	StatusValid Status = "valid"
	// StatusExpired: the form that counts is a W-8 past its validity period.
	StatusExpired Status = "expired"
	// StatusInvalid: the form that counts failed IRS TIN matching, is a W-9
	// without a TIN ("applied for"), or is a W-9 whose legal name or TIN the
	// profile changed after it was signed.
	StatusInvalid Status = "invalid"
)

// HoldReason is the close's hold reason for a profile in this status (SPEC
// §3.2, check 6), or "" for a valid profile.
func (s Status) HoldReason() string {
	if s == StatusValid {
		return ""
	}
	return "tax_profile_" + string(s)
}

// Cause says why a profile is not valid; "" when it is.
type Cause string

// Causes of a status other than valid.
const (
	CauseNone             Cause = ""
	CauseNoForm           Cause = "no_form"
	CauseExpired          Cause = "expired"
	CauseTINMatchFailed   Cause = "tin_match_failed"
	CauseLegalNameChanged Cause = "legal_name_changed"
	CauseTINChanged       Cause = "tin_changed"
	CauseTINMissing       Cause = "tin_missing"
)

// Record is one stored form: the submission as validated and normalised, the
// instant payrun received it, and whether IRS TIN matching rejected its
// name/TIN combination.
//
// TINMatchFailed has no time of its own: whoever builds records for an instant
// (the close builds them for the cutoff) sets it only if the match result was
// known before that instant, or the close would depend on when it runs.
type Record struct {
	Submission
	SubmittedAt    time.Time
	TINMatchFailed bool
}

// recordJSON is the wire form of a Record: the submission nested, because an
// embedded Submission's MarshalJSON would otherwise be promoted and drop
// SubmittedAt and TINMatchFailed.
type recordJSON struct {
	Submission     Submission `json:"submission"`
	SubmittedAt    time.Time  `json:"submitted_at"`
	TINMatchFailed bool       `json:"tin_match_failed"`
}

// MarshalJSON writes {"submission": {...}, "submitted_at": ..., "tin_match_failed": ...}.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{Submission: r.Submission, SubmittedAt: r.SubmittedAt, TINMatchFailed: r.TINMatchFailed})
}

// UnmarshalJSON reads what MarshalJSON writes, refusing unknown fields.
func (r *Record) UnmarshalJSON(data []byte) error {
	var wire recordJSON
	if err := decodeStrict(data, &wire); err != nil {
		return err
	}
	*r = Record{Submission: wire.Submission, SubmittedAt: wire.SubmittedAt, TINMatchFailed: wire.TINMatchFailed}
	return nil
}

// LogValue logs the record with its TINs masked (see Submission.LogValue).
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("submission", r.Submission),
		slog.Time("submitted_at", r.SubmittedAt),
		slog.Bool("tin_match_failed", r.TINMatchFailed),
	)
}

// Change is an edit of the profile's legal name or US TIN made without a new
// form. An empty field is a field the edit did not touch.
type Change struct {
	At        time.Time `json:"at"`
	LegalName string    `json:"legal_name,omitempty"`
	TIN       string    `json:"tin,omitempty"`
}

// w8ValidYears: a W-8 signed in year Y stays valid until December 31 of
// Y+w8ValidYears (SPEC §5.1; IRS W-8BEN instructions, "Expiration of Form
// W-8BEN": the last day of the third succeeding calendar year).
const w8ValidYears = 3

// w8ExpiresAt is the first instant at which a W-8 signed on signed is expired:
// January 1 of the fourth year after the signature year, 00:00 UTC.
func w8ExpiresAt(signed time.Time) time.Time {
	return time.Date(signed.UTC().Year()+w8ValidYears+1, time.January, 1, 0, 0, 0, 0, time.UTC)
}

// ExpiresAt returns the first instant at which the form is expired and true,
// or false for a form that does not expire (a W-9). A W-8BEN signed on
// 2026-09-04 is valid through 2029-12-31T23:59:59.999999999Z and expires at
// 2030-01-01T00:00:00Z.
func (s Submission) ExpiresAt() (time.Time, bool) {
	if !s.Form.IsW8() {
		return time.Time{}, false
	}
	return w8ExpiresAt(s.SignedOn), true
}

// Standing is the status of a tax profile at an instant, the form that
// counts (nil when none does) and, when not valid, why.
type Standing struct {
	Status Status
	Record *Record
	Cause  Cause
}

// StatusAt is StandingAt without the cause.
func StatusAt(records []Record, changes []Change, at time.Time) (Status, *Record) {
	standing := StandingAt(records, changes, at)
	return standing.Status, standing.Record
}

// StandingAt evaluates a profile's history at the instant at (for the close:
// the cutoff, SPEC §3.1):
//
//   - Only records submitted strictly before at count; at or after at, a form
//     counts from the next evaluation (SPEC §3.2 "as of the cutoff").
//   - Of those, the newest (latest SubmittedAt; on a tie, the later in the
//     slice) is the form that counts, valid or not: a newer form replaces an
//     older one even when the newer one turns out to be bad.
//   - None: missing.
//   - TINMatchFailed: invalid.
//   - A W-9 is invalid when a change made at or after its submission and
//     strictly before at gives a legal name or a TIN different from the form's,
//     and stays invalid until a new W-9 is submitted, even if a later change
//     restores the old value (SPEC §5.1: a new W-9 must be signed). Names
//     compare ignoring case and runs of spaces, TINs ignoring dashes.
//   - A W-9 without a TIN (applied for) is invalid: it is payable only with
//     backup withholding (see Payable).
//   - A W-8 is expired from January 1 of the fourth year after the year it
//     was signed (ExpiresAt).
//
// Records are taken as validated at submission: StandingAt does not re-run
// Validate, so a later change of the format rules never retroactively
// invalidates a signed form. The returned Record is a copy.
func StandingAt(records []Record, changes []Change, at time.Time) Standing {
	newest := -1
	for i := range records {
		if !records[i].SubmittedAt.Before(at) {
			continue
		}
		if newest < 0 || !records[i].SubmittedAt.Before(records[newest].SubmittedAt) {
			newest = i
		}
	}
	if newest < 0 {
		return Standing{Status: StatusMissing, Cause: CauseNoForm}
	}
	record := records[newest]
	standing := Standing{Status: StatusInvalid, Record: &record}
	if record.TINMatchFailed {
		standing.Cause = CauseTINMatchFailed
		return standing
	}
	if record.Form == FormW9 {
		if cause := w9ChangedCause(record, changes, at); cause != CauseNone {
			standing.Cause = cause
			return standing
		}
		if strings.TrimSpace(record.TIN) == "" {
			standing.Cause = CauseTINMissing
			return standing
		}
	}
	if expires, ok := record.ExpiresAt(); ok && !at.Before(expires) {
		return Standing{Status: StatusExpired, Record: &record, Cause: CauseExpired}
	}
	return Standing{Status: StatusValid, Record: &record}
}

// w9ChangedCause reports whether a change in [record.SubmittedAt, at) gave
// the profile a legal name or TIN different from the W-9's.
func w9ChangedCause(record Record, changes []Change, at time.Time) Cause {
	for _, change := range changes {
		if change.At.Before(record.SubmittedAt) || !change.At.Before(at) {
			continue
		}
		if change.LegalName != "" && !sameName(change.LegalName, record.LegalName) {
			return CauseLegalNameChanged
		}
		if change.TIN != "" && canonicalTIN(change.TIN) != canonicalTIN(record.TIN) {
			return CauseTINChanged
		}
	}
	return CauseNone
}

// sameName compares legal names ignoring case and runs of white space: such
// edits do not change who the form is about.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

func canonicalTIN(tin string) string {
	if digits, err := NormalizeTIN(tin); err == nil {
		return digits
	}
	return strings.TrimSpace(tin)
}
