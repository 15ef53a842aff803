package accounts

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// AgreementVersion is one published version of a publisher agreement.
type AgreementVersion struct {
	Name              string    `db:"name" json:"name"`
	Version           int       `db:"version" json:"version"`
	PublishedAt       time.Time `db:"published_at" json:"published_at"`
	RequiredForPayout bool      `db:"required_for_payout" json:"required_for_payout"`
	GraceDays         int       `db:"grace_days" json:"grace_days"`
}

// Acceptance is an account's acceptance of an agreement version.
type Acceptance struct {
	Name       string    `db:"name" json:"name"`
	Version    int       `db:"version" json:"version"`
	AcceptedAt time.Time `db:"accepted_at" json:"accepted_at"`
	AcceptedBy string    `db:"accepted_by" json:"accepted_by"`
}

// GraceEnds is the end of the version's grace period: its publication plus
// GraceDays whole 24-hour days (whatever the location of PublishedAt).
func (v AgreementVersion) GraceEnds() time.Time {
	return v.PublishedAt.Add(time.Duration(v.GraceDays) * 24 * time.Hour)
}

// AgreementsHold reports whether unaccepted agreements hold an account's
// payouts at cutoff (SPEC §3.2, §7.10). It is the one rule: the close
// (payout/store) loads the catalogue and the account's acceptances and calls
// it, and the account's agreements view uses the same GraceEnds.
//
// True when some version is required for payout, its grace period ended
// strictly before the cutoff (GraceEnds() < cutoff), and neither it nor a
// later version of the same agreement was accepted strictly before the
// cutoff. Every fact is read as of the cutoff, strictly before it: a version
// published at or after the cutoff, or whose grace period ends at or after
// it, does not hold that cycle (just before the cutoff the grace is still
// running) and holds the next one if it is still not accepted by then; an
// acceptance at or after the cutoff counts from the next cycle too.
func AgreementsHold(versions []AgreementVersion, accepted []Acceptance, cutoff time.Time) bool {
	for _, v := range versions {
		if !v.RequiredForPayout {
			continue
		}
		if !v.GraceEnds().Before(cutoff) {
			continue
		}
		covered := false
		for _, a := range accepted {
			if a.Name == v.Name && a.Version >= v.Version && a.AcceptedAt.Before(cutoff) {
				covered = true
				break
			}
		}
		if !covered {
			return true
		}
	}
	return false
}

// Agreements lists the catalogue: every version published up to now.
func (s *Service) Agreements(ctx context.Context) ([]AgreementVersion, error) {
	out := []AgreementVersion{}
	err := s.DB.SelectContext(ctx, &out, `
		SELECT name, version, published_at, required_for_payout, grace_days FROM agreements
		WHERE published_at <= $1 ORDER BY name, version`, s.now())
	return out, err
}

// AccountAgreements is an account's agreements view.
type AccountAgreements struct {
	Accepted []Acceptance `json:"accepted"`
	// ActionRequired lists the newest version of each agreement the account
	// has not accepted (nor a later version of).
	ActionRequired []ActionItem `json:"action_required"`
}

// ActionItem is an agreement version waiting for acceptance.
type ActionItem struct {
	AgreementVersion
	// HoldsPayoutsFrom is the end of the grace period (for versions required
	// for payout): not accepting holds the payouts of every cycle whose cutoff
	// is after it (AgreementsHold).
	HoldsPayoutsFrom *time.Time `json:"holds_payouts_from,omitempty"`
}

