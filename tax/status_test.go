package tax

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestW8ExpiresAtEndOfThirdYear(t *testing.T) {
	records := []Record{record(w8ben("DE"), time.Date(2026, time.September, 4, 9, 0, 0, 0, time.UTC))}

	status, rec := StatusAt(records, nil, time.Date(2029, time.December, 31, 23, 59, 59, 0, time.UTC))
	require.Equal(t, StatusValid, status)
	require.NotNil(t, rec)

	status, _ = StatusAt(records, nil, time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC))
	require.Equal(t, StatusExpired, status)
	require.Equal(t, "tax_profile_expired", status.HoldReason())

	expires, ok := w8ben("DE").ExpiresAt()
	require.True(t, ok)
	require.Equal(t, time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC), expires)
	_, ok = w9Individual().ExpiresAt()
	require.False(t, ok, "a W-9 does not expire")

	// Signed on the last day of a year: the year counts, not 3×365 days.
	lastDay := w8bene("GB")
	lastDay.SignedOn = date(2026, time.December, 31)
	expires, _ = lastDay.ExpiresAt()
	require.Equal(t, date(2030, time.January, 1), expires)
}

func TestW9NeverExpires(t *testing.T) {
	records := []Record{record(w9Individual(), date(2001, time.March, 1))}
	status, _ := StatusAt(records, nil, date(2060, time.January, 1))
	require.Equal(t, StatusValid, status)
}

func TestStatusCutoffIsStrict(t *testing.T) {
	cutoff := date(2026, time.November, 1)
	atCutoff := []Record{record(w8ben("DE"), cutoff)}
	status, rec := StatusAt(atCutoff, nil, cutoff)
	require.Equal(t, StatusMissing, status, "a form submitted at the cutoff instant counts from the next cycle")
	require.Nil(t, rec)
	require.Equal(t, "tax_profile_missing", status.HoldReason())

	justBefore := []Record{record(w8ben("DE"), cutoff.Add(-time.Nanosecond))}
	status, _ = StatusAt(justBefore, nil, cutoff)
	require.Equal(t, StatusValid, status)

	// A newer form after the cutoff does not replace the one before it.
	both := []Record{record(w8ben("DE"), cutoff.Add(-time.Hour)), record(withTreaty(w8ben("DE"), "0"), cutoff.Add(time.Hour))}
	status, rec = StatusAt(both, nil, cutoff)
	require.Equal(t, StatusValid, status)
	require.Nil(t, rec.Treaty)
	_, rec = StatusAt(both, nil, cutoff.Add(2*time.Hour))
	require.NotNil(t, rec.Treaty)
}

func TestNewestFormCounts(t *testing.T) {
	at := date(2027, time.January, 1)
	expiredOld := w8ben("DE")
	expiredOld.SignedOn = date(2020, time.June, 1)
	records := []Record{
		record(w8ben("DE"), date(2026, time.September, 4)),
		record(expiredOld, date(2026, time.October, 1)), // newer submission, older signature
	}
	status, rec := StatusAt(records, nil, at)
	require.Equal(t, StatusExpired, status, "the newest submission counts even if an older one was valid")
	require.Equal(t, date(2020, time.June, 1), rec.SignedOn)

	// Order in the slice does not matter; SubmittedAt does.
	status, _ = StatusAt([]Record{records[1], records[0]}, nil, at)
	require.Equal(t, StatusExpired, status)

	// The returned record is a copy.
	rec.LegalName = "changed"
	require.Equal(t, "Erika Mustermann", records[1].LegalName)
}

