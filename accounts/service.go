package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
)

// DefaultInvitationTTL is how long an invitation stays valid (SPEC §7.5
// says they expire; 14 days is the common directory default).
const DefaultInvitationTTL = 14 * 24 * time.Hour

// Service is the account-settings domain: everything here runs in one
// database transaction per call and writes its audit entry in it.
type Service struct {
	DB        *sqlx.DB
	Now       func() time.Time
	Directory Directory
	// OutDir is where outbox mail is written as files (<OutDir>/outbox);
	// empty writes none (the outbox table still records every message).
	OutDir string
	// InvitationTTL is how long invitations stay valid; zero means
	// DefaultInvitationTTL.
	InvitationTTL time.Duration
	// Mailer, when set, sends outbox mail (SMTP) instead of writing files.
	Mailer Mailer
	// Hashing bounds concurrent argon2id work; nil means the process-wide
	// bound of one slot per CPU (tests give a server its own).
	Hashing *Hashing
}

// New returns a Service over the built-in Postgres directory.
func New(database *sqlx.DB, now func() time.Time, outDir string) *Service {
	return &Service{DB: database, Now: now, Directory: PostgresDirectory{}, OutDir: outDir}
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) invitationTTL() time.Duration {
	if s.InvitationTTL > 0 {
		return s.InvitationTTL
	}
	return DefaultInvitationTTL
}

// PrincipalKind is what kind of principal a token stands for.
type PrincipalKind string

// Principal kinds.
const (
	KindUser     PrincipalKind = "user"     // a directory user, through a tenant
	KindOwner    PrincipalKind = "owner"    // the account owner's personal identity
	KindApp      PrincipalKind = "app"      // a directory app (client credentials)
	KindOperator PrincipalKind = "operator" // platform staff
	KindSystem   PrincipalKind = "system"   // payrun itself (CLI, jobs)
)

// Principal is who is acting: the subject of a bearer token, or the system.
type Principal struct {
	Kind      PrincipalKind `json:"kind"`
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	AccountID int64         `json:"-"`
	// TenantID is the tenant a user or app signed in through (0 otherwise).
	TenantID    int64         `json:"-"`
	GlobalAdmin bool          `json:"global_admin,omitempty"`
	Restricted  bool          `json:"restricted,omitempty"`
	TokenID     int64         `json:"-"`
	Permissions PermissionSet `json:"-"`
}

// System is the principal of payrun's own actions.
func System(name string) Principal { return Principal{Kind: KindSystem, Name: name} }

// Actor is how the principal is written in histories and the audit log.
func (p Principal) Actor() string { return string(p.Kind) + ":" + p.Name }

// AccountBySellerID returns a publisher account. Errors: ErrNotFound.
func (s *Service) AccountBySellerID(ctx context.Context, sellerID string) (ledger.Account, error) {
	account, err := ledger.AccountBySellerID(ctx, s.DB, sellerID)
	if errors.Is(err, ledger.ErrUnknownSeller) {
		return ledger.Account{}, notFound("seller_id", "no account %q", sellerID)
	}
	return account, err
}

// AccountByID returns a publisher account. Errors: ErrNotFound.
func (s *Service) AccountByID(ctx context.Context, id int64) (ledger.Account, error) {
	return accountByID(ctx, s.DB, id, false)
}

func accountByID(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (ledger.Account, error) {
	var account ledger.Account
	query := `SELECT id, seller_id, publisher_id, account_type, registration_country, display_name, created_at FROM accounts WHERE id = $1`
	if lock {
		// Every change to an account's settings locks its accounts row first:
		// one lock order, no deadlocks, and changes to one account serialise.
		query += ` FOR UPDATE`
	}
	if err := sqlx.GetContext(ctx, q, &account, query, id); err != nil {
		if isNoRows(err) {
			return ledger.Account{}, notFound("seller_id", "no such account")
		}
		return ledger.Account{}, err
	}
	return account, nil
}

// tx runs fn in a transaction.
func (s *Service) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return db.WithTx(ctx, s.DB, fn)
}

// audit writes one audit-log entry in tx. before and after are marshalled to
// JSON with every secret-looking field redacted.
func audit(ctx context.Context, tx sqlx.ExecerContext, accountID int64, actor Principal, at time.Time, action, target string, before, after any) error {
	var account any
	if accountID != 0 {
		account = accountID
	}
	beforeJSON, err := redactedJSON(before)
	if err != nil {
		return err
	}
	afterJSON, err := redactedJSON(after)
	if err != nil {
		return err
	}
	var actorID any
	if actor.Kind != KindSystem && actor.ID != 0 {
		actorID = actor.ID
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO audit_log (account_id, actor, actor_id, at, action, target, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, account, actor.Actor(), actorID, at, action, target, beforeJSON, afterJSON)
	return err
}

// secretWords mark JSON keys whose values never reach the audit log: a key
// is secret when one of its underscore-separated words is one of these.
var secretWords = map[string]bool{"password": true, "secret": true, "token": true, "hash": true, "tin": true, "iban": true, "number": true}

// Redact replaces the value of every object key that names a secret
// (password, secret, token, hash, TIN, IBAN, account number) with
// "[redacted]", at any depth. Keys ending in _last4 or _masked are kept:
// they hold the masked form.
func Redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, inner := range t {
			if secretKey(k) {
				t[k] = "[redacted]"
			} else {
				t[k] = Redact(inner)
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = Redact(t[i])
		}
		return t
	default:
		return v
	}
}

