package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/ledger"
)

// Step is a verification step (SPEC §7.1).
type Step string

// Verification steps.
const (
	StepEmail      Step = "email"
	StepEmployment Step = "employment"
	StepBusiness   Step = "business"
)

// StepState is a verification step's state.
type StepState string

// Step states.
const (
	StateNotStarted StepState = "not_started"
	StatePending    StepState = "pending"
	StatePassed     StepState = "passed"
	StateFailed     StepState = "failed"
)

// Account statuses (the values of account_status_events.status).
const (
	StatusPending   = "pending"
	StatusVerified  = "verified"
	StatusSuspended = "suspended"
	StatusClosed    = "closed"
)

// RequiredSteps lists the steps an account of a type must pass: individual
// accounts skip the business step.
func RequiredSteps(accountType ledger.AccountType) []Step {
	if accountType == ledger.Individual {
		return []Step{StepEmail, StepEmployment}
	}
	return []Step{StepEmail, StepEmployment, StepBusiness}
}

// DeriveStatus is the status the steps give: verified once every required
// step passed, pending otherwise. Suspension and closure are operator
// decisions that steps never override (see SetVerificationStep).
func DeriveStatus(accountType ledger.AccountType, states map[Step]StepState) string {
	for _, step := range RequiredSteps(accountType) {
		if states[step] != StatePassed {
			return StatusPending
		}
	}
	return StatusVerified
}

