#!/usr/bin/env bash
# The long simulation sweep (`make sim-long`): many seeds × 24 months of a
# thousand publishers, every close crashed at a point drawn from the seed,
# every invariant checked after every cycle. Each seed runs on a new
# database; a failure prints its seed, and
#   payrun simulate --seed S --publishers N --months K --faults
# replays it exactly. SEEDS, PUBLISHERS, MONTHS override the sweep.
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-"1 2 3 4 5 6 7 8 9 10"}
PUBLISHERS=${PUBLISHERS:-1000}
MONTHS=${MONTHS:-24}
SERVER=${DATABASE_URL:-$(cat .data/database_url 2>/dev/null || true)}
if [ -z "$SERVER" ]; then
	echo "sim-long: no database: run \`make db\` or set DATABASE_URL" >&2
	exit 2
fi
# The server's maintenance database, to create one database per seed.
ADMIN="${SERVER%/*}/postgres"
case "$SERVER" in *\?*) ADMIN="$ADMIN?${SERVER#*\?}" ;; esac

go build -o bin/payrun ./cmd/payrun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for seed in $SEEDS; do
	name="payrun_sim_long_${seed}_$$"
	psql "$ADMIN" -qc "CREATE DATABASE $name" >/dev/null
	url="${SERVER%/*}/$name"
	case "$SERVER" in *\?*) url="$url?${SERVER#*\?}" ;; esac
	echo "== seed $seed: $PUBLISHERS publishers × $MONTHS months, faults on"
	if ! DATABASE_URL="$url" PAYRUN_DEV=1 bin/payrun simulate --seed "$seed" --publishers "$PUBLISHERS" --months "$MONTHS" \
		--faults --out "$work/$seed" >"$work/$seed.log" 2>&1; then
		echo "FAILED (seed $seed):"
		tail -5 "$work/$seed.log"
		failed=1
	else
		grep -E 'cycle\(s\) in' "$work/$seed.log" || true
	fi
	psql "$ADMIN" -qc "DROP DATABASE $name" >/dev/null
done
exit $failed
