#!/usr/bin/env bash
# The admin API walk-through of the README, runnable as it stands: an operator
# onboards a publisher account, its administrator signs in, links the owner's
# personal identity, adds a user, sets the payout account, submits a W-9 and
# switches the payment hold on. Every call prints its HTTP status; an
# unexpected status stops the script.
#
# Needs curl and jq, a fresh database and development mode (the data key and
# originator samples). `make walkthrough` does it all: it builds bin/payrun and
# runs this script with --fresh, which (re)creates a payrun_walkthrough
# database on the server of DATABASE_URL (psql, as `make demo` does) and uses
# it. By hand:
#
#   PAYRUN=bin/payrun PAYRUN_DEV=1 DATABASE_URL=postgres://... bash docs/walkthrough.sh [--fresh]
#
# It starts `payrun serve` on PAYRUN_ADDR (default 127.0.0.1:8080) and stops
# it at the end. A test (cmd/payrun, TestREADMEWalkthroughRuns) runs this file
# against a fresh database, so the README cannot drift from what works.
set -euo pipefail

PAYRUN=${PAYRUN:-payrun}
ADDR=${PAYRUN_ADDR:-127.0.0.1:8080}
export PAYRUN_ADDR=$ADDR
API=http://$ADDR/v1
H='Content-Type: application/json'
if [ "${1:-}" = --fresh ]; then
	server=${DATABASE_URL:?"walkthrough: --fresh needs DATABASE_URL (make walkthrough sets it)"}
	psql "$server" -qc "DROP DATABASE IF EXISTS payrun_walkthrough WITH (FORCE)" -c "CREATE DATABASE payrun_walkthrough" >/dev/null ||
		{ echo "walkthrough: cannot create the payrun_walkthrough database on $server" >&2; exit 1; }
	base=${server%%\?*}
	query=${server#"$base"}
	export DATABASE_URL="${base%/*}/payrun_walkthrough$query"
	echo "walkthrough: a fresh database, $DATABASE_URL"
fi
for tool in curl jq; do
	command -v "$tool" >/dev/null || { echo "walkthrough: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done

# call EXPECTED METHOD URL [BODY] [HEADER...]: prints the status and the body;
# stops when the status is not EXPECTED. The body is left in $BODY and the
# response's ETag (what the next update of that resource sends as If-Match)
# in $ETAG.
call() {
	local expected=$1 method=$2 url=$3 body=${4:-}
	shift 4 || shift $#
	local args=(-s -o /tmp/walkthrough.$$ -D /tmp/walkthrough-headers.$$ -w '%{http_code}' -X "$method" "$url" -H "$H")
	[ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
	[ -n "$body" ] && args+=(-d "$body")
	for header in "$@"; do args+=(-H "$header"); done
	local status
	status=$(curl "${args[@]}")
	BODY=$(cat /tmp/walkthrough.$$)
	ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' /tmp/walkthrough-headers.$$ | tr -d '\r')
	rm -f /tmp/walkthrough.$$ /tmp/walkthrough-headers.$$
	echo "$method ${url#"$API"} -> $status"
	[ -n "$BODY" ] && jq . <<<"$BODY" 2>/dev/null | sed 's/^/    /' || true
	if [ "$status" != "$expected" ]; then
		echo "walkthrough: expected $expected" >&2
		exit 1
	fi
}

# token NAME PASSWORD: signs in and prints the bearer token.
token() {
	TOKEN='' call 200 POST "$API/token" "$(jq -nc --arg u "$1" --arg p "$2" '{grant_type:"password",username:$u,password:$p}')" >/dev/null
	jq -r .access_token <<<"$BODY"
}

echo "== set-up (command line)"
$PAYRUN migrate
SELLER=$($PAYRUN accounts create --type company --country US --name Contoso --json | jq -r .seller_id)
echo "seller id: $SELLER"
ONE_TIME=$($PAYRUN operators create --user opsie --role ops --json | jq -r .one_time_password)
echo "operator opsie created (one-time password captured)"

$PAYRUN serve >/tmp/walkthrough-serve.$$.log 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null; rm -f /tmp/walkthrough-serve.$$.log' EXIT
for _ in $(seq 1 100); do
	curl -sf "http://$ADDR/readyz" >/dev/null && break
	kill -0 $SERVE 2>/dev/null || { cat /tmp/walkthrough-serve.$$.log >&2; exit 1; }
	sleep 0.2
done
echo "payrun serve is ready on $ADDR"

echo "== the operator changes the one-time password, then creates the account's tenant"
TOKEN=$(token opsie "$ONE_TIME")
call 204 POST "$API/me/password" "$(jq -nc --arg c "$ONE_TIME" '{current_password:$c,new_password:"correct horse battery staple"}')"
TOKEN=$(token opsie 'correct horse battery staple')
call 201 POST "$API/accounts/$SELLER/tenants" '{"domain_name":"contoso","contact_email":"it@contoso.example","admin_first_name":"Ada","admin_last_name":"Lovelace","admin_user_name":"ada","admin_password":"temporary password 1"}'
TENANT=$(jq -r .tenant_id <<<"$BODY")

echo "== the publisher's administrator signs in and changes the temporary password"
TOKEN=$(token ada@contoso.onmicrosoft.com 'temporary password 1')
call 204 POST "$API/me/password" '{"current_password":"temporary password 1","new_password":"ada secret passphrase"}'
TOKEN=$(token ada@contoso.onmicrosoft.com 'ada secret passphrase')
A=$API/accounts/$SELLER

echo "== link the owner's personal identity (required before financial details), add a user"
call 204 PUT "$A/owner-identity" '{"email":"owner@contoso.example","password":"owner personal passphrase"}'
call 201 POST "$A/users" "$(jq -nc --arg t "$TENANT" '{tenant_id:$t,first_name:"Grace",last_name:"Hopper",user_name:"grace",roles:["financial_contributor"]}')" 'Idempotency-Key: add-grace-1'

echo "== the payout account: updates send the ETag they read (If-Match); a bad routing number is a 400 naming the field"
call 200 GET "$A/payout-account"
READ=$ETAG
BANK='{"method":"bank","holder_name":"Contoso Inc","currency":"USD","bank_country":"US","account_type":"checking","account_number":"123456789"'
call 428 PUT "$A/payout-account" "$BANK,\"routing_number\":\"011000015\"}"
call 400 PUT "$A/payout-account" "$BANK,\"routing_number\":\"011000016\"}" "If-Match: $READ"
call 200 PUT "$A/payout-account" "$BANK,\"routing_number\":\"011000015\"}" "If-Match: $READ"

echo "== a W-9, then the payment hold"
call 201 POST "$A/tax-forms" '{"form":"W-9","legal_name":"Contoso Inc","entity_type":"corporation","residence_country":"US","permanent_address":{"line1":"1 Main","city":"Redmond","region":"WA","country":"US"},"tin":"12-3456789","tin_kind":"ein","signer_name":"Ada","signed_on":"2026-11-20"}'
call 200 GET "$A/payment-hold"
call 200 PUT "$A/payment-hold" '{"on":true}' "If-Match: $ETAG"

echo "== the audit log has every change"
call 200 GET "$API/audit?limit=3"
echo "walkthrough: done"
