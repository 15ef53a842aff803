package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/internal/pgbinary"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/tax/taxstore"
)

// cycleRow is a cycles row.
type cycleRow struct {
	Month     time.Time
	State     string
	Policy    []byte
	TreatySHA string
	Shards    int
}

// started is what the first step found or did.
type started struct {
	closed  *CloseResult // the cycle was past closing
	shards  int
	pending []int // shards not done yet
	done    int64 // accounts already decided (a resumed close)
	resumed bool
}

// start is the first step: in one transaction, create the cycle (state
// closing) and freeze its input — every account with a balance, what
// payout.Decide needs about it as of the cutoff, and its shard — or find
// the cycle started (then the input is already there) or past closing.
func (s *Store) start(ctx context.Context, ses *session, calendar payout.Calendar, options CloseOptions) (started, error) {
	defer func() {
		if !ses.dry {
			ses.rollback()
		}
	}()
	tx, err := ses.begin(ctx)
	if err != nil {
		return started{}, err
	}
	cycle, previous, err := s.startCycle(ctx, tx, calendar, options)
	if err != nil {
		return started{}, err
	}
	if cycle.State != StateClosing {
		result := CloseResult{Month: payout.MonthName(calendar.Month), State: cycle.State, AlreadyClosed: true, Shards: cycle.Shards}
		if result.Totals, err = cycleTotals(ctx, tx, calendar.Month); err != nil {
			return started{}, err
		}
		return started{closed: &result}, ses.commit(ctx)
	}
	var frozen bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cycle_shards WHERE month = $1)`, calendar.Month).Scan(&frozen); err != nil {
		return started{}, err
	}
	if !frozen {
		prevCutoff := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
		if previous != nil {
			prevCutoff = *previous
		}
		if err := s.freeze(ctx, tx, calendar, prevCutoff, cycle.Shards); err != nil {
			return started{}, err
		}
	}
	result := started{shards: cycle.Shards, resumed: frozen}
	rows, err := tx.Query(ctx, `SELECT shard, accounts_done, done_at IS NOT NULL FROM cycle_shards WHERE month = $1 ORDER BY shard`, calendar.Month)
	if err != nil {
		return started{}, err
	}
	for rows.Next() {
		var shard int
		var done int64
		var finished bool
		if err := rows.Scan(&shard, &done, &finished); err != nil {
			rows.Close()
			return started{}, err
		}
		result.done += done
		if !finished {
			result.pending = append(result.pending, shard)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return started{}, err
	}
	return result, ses.commit(ctx)
}

// startCycle creates the cycle row (state closing) or finds it, checks the
// order of cycles, and returns the previous cycle's cutoff (nil for the
// first cycle ever).
func (s *Store) startCycle(ctx context.Context, tx pgx.Tx, calendar payout.Calendar, options CloseOptions) (cycleRow, *time.Time, error) {
	var cycle cycleRow
	err := tx.QueryRow(ctx, `SELECT month, state, policy, treaty_sha256, shards FROM cycles WHERE month = $1 FOR UPDATE`,
		calendar.Month).Scan(&cycle.Month, &cycle.State, &cycle.Policy, &cycle.TreatySHA, &cycle.Shards)
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return cycle, nil, err
	}
	var previous *time.Time
	var earlier *time.Time
	if err := tx.QueryRow(ctx, `SELECT max(month) FROM cycles WHERE month < $1`, calendar.Month).Scan(&earlier); err != nil {
		return cycle, nil, err
	}
	if earlier != nil {
		expected := calendar.Month.AddDate(0, -1, 0)
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM cycles WHERE month = $1`, expected).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (state == StateOpen || state == StateClosing)) {
			return cycle, nil, fmt.Errorf("%w: close %s before %s", ErrPreviousOpen, payout.MonthName(expected), payout.MonthName(calendar.Month))
		}
		if err != nil {
			return cycle, nil, err
		}
		previous = &expected
	}
	if found && cycle.State != StateOpen {
		return cycle, previous, nil
	}
	var later bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cycles WHERE month > $1 AND state <> 'open')`, calendar.Month).Scan(&later); err != nil {
		return cycle, nil, err
	}
	if later {
		return cycle, nil, fmt.Errorf("%w than %s", ErrLaterCycle, payout.MonthName(calendar.Month))
	}
	// Every import that could stamp lines before the cutoff has committed
	// once we hold the import lock exclusively (see ledger.ImportLockKey).
	if err := s.importLock(ctx, tx); err != nil {
		return cycle, nil, err
	}
	treaties, err := taxstore.TreatyTableAt(ctx, s.DB, calendar.CloseAt)
	if err != nil {
		return cycle, nil, err
	}
	policy, err := json.Marshal(options.Policy)
	if err != nil {
		return cycle, nil, err
	}
	now := s.now()
	if _, err := tx.Exec(ctx, `
		INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256, shards) VALUES ($1, $7, $2, $3, $4, $5, $6)
		ON CONFLICT (month) DO UPDATE SET state = excluded.state, policy = excluded.policy, treaty_sha256 = excluded.treaty_sha256, shards = excluded.shards`,
		calendar.Month, calendar.Cutoff, calendar.PaymentDate, policy, treaties.Version(), options.Shards, StateClosing); err != nil {
		return cycle, nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cycle_events (month, state, at, actor, operator_id) VALUES ($1, $5, $2, $3, $4)`,
		calendar.Month, now, options.Actor, nullID(options.Operator), StateClosing); err != nil {
		return cycle, nil, err
	}
	cycle = cycleRow{Month: calendar.Month, State: StateClosing, Policy: policy, TreatySHA: treaties.Version(), Shards: options.Shards}
	return cycle, previous, nil
}