func secretKey(key string) bool {
	words := strings.Split(strings.ToLower(key), "_")
	if last := words[len(words)-1]; last == "last4" || last == "masked" {
		return false
	}
	for _, w := range words {
		if secretWords[w] {
			return true
		}
	}
	return false
}

func redactedJSON(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	out, err := json.Marshal(Redact(generic))
	if err != nil {
		return nil, err
	}
	return string(out), nil
}

// AuditEntry is one audit-log row.
type AuditEntry struct {
	ID       int64     `db:"id" json:"id"`
	SellerID *string   `db:"seller_id" json:"seller_id,omitempty"`
	Actor    string    `db:"actor" json:"actor"`
	At       time.Time `db:"at" json:"at"`
	Action   string    `db:"action" json:"action"`
	Target   string    `db:"target" json:"target"`
	Before   JSON      `db:"before" json:"before"`
	After    JSON      `db:"after" json:"after"`
}

// AuditLog lists audit entries with id > afterID, oldest first; accountID 0
// lists every account's (and account-less) entries.
func (s *Service) AuditLog(ctx context.Context, accountID, afterID int64, limit int) ([]AuditEntry, error) {
	var entries []AuditEntry
	err := s.DB.SelectContext(ctx, &entries, `
		SELECT l.id, a.seller_id, l.actor, l.at, l.action, l.target, l.before, l.after
		FROM audit_log l LEFT JOIN accounts a ON a.id = l.account_id
		WHERE l.id > $1 AND ($2 = 0 OR l.account_id = $2)
		ORDER BY l.id LIMIT $3`, afterID, accountID, limit)
	return entries, err
}

// AddAuditEntry records a change made outside this package (the financial
// services) in the audit log.
func (s *Service) AddAuditEntry(ctx context.Context, accountID int64, actor Principal, action, target string, before, after any) error {
	return audit(ctx, s.DB, accountID, actor, s.now(), action, target, before, after)
}

// mail is a message queued in the outbox. body is what is delivered;
// storedBody (the same with secrets replaced) is what the table keeps.
type mail struct {
	id         int64
	kind       string
	to         string
	subject    string
	body       string
	storedBody string
}

func queueMail(ctx context.Context, tx sqlx.QueryerContext, at time.Time, m *mail) error {
	return sqlx.GetContext(ctx, tx, &m.id, `
		INSERT INTO outbox (kind, to_address, subject, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		m.kind, m.to, m.subject, m.storedBody, at)
}

// deliver sends queued mail after its transaction committed: through the
// Mailer (SMTP) when one is set, else as files under OutDir/outbox (one RFC
// 5322 message per file). Only here does a message carry its secrets (an
// invitation or reset token): the outbox row keeps the redacted body. A
// failure leaves the row unsent (sent_via empty), to be resent.
func (s *Service) deliver(ctx context.Context, mails []mail) error {
	if s.Mailer != nil {
		for _, m := range mails {
			if err := s.Mailer.Send(m.to, m.subject, m.body, s.now()); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			if _, err := s.DB.ExecContext(ctx, `UPDATE outbox SET sent_via = 'smtp', sent_at = $1 WHERE id = $2`, s.now(), m.id); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
		}
		return nil
	}
	if s.OutDir == "" {
		return nil
	}
	dir := filepath.Join(s.OutDir, "outbox")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	for _, m := range mails {
		name := fmt.Sprintf("%08d-%s.eml", m.id, m.kind)
		message := fmt.Sprintf("To: %s\r\nSubject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", m.to, m.subject, m.body)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(message), 0o600); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if _, err := s.DB.ExecContext(ctx, `UPDATE outbox SET file_name = $1, sent_via = 'file', sent_at = $2 WHERE id = $3`, name, s.now(), m.id); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return nil
}

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }

// uniqueViolation reports whether err is a unique-constraint violation, and
// of which constraint.
func uniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// oneRow turns "no row affected" into ifNone.
func oneRow(result sql.Result, err error, ifNone error) error {
	if err != nil {
		return err
	}
	n, err := result.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ifNone
	}
	return nil
}

// JSON is a JSON document read from a jsonb column (null when NULL).
type JSON []byte

// Scan implements sql.Scanner.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append(JSON(nil), v...)
	case string:
		*j = JSON(v)
	default:
		return fmt.Errorf("JSON: cannot scan %T", src)
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}