// StepStatus is one step's current state.
type StepStatus struct {
	Step      Step       `json:"step"`
	State     StepState  `json:"state"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// Contact is the seller contact (SPEC §7.3).
type Contact struct {
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Phone   string   `json:"phone,omitempty"`
	Address *Address `json:"address,omitempty"`
}

// Approver is the company approver: the person authorised to approve
// company decisions (SPEC §7.3).
type Approver struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
}

// AccountDetails is an account's settings as its users see them.
type AccountDetails struct {
	SellerID            string       `json:"seller_id"`
	PublisherID         string       `json:"publisher_id"`
	AccountType         string       `json:"account_type"`
	RegistrationCountry string       `json:"registration_country"`
	DisplayName         string       `json:"display_name"`
	Status              string       `json:"status"`
	Steps               []StepStatus `json:"verification_steps"`
	SellerContact       *Contact     `json:"seller_contact,omitempty"`
	CompanyApprover     *Approver    `json:"company_approver,omitempty"`
	Tenants             []Tenant     `json:"tenants"`
	OwnerIdentityLinked bool         `json:"owner_identity_linked"`
	CreatedAt           time.Time    `json:"created_at"`
	// Version backs the ETag; it changes with every settings update.
	Version string `json:"-"`
}

// AccountDetails loads an account's settings in one query (the admin API's
// most frequent read). Errors: ErrNotFound.
func (s *Service) AccountDetails(ctx context.Context, accountID int64) (AccountDetails, error) {
	var row struct {
		ledger.Account
		Status          string        `db:"status"`
		Steps           []byte        `db:"steps"`
		SellerContact   []byte        `db:"seller_contact"`
		CompanyApprover []byte        `db:"company_approver"`
		Version         sql.NullInt64 `db:"version"`
		Tenants         []byte        `db:"tenants"`
		OwnerLinked     bool          `db:"owner_linked"`
	}
	err := sqlx.GetContext(ctx, s.DB, &row, `
		SELECT a.id, a.seller_id, a.publisher_id, a.account_type, a.registration_country, a.display_name, a.created_at,
		       coalesce((SELECT status FROM account_status_events WHERE account_id = a.id ORDER BY at DESC, id DESC LIMIT 1), $2) AS status,
		       coalesce((SELECT json_agg(json_build_object('step', step, 'state', state, 'at', at))
		                   FROM (SELECT DISTINCT ON (step) step, state, at FROM verification_step_events
		                          WHERE account_id = a.id ORDER BY step, at DESC, id DESC) latest), '[]') AS steps,
		       c.seller_contact, c.company_approver, c.version,
		       coalesce((SELECT json_agg(json_build_object('tenant_id', t.tenant_id, 'domain', t.domain, 'organization', t.organization,
		                        'contact_email', t.contact_email, 'on_premises_sync', t.on_premises_sync, 'created_at', t.created_at) ORDER BY t.domain)
		                   FROM account_tenants x JOIN tenants t ON t.id = x.tenant_id WHERE x.account_id = a.id), '[]') AS tenants,
		       EXISTS (SELECT 1 FROM owner_identities WHERE account_id = a.id) AS owner_linked
		FROM accounts a LEFT JOIN account_contacts c ON c.account_id = a.id WHERE a.id = $1`, accountID, StatusPending)
	if isNoRows(err) {
		return AccountDetails{}, notFound("seller_id", "no such account")
	}
	if err != nil {
		return AccountDetails{}, err
	}
	details := AccountDetails{
		SellerID: row.SellerID, PublisherID: row.PublisherID, AccountType: string(row.Type),
		RegistrationCountry: row.RegistrationCountry, DisplayName: row.DisplayName, CreatedAt: row.CreatedAt,
		Status: row.Status, Tenants: []Tenant{}, Version: "0", OwnerIdentityLinked: row.OwnerLinked,
	}
	var steps []struct {
		Step  Step      `json:"step"`
		State StepState `json:"state"`
		At    time.Time `json:"at"`
	}
	if err := json.Unmarshal(row.Steps, &steps); err != nil {
		return AccountDetails{}, err
	}
	states := map[Step]StepState{StepEmail: StateNotStarted, StepEmployment: StateNotStarted, StepBusiness: StateNotStarted}
	times := map[Step]time.Time{}
	for _, st := range steps {
		states[st.Step], times[st.Step] = st.State, st.At.UTC()
	}
	for _, step := range RequiredSteps(row.Type) {
		st := StepStatus{Step: step, State: states[step]}
		if at, ok := times[step]; ok {
			st.UpdatedAt = &at
		}
		details.Steps = append(details.Steps, st)
	}
	if row.Version.Valid {
		details.Version = strconv.FormatInt(row.Version.Int64, 10)
		if string(row.SellerContact) != "{}" {
			details.SellerContact = &Contact{}
			if err := json.Unmarshal(row.SellerContact, details.SellerContact); err != nil {
				return AccountDetails{}, err
			}
		}
		if string(row.CompanyApprover) != "{}" {
			details.CompanyApprover = &Approver{}
			if err := json.Unmarshal(row.CompanyApprover, details.CompanyApprover); err != nil {
				return AccountDetails{}, err
			}
		}
	}
	if err := json.Unmarshal(row.Tenants, &details.Tenants); err != nil {
		return AccountDetails{}, err
	}
	for i := range details.Tenants {
		details.Tenants[i].CreatedAt = details.Tenants[i].CreatedAt.UTC()
	}
	return details, nil
}

func accountDetails(ctx context.Context, q sqlx.QueryerContext, accountID int64, lock bool) (AccountDetails, error) {
	account, err := accountByID(ctx, q, accountID, lock)
	if err != nil {
		return AccountDetails{}, err
	}
	details := AccountDetails{
		SellerID: account.SellerID, PublisherID: account.PublisherID, AccountType: string(account.Type),
		RegistrationCountry: account.RegistrationCountry, DisplayName: account.DisplayName, CreatedAt: account.CreatedAt,
		Tenants: []Tenant{}, Version: "0",
	}
	status, err := currentStatus(ctx, q, accountID)
	if err != nil {
		return AccountDetails{}, err
	}
	details.Status = status
	states, times, err := stepStates(ctx, q, accountID)
	if err != nil {
		return AccountDetails{}, err
	}
	for _, step := range RequiredSteps(account.Type) {
		st := StepStatus{Step: step, State: states[step]}
		if at, ok := times[step]; ok {
			st.UpdatedAt = &at
		}
		details.Steps = append(details.Steps, st)
	}
	var contact struct {
		SellerContact   []byte `db:"seller_contact"`
		CompanyApprover []byte `db:"company_approver"`
		Version         int64  `db:"version"`
	}
	err = sqlx.GetContext(ctx, q, &contact, `SELECT seller_contact, company_approver, version FROM account_contacts WHERE account_id = $1`, accountID)
	switch {
	case isNoRows(err):
	case err != nil:
		return AccountDetails{}, err
	default:
		details.Version = strconv.FormatInt(contact.Version, 10)
		if string(contact.SellerContact) != "{}" {
			details.SellerContact = &Contact{}
			if err := json.Unmarshal(contact.SellerContact, details.SellerContact); err != nil {
				return AccountDetails{}, err
			}
		}
		if string(contact.CompanyApprover) != "{}" {
			details.CompanyApprover = &Approver{}
			if err := json.Unmarshal(contact.CompanyApprover, details.CompanyApprover); err != nil {
				return AccountDetails{}, err
			}
		}
	}
	if err := sqlx.SelectContext(ctx, q, &details.Tenants, `
		SELECT t.id, t.tenant_id, t.domain, t.organization, t.contact_email, t.on_premises_sync, t.created_at
		FROM account_tenants a JOIN tenants t ON t.id = a.tenant_id WHERE a.account_id = $1 ORDER BY t.domain`, accountID); err != nil {
		return AccountDetails{}, err
	}
	if err := sqlx.GetContext(ctx, q, &details.OwnerIdentityLinked, `SELECT EXISTS (SELECT 1 FROM owner_identities WHERE account_id = $1)`, accountID); err != nil {
		return AccountDetails{}, err
	}
	return details, nil
}

func currentStatus(ctx context.Context, q sqlx.QueryerContext, accountID int64) (string, error) {
	var status string
	err := sqlx.GetContext(ctx, q, &status, `SELECT status FROM account_status_events WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT 1`, accountID)
	if isNoRows(err) {
		return StatusPending, nil
	}
	return status, err
}

func stepStates(ctx context.Context, q sqlx.QueryerContext, accountID int64) (map[Step]StepState, map[Step]time.Time, error) {
	var rows []struct {
		Step  Step      `db:"step"`
		State StepState `db:"state"`
		At    time.Time `db:"at"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT DISTINCT ON (step) step, state, at FROM verification_step_events
		WHERE account_id = $1 ORDER BY step, at DESC, id DESC`, accountID); err != nil {
		return nil, nil, err
	}
	states := map[Step]StepState{StepEmail: StateNotStarted, StepEmployment: StateNotStarted, StepBusiness: StateNotStarted}
	times := map[Step]time.Time{}
	for _, r := range rows {
		states[r.Step] = r.State
		times[r.Step] = r.At
	}
	return states, times, nil
}

// SetVerificationStep records a step's new state and, when the derived
// status changes, an account status event. A suspended or closed account
// keeps its status. Errors: ErrNotFound, ErrInvalid (unknown step or state),
// ErrRule (the business step of an individual account).
func (s *Service) SetVerificationStep(ctx context.Context, actor Principal, accountID int64, step Step, state StepState) (AccountDetails, error) {
	switch step {
	case StepEmail, StepEmployment, StepBusiness:
	default:
		return AccountDetails{}, invalid("step", "%q is not email, employment or business", step)
	}
	switch state {
	case StateNotStarted, StatePending, StatePassed, StateFailed:
	default:
		return AccountDetails{}, invalid("state", "%q is not not_started, pending, passed or failed", state)
	}
	var details AccountDetails
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		before, err := accountDetails(ctx, tx, accountID, true)
		if err != nil {
			return err
		}
		if step == StepBusiness && before.AccountType == string(ledger.Individual) {
			return rule("step", "individual accounts have no business verification")
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO verification_step_events (account_id, step, state, at, actor) VALUES ($1, $2, $3, $4, $5)`,
			accountID, step, state, now, actor.Actor()); err != nil {
			return err
		}
		states, _, err := stepStates(ctx, tx, accountID)
		if err != nil {
			return err
		}
		derived := DeriveStatus(ledger.AccountType(before.AccountType), states)
		if before.Status != derived && before.Status != StatusSuspended && before.Status != StatusClosed {
			if _, err := tx.ExecContext(ctx, `INSERT INTO account_status_events (account_id, status, at, actor) VALUES ($1, $2, $3, $4)`,
				accountID, derived, now, actor.Actor()); err != nil {
				return err
			}
		}
		details, err = accountDetails(ctx, tx, accountID, false)
		if err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "account.verification_step", "step:"+string(step),
			map[string]any{"state": stateOf(before.Steps, step), "status": before.Status},
			map[string]any{"state": state, "status": details.Status})
	})
	return details, err
}

