package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/testsupport/fixture"
)

// SPEC §3.2, §7.10 through the real close: a required agreement version
// published at or after the cutoff, or whose grace period ends at or after
// it, does not hold that cycle; it holds the next one if still unaccepted.
// Each publisher has an agreement of its own (every other publisher accepts
// it when it is published), at −1 s, 0 and +1 s around the November cutoff,
// for the publication and for the end of a 14-day grace; and two more for an
// acceptance 1 s before and exactly at the cutoff. accounts.AgreementsHold,
// run on the facts read back from the database, must agree with the close.
func TestAgreementBoundariesThroughTheClose(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	cutoff := fixture.At("2026-11-01T00:00:00Z")
	grace := 14 * 24 * time.Hour
	type boundary struct {
		seller    string
		published time.Time
		graceDays int
		accepted  *time.Time // the publisher's own acceptance
		november  bool       // held in November
		december  bool       // held in December
	}
	at := func(t time.Time) *time.Time { return &t }
	cases := []boundary{
		{seller: "PUB-M1S", published: cutoff.Add(-time.Second), november: true, december: true},
		{seller: "PUB-0", published: cutoff, november: false, december: true},
		{seller: "PUB-P1S", published: cutoff.Add(time.Second), november: false, december: true},
		{seller: "GRACE-M1S", published: cutoff.Add(-grace - time.Second), graceDays: 14, november: true, december: true},
		{seller: "GRACE-0", published: cutoff.Add(-grace), graceDays: 14, november: false, december: true},
		{seller: "GRACE-P1S", published: cutoff.Add(-grace + time.Second), graceDays: 14, november: false, december: true},
		{seller: "ACCEPT-M1S", published: cutoff.AddDate(0, 0, -10), accepted: at(cutoff.Add(-time.Second)), november: false, december: false},
		{seller: "ACCEPT-0", published: cutoff.AddDate(0, 0, -10), accepted: at(cutoff), november: true, december: false},
	}
	agreement := func(c boundary) string { return "case-" + strings.ToLower(c.seller) }

	w.Set("2026-09-15T00:00:00Z")
	for _, c := range cases {
		w.Publisher(c.seller, fixture.Publisher{})
	}
	for _, c := range cases {
		_, err := w.DB.Exec(`INSERT INTO agreements (name, version, published_at, required_for_payout, grace_days) VALUES ($1, 1, $2, true, $3)`,
			agreement(c), c.published, c.graceDays)
		require.NoError(t, err)
		for _, other := range cases {
			acceptedAt := c.published
			switch {
			case other.seller == c.seller && c.accepted == nil:
				continue
			case other.seller == c.seller:
				acceptedAt = *c.accepted
			}
			_, err := w.DB.Exec(`INSERT INTO agreement_acceptances (account_id, name, version, accepted_at, accepted_by) VALUES ($1, $2, 1, $3, 'test')`,
				w.IDs[other.seller], agreement(c), acceptedAt)
			require.NoError(t, err)
		}
	}
	w.Set("2026-10-10T00:00:00Z")
	for _, c := range cases {
		w.Earn(c.seller, "GB", "100", "2026-10-20T00:00:00Z")
	}
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	w.Set("2026-11-10T00:00:00Z")
	for _, c := range cases {
		w.Earn(c.seller, "GB", "100", "2026-11-15T00:00:00Z")
	}
	w.Set("2026-12-05T06:00:00Z")
	w.Close("2026-12")

	var versions []accounts.AgreementVersion
	require.NoError(t, w.DB.Select(&versions, `SELECT name, version, published_at, required_for_payout, grace_days FROM agreements ORDER BY name, version`))
	for _, c := range cases {
		var accepted []accounts.Acceptance
		require.NoError(t, w.DB.Select(&accepted, `SELECT name, version, accepted_at, accepted_by FROM agreement_acceptances WHERE account_id = $1`, w.IDs[c.seller]))
		for _, month := range []struct {
			name string
			held bool
		}{{"2026-11", c.november}, {"2026-12", c.december}} {
			what := fmt.Sprintf("%s in %s", c.seller, month.name)
			require.Equal(t, month.held, accounts.AgreementsHold(versions, accepted, fixture.Month(month.name)), "AgreementsHold: %s", what)
			row := w.Payout(month.name, c.seller)
			if month.held {
				require.Equal(t, "held", row.Status, what)
				require.Equal(t, "agreement_not_accepted", row.Reasons, what)
			} else {
				require.Equal(t, "paid", row.Status, what)
				require.Empty(t, row.Reasons, what)
			}
		}
	}
}
