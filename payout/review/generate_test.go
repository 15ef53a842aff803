package review_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
)

// generatedMonth is the cycle generateCycle writes.
var generatedMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// generateCycle writes publishers accounts and one closed cycle (2026-11)
// with a payouts row for each, straight into the tables with
// generate_series: the only way to build a 1M-publisher cycle in seconds
// (a simulated close of 1M publishers takes minutes). Every row satisfies
// payouts' CHECKs (conservation, paid iff paid_usd > 0, held and carried
// rows keep their whole balance). Deterministic: each row's draws are
// hashes of its id.
//
// The mix, chosen to look like a marketplace and to have rare values:
// 70% paid, 12% held, 18% carried; held by primary reason from
// account_not_verified (15% of held) to amount_over_rail_limit (0.5%, with payment_hold),
// several with a second reason; carried 85% below_threshold, 10%
// negative_balance, 5% zero_balance; bank 65% / PayPal 35%; USD 55%, EUR
// 25%, GBP 8%, JPY and CAD 3%, INR 2%, BRL and AUD 1.5%, CHF 0.8%, ISK
// 0.2% (none without a payout account: no_payout_account); 20
// registration countries from US (35%) to IS (0.1%). Seller ids are
// "S" + 10 digits in an order unrelated to the account ids (a bijection
// of them), as imported seller ids would be: walking accounts in seller
// order reads the payouts rows in random order. Display names are a word
// of 40 (Acme, Blue, ...), a word of 8 (Games, Apps, ...) and the id.
func generateCycle(t testing.TB, database *sqlx.DB, publishers int) {
	t.Helper()
	ctx := context.Background()
	for _, statement := range generateStatements {
		_, err := database.ExecContext(ctx, strings.ReplaceAll(statement, "$publishers", strconv.Itoa(publishers)))
		require.NoError(t, err, statement)
	}
}

