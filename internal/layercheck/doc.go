// Package layercheck holds the test that keeps payrun's arrows pointing one
// way (issue 19):
//
//   - internal/ holds only leaf utilities: no package under internal/, test
//     files included, imports a payrun package outside internal/. Test
//     harnesses that build on the domain live in testsupport/, and the
//     metrics that read cycle totals in metrics/, above the domain.
//   - cmd/ parses flags and prints: no Go string in cmd/ (tests excepted)
//     holds SQL. What the commands ask of the database is asked of the
//     packages that own the tables (payout/cycle, payout/store, ledger, ...).
package layercheck
