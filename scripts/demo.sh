#!/usr/bin/env bash
# demo.sh — `make demo`: payrun on a seeded, realistic month, from nothing.
#
# It runs against its own database (payrun_demo) on the private cluster that
# `make db` started, dropped and created anew on every run, so it can be
# re-run at will. With DATABASE_URL pointing at an outside server, that
# server must let us create the payrun_demo database.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
payrun=bin/payrun
out=${PAYRUN_OUT:-out}/demo
server=${DATABASE_URL:?run make db first}

# Step titles in bold only on a terminal, and never with NO_COLOR set
# (https://no-color.org): a pipe or a log file gets plain text.
bold='' plain=''
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$'\033[1m' plain=$'\033[0m'
fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

# A fresh demo database and output directory each run.
psql "$server" -qc "DROP DATABASE IF EXISTS payrun_demo WITH (FORCE)" -c "CREATE DATABASE payrun_demo" >/dev/null 2>&1 ||
	{ echo "demo: cannot create the payrun_demo database on $server" >&2; exit 1; }
rm -rf "$out"
export DATABASE_URL=${server/\/payrun\?/\/payrun_demo?}
[ "$DATABASE_URL" != "$server" ] || export DATABASE_URL="${server%/*}/payrun_demo?sslmode=disable"
export PAYRUN_OUT=$out PAYRUN_DEV=1

step "migrate a new database"
$payrun migrate

step "simulate November 2026: 1,200 publishers in 19 countries, September's 60,000 sales, then close, FX and release"
echo "(W-9s, W-8BENs with and without treaty claims, W-8BEN-Es, missing and expired forms, holds switched on"
echo " one second before and exactly at the cutoff, payout accounts changed on Oct 28, refunds, and five"
echo " hand-made publishers at and just under the \$50.00 threshold)"
# Its progress lines (stderr) show as it goes; the development-mode banner
# every command prints is dropped.
$payrun simulate --seed 2026 --publishers 1200 --months 1 --lines 60000 --first-month 2026-11 2>&1 |
	grep --line-buffered -v '^\*\*\* PAYRUN_DEV=1' | sed -u 's/^/  /'

step "the cycle as finance sees it"
$payrun cycle show --month 2026-11 2>/dev/null

step "PayPal's per-item maximum (SPEC §6.2): a payment above 20,000.00 USD (or its equivalent) goes out as several items"
python3 - "$out/cycles/2026-11/result.json" <<'PY'
import json, sys
for a in json.load(open(sys.argv[1]))["accounts"]:
    items = a.get("paypal_items")
    if items:
        parts = " + ".join(i["paid_in_currency"] for i in items)
        print(f'  {a["seller_id"]}: one payment, {a["payment_id"]} ({a["paid_in_currency"]} {a["currency"]}), was split into {len(items)} items: {parts}')
        print(f'    sender_item_ids {items[0]["item_id"]} .. {items[-1]["item_id"]}, all in one PayPal request; it stays one payment everywhere else')
PY

step "exactly once: closing and releasing again change nothing"
$payrun cycle close --month 2026-11 2>/dev/null | sed -n 1p || true
$payrun cycle release --month 2026-11 2>/dev/null | sed -n 1p || true

step "the threshold, exactly (SPEC §3.2): paid at \$50.00, carried at \$49.99"
python3 - "$out/cycles/2026-11/result.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
for a in result["accounts"]:
    if a["seller_id"].startswith("SHOW-"):
        print(f'  {a["seller_id"]:18} {a["status"]:8} balance {a["balance"]:>11}  withheld {a["withheld"]:>6}  paid {a["paid"]:>6}  {",".join(a["reasons"])}')
PY

step "a bounced payment (SPEC §6.3): PayPal reports one item RETURNED"
returned=$(python3 - "$out/cycles/2026-11/result.json" <<'PY'
import json, sys
paid = [a for a in json.load(open(sys.argv[1]))["accounts"] if a["file"] == "paypal" and a["currency"] == "USD" and not a.get("paypal_items")]
a = paid[0]
print(f'{a["seller_id"]} {a["paid"]}')
PY
)
seller=${returned% *}; amount=${returned#* }
payment=$(psql "$DATABASE_URL" -tAc "SELECT payment_id FROM payments p JOIN accounts a ON a.id = p.account_id WHERE a.seller_id = '$seller' AND p.month = '2026-11-01'")
printf 'sender_item_id,transaction_status,amount,currency,time_processed,reason\n%s,RETURNED,%s,USD,2026-11-18T10:00:00Z,RECEIVER_ACCOUNT_LOCKED\n' "$payment" "$amount" >"$out/paypal-status.csv"
$payrun returns import "$out/paypal-status.csv" 2>/dev/null
echo "  $seller's payout account now needs an update; the \$$amount comes back into December's balance, unwithheld."
$payrun cycle show --month 2026-11 2>/dev/null | grep returned || true

step "a held publisher's payouts, as it sees them (SPEC §7.12): balance by state, reasons and remedies, the next payment"
held=$(python3 - "$out/cycles/2026-11/result.json" <<'PY'
import json, sys
held = [a for a in json.load(open(sys.argv[1]))["accounts"] if a["status"] == "held" and len(a["reasons"]) > 1]
print(held[0]["seller_id"])
PY
)
echo "  (payrun payouts summary --seller $held; over the API: GET /v1/accounts/$held/payouts/summary, as of 20 November)"
PAYRUN_NOW=2026-11-20T12:00:00Z $payrun payouts summary --seller "$held" 2>/dev/null | sed 's/^/  /'

step "payment files"
ls -1 "$out/cycles/2026-11/" | sed 's/^/  /'
echo "  first lines of the ACH file:"
head -3 "$out/cycles/2026-11/ach-2026-11.txt" | sed 's/^/    /'

step "where everything is"
echo "  workbook (open it in LibreOffice or Excel): $out/cycles/2026-11/payout-summary-2026-11.xlsx"
echo "  payment files and manifest:                $out/cycles/2026-11/"
echo "  per-account results:                       $out/cycles/2026-11/result.json"
echo "  database:                                  $DATABASE_URL"
echo "  review it in the browser (the finance console):"
echo "    DATABASE_URL='$DATABASE_URL' PAYRUN_OUT=$out PAYRUN_DEV=1 $payrun operators create --user ann --role finance_approver"
echo "    DATABASE_URL='$DATABASE_URL' PAYRUN_OUT=$out PAYRUN_DEV=1 $payrun serve"
echo "    then open http://127.0.0.1:8080/console/ and sign in as ann with the one-time password printed"
echo
echo "demo: done in ${SECONDS} s"