var generateStatements = []string{
	`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256, shards, closed_at, closed_by)
	 VALUES ('2026-11-01', 'closed', '2026-11-01T00:00:00Z', '2026-11-16', '{}', repeat('0', 64), 8, '2026-11-05T06:00:00Z', 'generated')`,
	`INSERT INTO accounts (seller_id, publisher_id, account_type, registration_country, display_name, created_at)
	 SELECT 'S' || lpad(((i * 2654435761) % 4294967296)::text, 10, '0'),
	        'PUB' || i,
	        CASE WHEN i % 3 = 0 THEN 'company' ELSE 'individual' END,
	        CASE WHEN c < 3500 THEN 'US' WHEN c < 4500 THEN 'GB' WHEN c < 5400 THEN 'DE' WHEN c < 6000 THEN 'FR'
	             WHEN c < 6800 THEN 'IN' WHEN c < 7300 THEN 'JP' WHEN c < 7700 THEN 'BR' WHEN c < 8100 THEN 'CA'
	             WHEN c < 8400 THEN 'AU' WHEN c < 8650 THEN 'ES' WHEN c < 8900 THEN 'IT' WHEN c < 9100 THEN 'NL'
	             WHEN c < 9250 THEN 'SE' WHEN c < 9400 THEN 'PL' WHEN c < 9550 THEN 'MX' WHEN c < 9700 THEN 'KR'
	             WHEN c < 9800 THEN 'CH' WHEN c < 9900 THEN 'IE' WHEN c < 9990 THEN 'NO' ELSE 'IS' END,
	        (ARRAY['Acme','Blue','Contoso','Delta','Echo','Fabrikam','Granite','Harbor','Indigo','Juniper','Kestrel','Lumen',
	               'Maple','Nimbus','Orbit','Pixel','Quasar','Raven','Summit','Tundra','Umbra','Vertex','Willow','Xenon',
	               'Yonder','Zephyr','Alder','Birch','Cobalt','Dune','Ember','Fjord','Glacier','Heron','Iris','Jade',
	               'Koala','Lotus','Meteor','Nova'])[1 + abs(hashint8extended(i, 7)) % 40]
	        || ' ' || (ARRAY['Games','Apps','Studio','Labs','Software','Interactive','Media','Works'])[1 + abs(hashint8extended(i, 8)) % 8]
	        || ' ' || i,
	        timestamptz '2025-01-01T00:00:00Z'
	 FROM (SELECT i::bigint AS i, abs(hashint8extended(i, 1)) % 10000 AS c FROM generate_series(1, $publishers) i) g`,
	`INSERT INTO payouts (month, account_id, status, reasons, opening_us, opening_other, new_us, new_other,
	                      balance_us, balance_other, withholding_base, rate, rate_reason, withheld, paid_usd,
	                      carried_us, carried_other, method, currency, payment_id)
	 SELECT '2026-11-01', id, status, reasons, 0, 0, us, other, us, other,
	        CASE WHEN status = 'paid' THEN greatest(us, 0) ELSE 0 END,
	        CASE WHEN status = 'paid' THEN rate END,
	        CASE WHEN status = 'paid' THEN CASE WHEN rate = 0 THEN 'treaty' ELSE 'statutory' END ELSE '' END,
	        withheld, paid,
	        CASE WHEN status = 'paid' THEN 0 ELSE us END,
	        CASE WHEN status = 'paid' THEN us + other - withheld - paid ELSE other END,
	        method, currency,
	        CASE WHEN status = 'paid' THEN 'P202611' || lpad(id::text, 8, '0') END
	 FROM (
	   SELECT id, status, reasons, us, other, rate, method, currency,
	          CASE WHEN status = 'paid' THEN round(rate * greatest(us, 0), 2) ELSE 0 END AS withheld,
	          CASE WHEN status = 'paid' THEN floor((us + other - round(rate * greatest(us, 0), 2)) * 100) / 100 ELSE 0 END AS paid
	   FROM (
	     SELECT id, status, reasons,
	            round(CASE WHEN reasons[1] = 'negative_balance' THEN -(a % 5000) / 100.0 - 0.01
	                 WHEN reasons[1] = 'zero_balance' THEN 0.004
	                 WHEN reasons[1] = 'below_threshold' THEN (a % 2000) / 100.0 + 0.5
	                 ELSE 60 + (a % 800000) / 100.0 END * (b % 100) / 100.0 + 0.000123, 6) AS us,
	            round(CASE WHEN reasons[1] = 'negative_balance' THEN -(a % 300) / 100.0
	                 WHEN reasons[1] = 'zero_balance' THEN 0.000001
	                 WHEN reasons[1] = 'below_threshold' THEN (a % 2000) / 100.0 + 0.5
	                 ELSE 60 + (a % 800000) / 100.0 END * (100 - b % 100) / 100.0 + 0.000456, 6) AS other,
	            (ARRAY[0.30, 0.30, 0.15, 0.10, 0.05, 0, 0, 0])[1 + b % 8]::numeric(6, 4) AS rate,
	            CASE WHEN 'no_payout_account' = ANY (reasons) THEN NULL WHEN m < 65 THEN 'bank' ELSE 'paypal' END AS method,
	            CASE WHEN 'no_payout_account' = ANY (reasons) THEN NULL
	                 WHEN cu < 550 THEN 'USD' WHEN cu < 800 THEN 'EUR' WHEN cu < 880 THEN 'GBP' WHEN cu < 910 THEN 'JPY'
	                 WHEN cu < 940 THEN 'CAD' WHEN cu < 960 THEN 'INR' WHEN cu < 975 THEN 'BRL' WHEN cu < 990 THEN 'AUD'
	                 WHEN cu < 998 THEN 'CHF' ELSE 'ISK' END AS currency
	     FROM (
	       SELECT id, a, b, m, cu,
	              CASE WHEN s < 700 THEN 'paid' WHEN s < 820 THEN 'held' ELSE 'carried' END AS status,
	              CASE WHEN s < 700 THEN '{}'::text[]
	                   WHEN s < 820 THEN
	                     CASE WHEN r < 150 THEN ARRAY['account_not_verified', 'tax_profile_missing']
	                          WHEN r < 170 THEN ARRAY['agreement_not_accepted']
	                          WHEN r < 250 THEN ARRAY['payment_hold']
	                          WHEN r < 500 THEN ARRAY['no_payout_account', 'tax_profile_missing']
	                          WHEN r < 700 THEN ARRAY['payout_account_unverified']
	                          WHEN r < 900 THEN ARRAY['tax_profile_missing', 'below_threshold']
	                          WHEN r < 960 THEN ARRAY['tax_profile_expired']
	                          WHEN r < 995 THEN ARRAY['tax_profile_invalid']
	                          ELSE ARRAY['payment_hold', 'amount_over_rail_limit'] END
	                   ELSE CASE WHEN r < 850 THEN ARRAY['below_threshold'] WHEN r < 950 THEN ARRAY['negative_balance'] ELSE ARRAY['zero_balance'] END
	              END AS reasons
	       FROM (SELECT id, abs(hashint8extended(id, 11)) % 1000 AS s, abs(hashint8extended(id, 12)) % 1000 AS r,
	                    abs(hashint8extended(id, 13)) % 1000000007 AS a, abs(hashint8extended(id, 14)) % 1000 AS b,
	                    abs(hashint8extended(id, 15)) % 100 AS m, abs(hashint8extended(id, 16)) % 1000 AS cu
	             FROM accounts WHERE id <= $publishers) h
	     ) x
	   ) y
	 ) z`,
	`ANALYZE accounts, payouts`,
}
