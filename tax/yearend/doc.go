// Package yearend builds the year-end tax data of SPEC §5.5 (issue 3 item
// 7, issue 6 item 3) from Postgres and writes it with package reports:
//
//	<dir>/1042-S-<Y>.xlsx, <dir>/1042-S-<Y>.csv   W-8 recipients, a row per recipient and rate
//	<dir>/1099-<Y>.xlsx,   <dir>/1099-<Y>.csv     W-9 recipients, a row per recipient
//	<dir>/tins-<Y>-UNMASKED.csv                   only when full TINs are asked for
//
// `payrun tax year-end` and the yearly year-end-tax-reports job call Write.
//
// # What counts
//
//   - Payments dated in the tax year: payouts with status paid of the
//     cycles whose payment_date is in the year and whose state is released
//     or settled (payment files sent). A closed cycle not yet released has
//     paid nobody yet and is left out.
//   - Gross is the US-sourced amount paid: the payout's withholding_base,
//     max(0, US-sourced balance) (SPEC §5.2); tax withheld is the payout's
//     withheld; the rate and its reason are the payout's. Income code 12
//     (other royalties) for every row: it is the only income payrun pays.
//   - The form that counted for a payout is the one the close used: the
//     newest tax form submitted before the cycle's cutoff. W-8BEN and
//     W-8BEN-E payouts go to the 1042-S data, W-9 payouts to the 1099 data.
//     A recipient whose form changed during the year (a W-8 replaced by a
//     W-9) appears in both, each with the payouts its form covered.
//   - A paid payout without any form is impossible (the close holds it);
//     meeting one is an error (ErrNoForm), not a silently dropped row.
//
// # Decisions where SPEC is silent
//
//   - 1042-S rows group by recipient and rate; the reason column lists
//     every distinct reason of those payouts ("treaty_not_in_force" and
//     "w8_no_treaty" can both give 30%). Recipient data (legal name,
//     country, entity type, address, masked TINs) comes from the newest of
//     the forms that counted for the row's payouts.
//   - Gross and withheld are exact sums of the payouts; gross (whose bases
//     carry sub-cents) is rounded half-up to the cent once per row, never
//     per payout, so a row shows the amount a form would carry.
//   - Returned payments stay in the year they were paid: their withholding
//     stays withheld (SPEC §6.3) and the re-payment is of non-US balance,
//     so it is never counted twice.
//   - 1099 "Transactions" counts the US-sourced purchases the year's W-9
//     payouts consumed (the sales a 1099-K transaction test counts), and
//     1099 gross is the US-sourced amount like every other row (SPEC §5.5);
//     finance should confirm this for 1099-K/1099-MISC filing.
//   - Thresholds (DefaultThresholds, configurable with flags): 1099-K for
//     gross ≥ $20,000 and ≥ 200 transactions (IRC §6050W(e) as restored by
//     Public Law 119-21, 2025); otherwise 1099-MISC for gross ≥ $10, the
//     royalties threshold of box 2 (IRS Instructions for Forms 1099-MISC),
//     or whenever backup withholding was taken. reports.Form1099Kind applies
//     them with ≥. Check them every year.
//   - Output is deterministic: rows ordered by seller id (and rate), the
//     workbooks' document times fixed at the end of the tax year, and every
//     file read in one REPEATABLE READ snapshot so all files agree.
//
// # TINs
//
// The data files carry masked TINs only ("*****6789"). Full TINs, needed
// to file, are written only when asked for (Options.FullTINs), by
// taxstore.Store.Reveal, into a separate CSV created with permissions 0600:
// one row per form that counted in the year (seller id, form, form id,
// legal name, US TIN, foreign TIN). The caller warns on stderr.
//
// # Failure modes
//
//   - ErrYear: a year outside 2000..9999.
//   - reports.ErrFileExists: an output file exists and Overwrite was not
//     asked for; checked for every file before anything is written.
//   - ErrOutputNotWritable, ErrNoForm, database and reports errors
//     (wrapped). Each file is published atomically; a failure part-way can
//     leave the files written before it, never a partial file.
package yearend
