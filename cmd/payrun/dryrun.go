package main

// dryRunWrote says what a `cycle close --dry-run` wrote and what it did
// not: its database work is rolled back, and the one file it writes is the
// DRAFT workbook (none with --no-workbook, when workbook is empty).
func dryRunWrote(workbook string) string {
	if workbook == "" {
		return "the database is unchanged (rolled back); no file was written (--no-workbook)"
	}
	return "the database is unchanged (rolled back); wrote the DRAFT workbook " + workbook + " only"
}