// importLock takes the earnings import lock exclusively for tx: it waits
// for every running import to commit (imports hold it shared for their whole
// transaction, which can take minutes for a big file) and logs that wait —
// who holds it, since when — at once and every db.LockWaitReport.
func (s *Store) importLock(ctx context.Context, tx pgx.Tx) error {
	return db.AcquireLock(ctx, tx, tx.Conn().PgConn().PID(), s.DB, logging.FromContext(ctx), db.Lock{
		What: "the earnings import lock (every running earnings import holds it until it commits)",
		Try:  `SELECT pg_try_advisory_xact_lock($1)`, Take: `SELECT pg_advisory_xact_lock($1)`, Args: []any{ledger.ImportLockKey}})
}

// ShardOf is the shard of an account in a cycle split into shards: a
// 64-bit mix of the id (splitmix64's finaliser), so neighbouring ids spread
// evenly, modulo the count. It never changes for a cycle.
func ShardOf(accountID int64, shards int) int {
	x := uint64(accountID)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % uint64(shards))
}

// freeze writes the cycle's input: inputQuery streamed from a connection of
// its own (a plain SELECT, so Postgres may use parallel workers) into a COPY
// on tx, then one cycle_shards row per shard.
// Memory stays flat: one row at a time. The import lock (taken by
// startCycle, and again here for a cycle some older version left closing
// without input) guarantees no line stamped before the cutoff commits later.
func (s *Store) freeze(ctx context.Context, tx pgx.Tx, calendar payout.Calendar, prevCutoff time.Time, shards int) error {
	if err := s.importLock(ctx, tx); err != nil {
		return err
	}
	counts := make([]int64, shards)
	err := db.WithPgx(ctx, s.DB, func(reader *pgx.Conn) error {
		return db.PgxTx(ctx, reader, func(read pgx.Tx) error {
			// The joins hash every history and the month's balances: give
			// them the memory to stay off disk (this transaction only). And
			// no JIT: the planner cannot estimate the rows of joins on the
			// full-joined balances' account, puts the query's cost far above
			// jit_optimize_above_cost, and compiling it with LLVM took ~0.95 s
			// of a 1 s query (100k publishers) — it never pays off here.
			if _, err := read.Exec(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
				return err
			}
			if _, err := read.Exec(ctx, `SET LOCAL jit = off`); err != nil {
				return err
			}
			// The whole agreements catalogue (a few rows): AgreementsHold
			// decides which versions count at the cutoff.
			catalogue, err := read.Query(ctx, `SELECT name, version, published_at, required_for_payout, grace_days FROM agreements ORDER BY name, version`)
			if err != nil {
				return fmt.Errorf("cycle input: agreements: %w", err)
			}
			agreements, err := pgx.CollectRows(catalogue, pgx.RowToStructByName[accounts.AgreementVersion])
			if err != nil {
				return fmt.Errorf("cycle input: agreements: %w", err)
			}
			// Every column in binary: inputSource passes most of them to the
			// COPY as they come.
			rows, err := read.Query(ctx, inputQuery, pgx.QueryResultFormats{pgx.BinaryFormatCode},
				calendar.Cutoff, prevCutoff, calendar.Month.AddDate(0, -1, 0))
			if err != nil {
				return fmt.Errorf("cycle input: %w", err)
			}
			defer rows.Close()
			source := &inputSource{rows: rows, month: calendar.Month, counts: counts, cutoff: calendar.Cutoff, agreements: agreements}
			if _, err := pgbinary.Copy(ctx, tx.Conn().PgConn(), "cycle_inputs", inputColumns, pgbinary.Reader(source.next)); err != nil {
				if source.err != nil {
					return fmt.Errorf("cycle input: %w", source.err)
				}
				return fmt.Errorf("cycle input: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	shardRows := make([][]any, shards)
	for shard, count := range counts {
		shardRows[shard] = []any{calendar.Month, shard, count}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"cycle_shards"}, []string{"month", "shard", "accounts"}, pgx.CopyFromRows(shardRows))
	return err
}

var inputColumns = []string{"month", "shard", "account_id", "seller_id", "opening_us", "opening_other", "new_us", "new_other",
	"account_status", "hold_on", "agreement_hold", "payout_account_id", "method", "currency", "bank_country", "payout_account_status",
	"tax_form_id", "submitted_at", "tin_match_failed", "changes"}

// inputSource feeds inputQuery's rows to COPY, adding month, shard and the
// agreements check. The query's columns come in binary, and those stored as
// they are (numbers, numerics, texts, instants: the same types in the query
// and in cycle_inputs) go to the COPY byte for byte, never decoded.
type inputSource struct {
	rows   pgx.Rows
	month  time.Time
	counts []int64
	err    error
	// cutoff and the agreements catalogue, for holdsAgreement.
	cutoff     time.Time
	agreements []accounts.AgreementVersion
	accepted   []accounts.Acceptance
	// The account's agreement acceptances (parallel arrays), whenever made.
	agreementNames      []string
	agreementVersions   []int32
	agreementAcceptedAt []time.Time
}

// inputQuery's columns, by position.
const (
	inAccountID = iota
	inSellerID
	inOpeningUS
	inOpeningOther
	inNewUS
	inNewOther
	inAccountStatus
	inHoldOn
	inAgreementNames
	inAgreementVersions
	inAgreementAcceptedAt
	inPayoutAccountID
	inMethod
	inCurrency
	inBankCountry
	inPayoutAccountStatus
	inTaxFormID
	inSubmittedAt
	inTINMatchFailed
	inChanges
	inColumns
)

// next appends the next account's cycle_inputs tuple (inputColumns), or
// returns io.EOF after the last.
func (i *inputSource) next(buf []byte) ([]byte, error) {
	if !i.rows.Next() {
		if err := i.rows.Err(); err != nil {
			i.err = err
			return buf, err
		}
		return buf, io.EOF
	}
	raw := i.rows.RawValues()
	if len(raw) != inColumns || len(raw[inAccountID]) != 8 {
		i.err = fmt.Errorf("input row: %d columns, account id of %d bytes", len(raw), len(raw[inAccountID]))
		return buf, i.err
	}
	accountID := int64(binary.BigEndian.Uint64(raw[inAccountID]))
	holds, err := i.holdsAgreement(raw)
	if err != nil {
		i.err = fmt.Errorf("account %d: agreements: %w", accountID, err)
		return buf, i.err
	}
	shard := ShardOf(accountID, len(i.counts))
	i.counts[shard]++
	buf = pgbinary.AppendTupleStart(buf, len(inputColumns))
	buf = pgbinary.AppendDate(buf, i.month)
	buf = pgbinary.AppendInt4(buf, int32(shard))
	for _, c := range []int{inAccountID, inSellerID, inOpeningUS, inOpeningOther, inNewUS, inNewOther, inAccountStatus, inHoldOn} {
		buf = appendRaw(buf, raw[c])
	}
	buf = pgbinary.AppendBool(buf, holds)
	for _, c := range []int{inPayoutAccountID, inMethod, inCurrency, inBankCountry, inPayoutAccountStatus, inTaxFormID, inSubmittedAt, inTINMatchFailed} {
		buf = appendRaw(buf, raw[c])
	}
	return pgbinary.AppendJSONB(buf, raw[inChanges]), nil // json's binary form is its text
}

// appendRaw appends a value exactly as the query sent it (nil: NULL).
func appendRaw(buf, value []byte) []byte {
	if value == nil {
		return pgbinary.AppendNull(buf)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(value)))
	return append(buf, value...)
}

// holdsAgreement is check 2 of SPEC §3.2, decided by accounts.AgreementsHold
// — the same function behind the account's agreements view — on the
// catalogue and the account's acceptances.
func (i *inputSource) holdsAgreement(raw [][]byte) (bool, error) {
	i.agreementNames, i.agreementVersions, i.agreementAcceptedAt = i.agreementNames[:0], i.agreementVersions[:0], i.agreementAcceptedAt[:0]
	if raw[inAgreementNames] != nil {
		// Decoded only for accounts that accepted something.
		m := i.rows.Conn().TypeMap()
		for _, column := range []struct {
			index int
			dest  any
		}{{inAgreementNames, &i.agreementNames}, {inAgreementVersions, &i.agreementVersions}, {inAgreementAcceptedAt, &i.agreementAcceptedAt}} {
			field := i.rows.FieldDescriptions()[column.index]
			if err := m.Scan(field.DataTypeOID, field.Format, raw[column.index], column.dest); err != nil {
				return false, err
			}
		}
	}
	i.accepted = i.accepted[:0]
	for k := range i.agreementNames {
		i.accepted = append(i.accepted, accounts.Acceptance{Name: i.agreementNames[k], Version: int(i.agreementVersions[k]), AcceptedAt: i.agreementAcceptedAt[k]})
	}
	return accounts.AgreementsHold(i.agreements, i.accepted, i.cutoff), nil
}

// inputQuery reads, for every account with a non-zero balance in the cycle,
// everything payout.Decide needs as of the cutoff ($1). Cost follows the
// month: the previous cycle's payouts rows ($3), the returns recorded in the
// window, and the earnings totals of the months in [previous cutoff ($2),
// cutoff) — the lines available in the window, summed by their imports;
// never older months, never a line. Each history is read once, latest event per
// account before the cutoff (DISTINCT ON), and hash-joined to the balances,
// rather than probed once per account. The agreements check is the one
// exception: the query returns the account's acceptances and inputSource
// decides with accounts.AgreementsHold.
//
// Every part is one set joined by account, never a subquery run per account
// (each such SubPlan cost ~3.5 µs per account, 0.7 s of a 100k-publisher
// freeze): the balance's three parts are full-joined (one row per account
// each, so no second aggregation over their union: that re-aggregation of
// four numeric sums cost 0.6 s), the earnings totals are summed in account
// order (a sort and a streaming aggregate: half the time of hashing 100k
// groups of numeric sums), and the failed TIN matches and the profile
// changes since the form are joined as sets.
const inputQuery = `
WITH et AS (
    SELECT account_id, coalesce(sum(amount) FILTER (WHERE us_sourced), 0) AS new_us,
           coalesce(sum(amount) FILTER (WHERE NOT us_sourced), 0) AS new_other
      FROM (SELECT account_id, us_sourced, amount FROM earnings_totals WHERE month >= $2 AND month < $1 ORDER BY account_id) t
     GROUP BY account_id
), prev AS (
    SELECT account_id, carried_us, carried_other FROM payouts WHERE month = $3
), ret AS (
    SELECT account_id, sum(amount_usd) AS returned FROM payout_returns WHERE recorded_at >= $2 AND recorded_at < $1 GROUP BY account_id
), balances AS (
    SELECT account_id, coalesce(carried_us, 0) AS opening_us, coalesce(carried_other, 0) + coalesce(returned, 0) AS opening_other,
           coalesce(new_us, 0) AS new_us, coalesce(new_other, 0) AS new_other
      FROM et FULL JOIN prev USING (account_id) FULL JOIN ret USING (account_id)
), st AS (
    SELECT DISTINCT ON (account_id) account_id, status FROM account_status_events
     WHERE at < $1 ORDER BY account_id, at DESC, id DESC
), h AS (
    SELECT DISTINCT ON (account_id) account_id, hold_on FROM payment_hold_events
     WHERE at < $1 ORDER BY account_id, at DESC, id DESC
), pa AS (
    SELECT DISTINCT ON (account_id) account_id, id, method, currency, bank_country FROM payout_accounts
     WHERE created_at < $1 ORDER BY account_id, created_at DESC, id DESC
), pe AS (
    SELECT DISTINCT ON (payout_account_id) payout_account_id, status FROM payout_account_events
     WHERE at < $1 ORDER BY payout_account_id, at DESC, id DESC
), tf AS (
    SELECT DISTINCT ON (account_id) account_id, id, submitted_at FROM tax_forms
     WHERE submitted_at < $1 ORDER BY account_id, submitted_at DESC, id DESC
), tm AS (
    SELECT DISTINCT tax_form_id FROM tin_match_results WHERE NOT matched AND at < $1
), ch AS (
    SELECT c.account_id, json_agg(json_build_object('at', c.at, 'legal_name', coalesce(c.legal_name, ''), 'tin_digest', coalesce(encode(c.tin_digest, 'hex'), '')) ORDER BY c.at, c.id) AS changes
      FROM tax_profile_changes c JOIN tf ON tf.account_id = c.account_id
     WHERE c.at >= tf.submitted_at AND c.at < $1
     GROUP BY c.account_id
), ag AS (
    -- Every acceptance, whenever made: accounts.AgreementsHold (called by
    -- inputSource) decides what counts as of the cutoff.
    SELECT account_id, array_agg(name ORDER BY name, version) AS names, array_agg(version ORDER BY name, version) AS versions,
           array_agg(accepted_at ORDER BY name, version) AS accepted_at
      FROM agreement_acceptances GROUP BY account_id
)
SELECT b.account_id, a.seller_id, b.opening_us, b.opening_other, b.new_us, b.new_other,
       coalesce(st.status, '') AS account_status,
       coalesce(h.hold_on, false) AS hold_on,
       ag.names AS agreement_names, ag.versions AS agreement_versions, ag.accepted_at AS agreement_accepted_at,
       pa.id AS payout_account_id, coalesce(pa.method, '') AS method, coalesce(pa.currency, '') AS currency,
       coalesce(pa.bank_country, '') AS bank_country, coalesce(pe.status, '') AS payout_account_status,
       tf.id AS tax_form_id, tf.submitted_at,
       tm.tax_form_id IS NOT NULL AS tin_match_failed,
       coalesce(ch.changes, '[]') AS changes
FROM balances b
JOIN accounts a ON a.id = b.account_id
LEFT JOIN st ON st.account_id = b.account_id
LEFT JOIN h ON h.account_id = b.account_id
LEFT JOIN pa ON pa.account_id = b.account_id
LEFT JOIN pe ON pe.payout_account_id = pa.id
LEFT JOIN tf ON tf.account_id = b.account_id
LEFT JOIN tm ON tm.tax_form_id = tf.id
LEFT JOIN ch ON ch.account_id = b.account_id
LEFT JOIN ag ON ag.account_id = b.account_id
WHERE b.opening_us + b.new_us <> 0 OR b.opening_other + b.new_other <> 0`