func stateOf(steps []StepStatus, step Step) StepState {
	for _, s := range steps {
		if s.Step == step {
			return s.State
		}
	}
	return StateNotStarted
}

// AccountUpdate replaces an account's editable settings. SellerID,
// PublisherID and AccountType may be sent back as read, but never changed.
type AccountUpdate struct {
	SellerID        string
	PublisherID     string
	AccountType     string
	DisplayName     string
	SellerContact   *Contact
	CompanyApprover *Approver
}

// Validate checks an update's fields. Errors: ErrInvalid naming the field.
func (u AccountUpdate) Validate() error {
	if err := validateName("display_name", u.DisplayName, true); err != nil {
		return err
	}
	if c := u.SellerContact; c != nil {
		if err := validateName("seller_contact.name", c.Name, true); err != nil {
			return err
		}
		if err := validateEmail("seller_contact.email", c.Email); err != nil {
			return err
		}
		if c.Phone != "" {
			if err := validatePhone("seller_contact.phone", c.Phone); err != nil {
				return err
			}
		}
		if c.Address != nil {
			if err := c.Address.validate("seller_contact.address"); err != nil {
				return err
			}
		}
	}
	if a := u.CompanyApprover; a != nil {
		if err := validateName("company_approver.name", a.Name, true); err != nil {
			return err
		}
		if err := validateEmail("company_approver.email", a.Email); err != nil {
			return err
		}
		if a.Phone != "" {
			if err := validatePhone("company_approver.phone", a.Phone); err != nil {
				return err
			}
		}
	}
	return nil
}

