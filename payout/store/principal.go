package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Principal is who moved a cycle, as the cycle records it. Maker-checker
// compares principals by id, never by a typed name (SPEC §7.8): an operator
// is its id in the operators table, shown as "operator:<user name>"; payrun
// itself — the scheduled jobs, the simulator's bookkeeping, a CLI close or
// release run without --by — is the system principal: no id, a name for the
// history only, and it never approves.
type Principal struct {
	OperatorID int64  `json:"operator_id,omitempty"`
	Name       string `json:"name"`
}

// SystemPrincipal is payrun itself, under a name for the history.
func SystemPrincipal(name string) Principal { return Principal{Name: name} }

// IsOperator tells an operator from the system principal.
func (p Principal) IsOperator() bool { return p.OperatorID != 0 }

// Errors about principals.
var (
	ErrUnknownOperator = errors.New("no such operator")
	ErrNotAnApprover   = errors.New("only a finance approver may approve a cycle")
)

// CanonicalOperatorName is the operator user name a typed name means:
// spaces around it and an "operator:" prefix dropped, lower case (user names
// are lower case; `payrun operators create` lowers them too). " Alice",
// "operator:alice" and "ALICE" all mean alice.
func CanonicalOperatorName(typed string) string {
	name := strings.TrimSpace(typed)
	if prefix := "operator:"; len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
		name = name[len(prefix):]
	}
	return strings.ToLower(strings.TrimSpace(name))
}

// Operator returns the operator a typed name names (see
// CanonicalOperatorName). Errors: ErrUnknownOperator.
func (s *Store) Operator(ctx context.Context, typed string) (Principal, error) {
	name := CanonicalOperatorName(typed)
	if name == "" {
		return Principal{}, fmt.Errorf("%w: the name is empty", ErrUnknownOperator)
	}
	var id int64
	err := s.DB.GetContext(ctx, &id, `SELECT id FROM operators WHERE user_name = $1`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, fmt.Errorf("%w: %q is not an operator's user name (see `payrun operators create`)", ErrUnknownOperator, typed)
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{OperatorID: id, Name: "operator:" + name}, nil
}

// OperatorPrincipal returns the operator with id as a principal, and
// whether it holds the finance_approver role. Errors: ErrUnknownOperator.
func OperatorPrincipal(ctx context.Context, q sqlx.QueryerContext, id int64) (Principal, bool, error) {
	var row struct {
		Name     string `db:"user_name"`
		Approver bool   `db:"approver"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT user_name, 'finance_approver' = ANY (roles) AS approver FROM operators WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, false, fmt.Errorf("%w: id %d", ErrUnknownOperator, id)
	}
	if err != nil {
		return Principal{}, false, err
	}
	return Principal{OperatorID: id, Name: "operator:" + row.Name}, row.Approver, nil
}

// resolveActor records an operator's close under its canonical name.
func (s *Store) resolveActor(ctx context.Context, options *CloseOptions) error {
	if options.Operator == 0 {
		return nil
	}
	p, _, err := OperatorPrincipal(ctx, s.DB, options.Operator)
	if err != nil {
		return err
	}
	options.Actor = p.Name
	return nil
}

// nullID is an operator id for SQL: NULL for the system principal.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