func TestW9NameChangeInvalidatesUntilNewW9(t *testing.T) {
	signed := time.Date(2026, time.March, 3, 10, 0, 0, 0, time.UTC)
	records := []Record{record(w9Individual(), signed)}
	renamed := time.Date(2026, time.May, 20, 8, 0, 0, 0, time.UTC)
	changes := []Change{{At: renamed, LegalName: "Jane Q Smith"}}

	status, _ := StatusAt(records, changes, date(2026, time.May, 1))
	require.Equal(t, StatusValid, status, "the change comes after this cutoff")

	standing := StandingAt(records, changes, date(2026, time.June, 1))
	require.Equal(t, StatusInvalid, standing.Status)
	require.Equal(t, CauseLegalNameChanged, standing.Cause)
	require.Equal(t, "tax_profile_invalid", standing.Status.HoldReason())

	// Renaming back does not revive the old W-9.
	changes = append(changes, Change{At: renamed.Add(24 * time.Hour), LegalName: "Jane Q Public"})
	status, _ = StatusAt(records, changes, date(2026, time.June, 1))
	require.Equal(t, StatusInvalid, status)

	// A new W-9 with the new name is valid from the next cutoff after it.
	renewed := w9Individual()
	renewed.LegalName = "Jane Q Smith"
	records = append(records, record(renewed, time.Date(2026, time.June, 10, 0, 0, 0, 0, time.UTC)))
	changes = changes[:1]
	status, _ = StatusAt(records, changes, date(2026, time.June, 1))
	require.Equal(t, StatusInvalid, status)
	status, rec := StatusAt(records, changes, date(2026, time.July, 1))
	require.Equal(t, StatusValid, status)
	require.Equal(t, "Jane Q Smith", rec.LegalName)
}

func TestW9ChangeRules(t *testing.T) {
	signed := date(2026, time.March, 3)
	at := date(2026, time.July, 1)
	records := []Record{record(w9Individual(), signed)}
	for _, tc := range []struct {
		name   string
		change Change
		want   Status
		cause  Cause
	}{
		{"case and spacing only", Change{At: signed.Add(time.Hour), LegalName: "  jane  q PUBLIC "}, StatusValid, CauseNone},
		{"same TIN with dashes", Change{At: signed.Add(time.Hour), TIN: "123-45-6789"}, StatusValid, CauseNone},
		{"new TIN", Change{At: signed.Add(time.Hour), TIN: "123-45-6780"}, StatusInvalid, CauseTINChanged},
		{"name change before the form", Change{At: signed.Add(-time.Hour), LegalName: "Old Name"}, StatusValid, CauseNone},
		{"change at the submission instant", Change{At: signed, LegalName: "Other"}, StatusInvalid, CauseLegalNameChanged},
		{"change at the cutoff instant", Change{At: at, LegalName: "Other"}, StatusValid, CauseNone},
	} {
		standing := StandingAt(records, []Change{tc.change}, at)
		require.Equal(t, tc.want, standing.Status, tc.name)
		require.Equal(t, tc.cause, standing.Cause, tc.name)
	}

	// Changes do not affect a W-8.
	w8 := []Record{record(w8ben("DE"), signed)}
	status, _ := StatusAt(w8, []Change{{At: signed.Add(time.Hour), LegalName: "Other", TIN: "123456789"}}, at)
	require.Equal(t, StatusValid, status)
}

func TestTINMatchAndMissingTIN(t *testing.T) {
	at := date(2026, time.October, 1)
	failed := record(w9Individual(), date(2026, time.September, 5))
	failed.TINMatchFailed = true
	standing := StandingAt([]Record{failed}, nil, at)
	require.Equal(t, StatusInvalid, standing.Status)
	require.Equal(t, CauseTINMatchFailed, standing.Cause)

	appliedFor := w9Individual()
	appliedFor.TIN, appliedFor.TINKind, appliedFor.TINAppliedFor = "", "", true
	standing = StandingAt([]Record{record(appliedFor, date(2026, time.September, 5))}, nil, at)
	require.Equal(t, StatusInvalid, standing.Status)
	require.Equal(t, CauseTINMissing, standing.Cause)

	// A W-8 that failed matching is invalid, and invalid wins over expired.
	w8 := record(w8ben("DE"), date(2026, time.September, 5))
	w8.TINMatchFailed = true
	status, _ := StatusAt([]Record{w8}, nil, date(2031, time.January, 1))
	require.Equal(t, StatusInvalid, status)
}

func TestNoRecordsIsMissing(t *testing.T) {
	standing := StandingAt(nil, nil, date(2026, time.October, 1))
	require.Equal(t, Standing{Status: StatusMissing, Cause: CauseNoForm}, standing)
	require.Equal(t, "", StatusValid.HoldReason())
}
