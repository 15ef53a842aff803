#!/usr/bin/env bash
# deps.sh — installs, with apt-get, the outside tools payrun's tests run:
# tools nobody here wrote, checking our output against published formats.
#   xmllint (libxml2-utils): validates pain.001 files against the EPC XSD
#   promtool (prometheus): checks /metrics output, alert rules and their tests
#   openpyxl (python3-openpyxl) for /usr/bin/python3: reads our workbooks
#   wrk: loads the admin API in make bench
#   soffice (libreoffice-calc, run headless: soffice --headless --convert-to
#     pdf), pdftotext and pdftoppm (poppler-utils), and the Carlito font
#     (fonts-crosextra-carlito, metric-compatible with Calibri, the workbooks'
#     font): print the cycle workbook to PDF and read the pages back
#   chromium (Debian's package, /usr/bin/chromium): the browser the finance
#     console's tests drive with chromedp (testsupport/browser); never a
#     browser build downloaded by a library
#   redocly (npm, into .tools/): lints the OpenAPI document
#   axe-core (npm, into .tools/): the accessibility rules the console's tests
#     run inside every page (.tools/node_modules/axe-core/axe.min.js)
set -euo pipefail

missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
/usr/bin/python3 -c 'import openpyxl' >/dev/null 2>&1 || missing+=(python3-openpyxl)
# wrk loads the admin API in `make bench`.
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# LibreOffice prints the workbooks to PDF (reports' print test, docs/workbook).
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-calc)
command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
fc-list Carlito 2>/dev/null | grep -q . || missing+=(fonts-crosextra-carlito)
# Chromium runs the finance console's browser tests (testsupport/browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)

# The OpenAPI linter (redocly), from the npm registry, into .tools/ (git-ignored);
# pinned: later versions need Node 22.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -x "$root/.tools/node_modules/.bin/redocly" ]; then
	command -v npm >/dev/null 2>&1 || { echo "deps: npm is needed for the OpenAPI linter (apt-get install npm)" >&2; exit 1; }
	echo "deps: installing @redocly/cli into .tools/" >&2
	npm install --prefix "$root/.tools" --no-audit --no-fund --loglevel=error @redocly/cli@2.77.0 >&2
fi
# axe-core, run inside the console's pages by its browser tests; pinned so the
# rules (and so the tests' verdicts) change only when we move the pin.
axe_core_version=4.14.1
if ! grep -qs "\"version\": \"$axe_core_version\"" "$root/.tools/node_modules/axe-core/package.json"; then
	command -v npm >/dev/null 2>&1 || { echo "deps: npm is needed for axe-core (apt-get install npm)" >&2; exit 1; }
	echo "deps: installing axe-core $axe_core_version into .tools/" >&2
	npm install --prefix "$root/.tools" --no-audit --no-fund --loglevel=error --save-exact "axe-core@$axe_core_version" >&2
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "deps: install ${missing[*]} (needs root)" >&2; exit 1; }
	sudo=sudo
fi
echo "deps: installing ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