// UpdateAccount replaces the editable settings when version is the current
// one. Errors: ErrNotFound, ErrInvalid, ErrImmutable (seller_id,
// publisher_id, account_type), ErrRule (a company approver on an individual
// account), ErrStale.
func (s *Service) UpdateAccount(ctx context.Context, actor Principal, accountID int64, version string, update AccountUpdate) (AccountDetails, error) {
	if err := update.Validate(); err != nil {
		return AccountDetails{}, err
	}
	var details AccountDetails
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		before, err := accountDetails(ctx, tx, accountID, true)
		if err != nil {
			return err
		}
		for _, f := range []struct{ field, sent, current string }{
			{"seller_id", update.SellerID, before.SellerID},
			{"publisher_id", update.PublisherID, before.PublisherID},
			{"account_type", update.AccountType, before.AccountType},
		} {
			if f.sent != "" && f.sent != f.current {
				return &Error{Kind: KindImmutable, Field: f.field, Reason: "is assigned by payrun and never changes"}
			}
		}
		if update.CompanyApprover != nil && before.AccountType == string(ledger.Individual) {
			return rule("company_approver", "individual accounts have no company approver")
		}
		if before.Version != version {
			return stale("If-Match")
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET display_name = $2 WHERE id = $1`, accountID, strings.TrimSpace(update.DisplayName)); err != nil {
			return err
		}
		contact, approver := []byte("{}"), []byte("{}")
		if update.SellerContact != nil {
			if contact, err = json.Marshal(update.SellerContact); err != nil {
				return err
			}
		}
		if update.CompanyApprover != nil {
			if approver, err = json.Marshal(update.CompanyApprover); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO account_contacts (account_id, seller_contact, company_approver, version, updated_at, updated_by)
			VALUES ($1, $2, $3, 1, $4, $5)
			ON CONFLICT (account_id) DO UPDATE SET seller_contact = $2, company_approver = $3,
				version = account_contacts.version + 1, updated_at = $4, updated_by = $5`,
			accountID, contact, approver, now, actor.Actor()); err != nil {
			return err
		}
		details, err = accountDetails(ctx, tx, accountID, false)
		if err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "account.update", "account:"+before.SellerID,
			settingsSnapshot(before), settingsSnapshot(details))
	})
	return details, err
}

func settingsSnapshot(d AccountDetails) map[string]any {
	return map[string]any{"display_name": d.DisplayName, "seller_contact": d.SellerContact, "company_approver": d.CompanyApprover}
}

// LinkOwnerIdentity links the account owner's personal sign-in identity
// (an e-mail address outside any directory tenant, with its password), which
// financial details need first (SPEC §6.1). Errors: ErrInvalid, ErrConflict
// (the identity is linked to another account, or this account already has
// one).
func (s *Service) LinkOwnerIdentity(ctx context.Context, actor Principal, accountID int64, email, password string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := validateEmail("email", email); err != nil {
		return err
	}
	if strings.HasSuffix(email, DomainSuffix) {
		return invalid("email", "a personal identity cannot be a directory (%s) account", DomainSuffix)
	}
	if err := validatePassword("password", password); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		var linkedTo int64
		err := tx.GetContext(ctx, &linkedTo, `SELECT account_id FROM owner_identities WHERE email = $1`, email)
		switch {
		case err == nil && linkedTo != accountID:
			return conflict("email", "this identity is linked to another publisher account")
		case err == nil:
			return conflict("email", "this identity is already linked to this account")
		case !isNoRows(err):
			return err
		}
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM owner_identities WHERE account_id = $1)`, accountID); err != nil {
			return err
		}
		if exists {
			return conflict("email", "the account already has an owner identity")
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO owner_identities (account_id, email, password_hash, linked_at, linked_by) VALUES ($1, $2, $3, $4, $5)`,
			accountID, email, hash, now, actor.Actor()); err != nil {
			if _, dup := uniqueViolation(err); dup {
				return conflict("email", "this identity is linked to another publisher account")
			}
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "owner_identity.link", "owner:"+email, nil, map[string]any{"email": email, "password": password})
	})
}

// OwnerIdentityLinked reports whether the account's owner has linked a
// personal sign-in identity.
func (s *Service) OwnerIdentityLinked(ctx context.Context, accountID int64) (bool, error) {
	var linked bool
	err := s.DB.GetContext(ctx, &linked, `SELECT EXISTS (SELECT 1 FROM owner_identities WHERE account_id = $1)`, accountID)
	return linked, err
}