// AccountAgreements lists what the account accepted and what awaits it.
func (s *Service) AccountAgreements(ctx context.Context, accountID int64) (AccountAgreements, error) {
	var view AccountAgreements
	view.Accepted = []Acceptance{}
	view.ActionRequired = []ActionItem{}
	if err := s.DB.SelectContext(ctx, &view.Accepted, `
		SELECT name, version, accepted_at, accepted_by FROM agreement_acceptances WHERE account_id = $1 ORDER BY name, version`, accountID); err != nil {
		return view, err
	}
	var latest []AgreementVersion
	if err := s.DB.SelectContext(ctx, &latest, `
		SELECT DISTINCT ON (name) name, version, published_at, required_for_payout, grace_days FROM agreements
		WHERE published_at <= $1 ORDER BY name, version DESC`, s.now()); err != nil {
		return view, err
	}
	for _, v := range latest {
		accepted := false
		for _, a := range view.Accepted {
			accepted = accepted || (a.Name == v.Name && a.Version >= v.Version)
		}
		if accepted {
			continue
		}
		item := ActionItem{AgreementVersion: v}
		if v.RequiredForPayout {
			from := v.GraceEnds()
			item.HoldsPayoutsFrom = &from
		}
		view.ActionRequired = append(view.ActionRequired, item)
	}
	return view, nil
}

// AcceptAgreement records the account's acceptance of the newest published
// version of an agreement, with the accepting principal and time.
// Errors: ErrNotFound (no such agreement), ErrRule (not the newest
// version), ErrConflict (already accepted).
func (s *Service) AcceptAgreement(ctx context.Context, actor Principal, accountID int64, name string, version int) (Acceptance, error) {
	var acceptance Acceptance
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		now := s.now()
		var newest int
		err := tx.GetContext(ctx, &newest, `SELECT max(version) FROM agreements WHERE name = $1 AND published_at <= $2 HAVING count(*) > 0`, name, now)
		if isNoRows(err) {
			return notFound("name", "no agreement %q", name)
		}
		if err != nil {
			return err
		}
		if version != newest {
			return rule("version", "version %d is not the newest (%d): accept the newest", version, newest)
		}
		acceptance = Acceptance{Name: name, Version: version, AcceptedAt: now, AcceptedBy: actor.Actor()}
		_, err = tx.ExecContext(ctx, `INSERT INTO agreement_acceptances (account_id, name, version, accepted_at, accepted_by) VALUES ($1, $2, $3, $4, $5)`,
			accountID, name, version, now, acceptance.AcceptedBy)
		if _, dup := uniqueViolation(err); dup {
			return conflict("version", "version %d of %q is already accepted", version, name)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "agreement.accept", "agreement:"+name, nil, acceptance)
	})
	return acceptance, err
}

// PublishAgreement adds a version to the catalogue; versions of an agreement
// only grow. Errors: ErrInvalid, ErrConflict (not newer than the newest).
func (s *Service) PublishAgreement(ctx context.Context, actor Principal, v AgreementVersion) (AgreementVersion, error) {
	if !agreementName.MatchString(v.Name) {
		return AgreementVersion{}, invalid("name", "%q must be 1-64 lowercase letters, digits, '_' or '-'", v.Name)
	}
	if v.Version < 1 {
		return AgreementVersion{}, invalid("version", "must be at least 1")
	}
	if v.GraceDays < 0 || v.GraceDays > 365 {
		return AgreementVersion{}, invalid("grace_days", "must be 0 to 365")
	}
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		if v.PublishedAt.IsZero() {
			v.PublishedAt = now
		}
		v.PublishedAt = v.PublishedAt.UTC()
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('payrun.agreements'))`); err != nil {
			return err
		}
		var newest int
		if err := tx.GetContext(ctx, &newest, `SELECT coalesce(max(version), 0) FROM agreements WHERE name = $1`, v.Name); err != nil {
			return err
		}
		if v.Version <= newest {
			return conflict("version", "%q already has version %d", v.Name, newest)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agreements (name, version, published_at, required_for_payout, grace_days) VALUES ($1, $2, $3, $4, $5)`,
			v.Name, v.Version, v.PublishedAt, v.RequiredForPayout, v.GraceDays); err != nil {
			return err
		}
		return audit(ctx, tx, 0, actor, now, "agreement.publish", "agreement:"+v.Name, nil, v)
	})
	return v, err
}
