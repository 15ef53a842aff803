// Package sim drives payrun's real services — the same schema, import,
// close, release and reports — through months of a seeded marketplace with
// a fake clock (SPEC §10).
//
// A simulation populates the marketplace (accounts from
// ledger.GenerateAccounts, then per publisher a status, agreement
// acceptances, a payout account, a tax form and a hold, each drawn from the
// seed: W-9s, W-8BENs with and without treaty claims, W-8BEN-Es, missing
// and expired forms, unverified payout accounts, holds), then for every
// payment month imports the sales that mature into it, plays the month-end
// edge cases (payout accounts changed on the 28th, holds switched on one
// second before and exactly at the cutoff), closes the cycle, loads FX
// rates, releases the payment files and writes the workbook and
// cycles/<M>/result.json.
//
// Determinism: every random choice comes from PCG generators seeded from
// the seed; every instant comes from the Clock; the outputs are ordered.
// The same seed gives the same bytes.
package sim
