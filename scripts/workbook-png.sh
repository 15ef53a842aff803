#!/usr/bin/env bash
# workbook-png.sh WORKBOOK DIR — renders a cycle workbook as finance prints
# it: LibreOffice (headless) converts it to PDF with its own print setup,
# pdftoppm draws pages at 80 dpi. Writes into DIR:
#   summary.png         the Summary's first page (dates, totals, withholding)
#   summary-checks.png  the Summary's page with the checks
#   payouts-page1.png   the first page of the Payouts sheet
# The README's pictures (docs/workbook/) are made so from `make demo`'s
# workbook, after its returns import:
#   scripts/workbook-png.sh out/demo/cycles/2026-11/payout-summary-2026-11.xlsx docs/workbook
# Needs `make deps` (libreoffice-calc, poppler-utils, fonts-crosextra-carlito).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 WORKBOOK DIR" >&2; exit 2; }
workbook=$1 dir=$2
for tool in soffice pdftotext pdftoppm; do
	command -v "$tool" >/dev/null 2>&1 || { echo "workbook-png: $tool is missing: run make deps" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A private LibreOffice profile: no clash with a LibreOffice already running.
soffice "-env:UserInstallation=file://$work/profile" --headless --convert-to pdf --outdir "$work" "$workbook" >/dev/null 2>&1
pdf="$work/$(basename "${workbook%.xlsx}").pdf"
[ -f "$pdf" ] || { echo "workbook-png: LibreOffice wrote no PDF for $workbook" >&2; exit 1; }
pages=$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
# Each page's footer names its sheet ("… Summary … Page N of M").
sheet_of() { pdftotext -layout -f "$1" -l "$1" "$pdf" - | grep -E 'Page [0-9]+ of [0-9]+' | tail -1; }
summary_first='' summary_checks='' payouts_first=''
for ((page = 1; page <= pages; page++)); do
	footer=$(sheet_of "$page")
	case "$footer" in
	*" Summary "*)
		[ -n "$summary_first" ] || summary_first=$page
		if pdftotext -layout -f "$page" -l "$page" "$pdf" - | grep -qE '^\s*Checks\s+Result'; then summary_checks=$page; fi
		;;
	*" Payouts "*) [ -n "$payouts_first" ] || payouts_first=$page ;;
	esac
done
[ -n "$summary_first" ] && [ -n "$summary_checks" ] && [ -n "$payouts_first" ] ||
	{ echo "workbook-png: no Summary, checks or Payouts page found in $pdf" >&2; exit 1; }
mkdir -p "$dir"
render() { # page name
	pdftoppm -png -r 80 -f "$1" -l "$1" -singlefile "$pdf" "$dir/$2"
}
render "$summary_first" summary
render "$summary_checks" summary-checks
render "$payouts_first" payouts-page1
echo "workbook-png: $dir/summary.png (page $summary_first), summary-checks.png (page $summary_checks), payouts-page1.png (page $payouts_first) of $pages"
