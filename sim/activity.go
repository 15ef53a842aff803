package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/tax"
)

// Shares of the marketplace that act in a given month of a seeded run, in
// tenths of a percent (drawn per publisher and month from the seed).
const (
	perMilleHoldOn          = 10  // switch the hold on at 23:59:59 on the last day, or exactly at the cutoff
	perMilleHoldOff         = 200 // ... or off again, when it is on
	perMillePayoutChange    = 12  // replace the payout account on the 28th
	perMilleW9NameChange    = 20  // of W-9 publishers: edit the legal name without a new form
	perMilleExpiredRenewal  = 300
	perMilleLateAgreement   = 40 // accept the new agreement version a month late
	agreementV3MonthIndex   = 3  // the month (0-based) before which version 3 is published
	agreementV3GraceDays    = 14
	autoVerifyDelayDuration = 72 * time.Hour
)

// activity plays a seeded marketplace's months: every choice comes from a
// generator seeded with the seed and the month, so the same seed plays the
// same months.
type activity struct {
	s        *Services
	seed     uint64
	profiles []Profile
	accounts *accounts.Service
	// hold is each publisher's current hold switch; renamed publishers
	// re-sign their W-9 in the following month; late are the publishers that
	// accept agreement version 3 a month late.
	hold    map[int64]bool
	renamed map[int64]bool
	late    map[int64]bool
	// outDir holds the released files the banks' return files are built
	// from; returned are the publishers whose last payment came back (their
	// payout account is needs_update until they give a new one).
	outDir   string
	returned map[int64]bool
}

func newActivity(s *Services, seed uint64, profiles []Profile, outDir string) *activity {
	a := &activity{s: s, seed: seed, profiles: profiles, accounts: s.accountService(),
		hold: map[int64]bool{}, renamed: map[int64]bool{}, late: map[int64]bool{}, outDir: outDir, returned: map[int64]bool{}}
	for _, p := range profiles {
		a.hold[p.AccountID] = p.Hold
	}
	return a
}

// month plays what happens during the month before payment month M (index
// i of the run): on the 10th, corrected and renewed tax forms and agreement
// acceptances; on the 15th, W-9 legal-name edits; on the 18th, the bank's
// and PayPal's return files for the previous cycle's payments
// (seededReturns); on the 28th, payout accounts replaced (and new ones given
// by the publishers whose payment came back); at 23:59:59 on the last day and exactly at the cutoff,
// hold switches; on the 3rd of M, the automatic verifier answers for the
// payout accounts replaced on the 28th (too late for M's cutoff: they are
// held once, then paid in full).
func (a *activity) month(ctx context.Context, month time.Time, i int) error {
	r := rand.New(rand.NewPCG(a.seed, 0x6163746976697479^uint64(month.Unix())))
	before := month.AddDate(0, -1, 0)
	roll := func(perMille int) bool { return r.IntN(1000) < perMille }
	type draw struct {
		rename, renew, change, edgeToggle, cutoffToggle, late bool
	}
	draws := make([]draw, len(a.profiles))
	for k, p := range a.profiles {
		holdToggle := perMilleHoldOn
		if a.hold[p.AccountID] {
			holdToggle = perMilleHoldOff
		}
		draws[k] = draw{
			rename:       p.Form == tax.FormW9 && roll(perMilleW9NameChange),
			renew:        p.Expired && roll(perMilleExpiredRenewal),
			change:       p.Method != "" && (roll(perMillePayoutChange) || (i == 0 && p.ChangedLate)),
			edgeToggle:   roll(holdToggle) || (i == 0 && p.HoldAtEdge),
			cutoffToggle: roll(holdToggle) || (i == 0 && p.HoldAtCutoff),
			late:         roll(perMilleLateAgreement),
		}
	}
	system := accounts.System("simulator")
	steps := []struct {
		at time.Time
		do func(k int, p Profile) error
	}{
		{before.AddDate(0, 0, 9), func(k int, p Profile) error {
			if i == agreementV3MonthIndex && k == 0 {
				if _, err := a.accounts.PublishAgreement(ctx, system, accounts.AgreementVersion{Name: Agreement, Version: 3,
					PublishedAt: a.s.Clock.Now(), RequiredForPayout: true, GraceDays: agreementV3GraceDays}); err != nil {
					return err
				}
			}
			switch {
			case a.renamed[p.AccountID]:
				delete(a.renamed, p.AccountID)
				return a.s.taxFormSigned(ctx, p, a.s.Clock.Now(), "Publisher "+p.SellerID+" Renamed")
			case draws[k].renew:
				p.Expired = false
				a.profiles[k].Expired = false
				return a.s.taxFormSigned(ctx, p, a.s.Clock.Now(), "")
			}
			return nil
		}},
		{before.AddDate(0, 0, 11), func(k int, p Profile) error {
			accept := (i == agreementV3MonthIndex && !p.NoAgreement && !draws[k].late) || (i == agreementV3MonthIndex+1 && a.late[p.AccountID])
			if i == agreementV3MonthIndex && draws[k].late {
				a.late[p.AccountID] = true
			}
			if !accept {
				return nil
			}
			_, err := a.accounts.AcceptAgreement(ctx, system, p.AccountID, Agreement, 3)
			return err
		}},
		{before.AddDate(0, 0, 14), func(k int, p Profile) error {
			if !draws[k].rename {
				return nil
			}
			a.renamed[p.AccountID] = true
			return a.s.Taxes.ChangeProfile(ctx, p.AccountID, "Publisher "+p.SellerID+" Renamed", "", p.SellerID, a.s.Clock.Now())
		}},
		{before.AddDate(0, 0, 17), func(k int, p Profile) error {
			if k != 0 || i == 0 {
				return nil // once, for the previous cycle of this run
			}
			returned, err := seededReturns(ctx, a.s, a.seed, a.outDir, before)
			for _, id := range returned {
				a.returned[id] = true
			}
			return err
		}},
		{before.AddDate(0, 0, 27), func(k int, p Profile) error {
			if !draws[k].change && !a.returned[p.AccountID] {
				return nil
			}
			delete(a.returned, p.AccountID)
			return a.s.payoutAccount(ctx, r, p, true)
		}},
		{month.Add(-time.Second), func(k int, p Profile) error { return a.toggle(ctx, p, draws[k].edgeToggle) }},
		{month, func(k int, p Profile) error { return a.toggle(ctx, p, draws[k].cutoffToggle) }},
	}
	for _, step := range steps {
		a.s.Clock.Set(step.at)
		for k, p := range a.profiles {
			if err := step.do(k, a.profiles[k]); err != nil {
				return fmt.Errorf("%s at %s: %w", p.SellerID, step.at.Format(time.RFC3339), err)
			}
		}
	}
	a.s.Clock.Set(month.AddDate(0, 0, 2))
	_, err := a.s.Store.AutoVerify(ctx, autoVerifyDelayDuration, true)
	return err
}

// toggle flips a publisher's hold switch when drawn to.
func (a *activity) toggle(ctx context.Context, p Profile, flip bool) error {
	if !flip {
		return nil
	}
	on := !a.hold[p.AccountID]
	a.hold[p.AccountID] = on
	_, err := a.s.Store.SetHold(ctx, p.AccountID, on, p.SellerID)
	return err
}
