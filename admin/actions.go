package admin

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/payrun/payrun/accounts"
)

// The operators' actions, shared by the API's handlers and the finance
// console (package console): each performs the operation through
// Operations and writes its audit entry, so both doors do exactly the same
// thing and leave the same trace. They do not check permissions: the API's
// authorize middleware and the console's page table do, both from the
// endpoint table (Permission).

// Permission is the permission the endpoint id needs (see Endpoints); the
// console gates its pages and actions with it, so one table says who may do
// what through either door. An unknown id panics: it is a programming error
// caught by the console's tests.
func (s *Server) Permission(endpointID string) accounts.Permission {
	for _, e := range s.endpoints {
		if e.ID == endpointID {
			return e.Permission
		}
	}
	panic("admin: no endpoint " + endpointID)
}

// Operations is the operator service the server calls (reads).
func (s *Server) Operations() Operations { return s.operations }

// Payouts is the publisher payouts service the server calls.
func (s *Server) Payouts() Payouts { return s.payouts }

// ApproveCycle approves month as p (maker-checker: never the closer).
func (s *Server) ApproveCycle(ctx context.Context, p accounts.Principal, month time.Time) (Cycle, error) {
	before, err := s.operations.Cycle(ctx, month)
	if err != nil {
		return Cycle{}, err
	}
	after, err := s.operations.Approve(ctx, month, p)
	if err != nil {
		return Cycle{}, err
	}
	return after, s.svc.AddAuditEntry(ctx, 0, p, "cycle.approve", cycleTarget(month), cycleAudit(before), cycleAudit(after))
}

// ReleaseCycle releases month's payment files as p.
func (s *Server) ReleaseCycle(ctx context.Context, p accounts.Principal, month time.Time) (Release, error) {
	before, err := s.operations.Cycle(ctx, month)
	if err != nil {
		return Release{}, err
	}
	result, err := s.operations.Release(ctx, month, p)
	if err != nil {
		return Release{}, err
	}
	if result.Files == nil {
		result.Files = []CycleFile{}
	}
	return result, s.svc.AddAuditEntry(ctx, 0, p, "cycle.release", cycleTarget(month), cycleAudit(before), result)
}

// OpenWorkbook opens month's workbook for p to download (audited).
func (s *Server) OpenWorkbook(ctx context.Context, p accounts.Principal, month time.Time) (Download, error) {
	d, err := s.operations.Workbook(ctx, month)
	if err != nil {
		return Download{}, err
	}
	return opened(d, s.svc.AddAuditEntry(ctx, 0, p, "cycle.workbook.download", cycleTarget(month), nil, map[string]any{"file": d.Name}))
}

// OpenCycleFile opens a file of month's manifest for p to download. Payment
// files carry full account numbers, so every download is audited.
func (s *Server) OpenCycleFile(ctx context.Context, p accounts.Principal, month time.Time, name string) (Download, error) {
	d, err := s.operations.File(ctx, month, name)
	if err != nil {
		return Download{}, err
	}
	return opened(d, s.svc.AddAuditEntry(ctx, 0, p, "cycle.file.download", cycleTarget(month), nil, map[string]any{"file": d.Name, "sha256": d.SHA256}))
}

// opened closes d when its audit entry failed: nothing is sent unaudited.
func opened(d Download, auditErr error) (Download, error) {
	if auditErr != nil {
		d.Body.Close()
		return Download{}, auditErr
	}
	return d, nil
}

// ImportEarnings imports an earnings CSV named name as p.
func (s *Server) ImportEarnings(ctx context.Context, p accounts.Principal, name string, body io.Reader) (EarningsImport, error) {
	result, err := s.operations.ImportEarnings(ctx, name, body)
	if err != nil {
		return EarningsImport{}, err
	}
	return result, s.svc.AddAuditEntry(ctx, 0, p, "earnings.import", "earnings_import:"+strconv.FormatInt(result.ImportID, 10), nil, map[string]any{"file": name, "result": result})
}

// ImportReturns imports a returns file named name as p.
func (s *Server) ImportReturns(ctx context.Context, p accounts.Principal, name string, body io.Reader) (ReturnsImport, error) {
	result, err := s.operations.ImportReturns(ctx, name, body)
	if err != nil {
		return ReturnsImport{}, err
	}
	return result, s.svc.AddAuditEntry(ctx, 0, p, "returns.import", "returns_import:"+name, nil, result)
}

// ImportFX loads month's FX rates as p.
func (s *Server) ImportFX(ctx context.Context, p accounts.Principal, month time.Time, body io.Reader, confirmChange bool) (FXImport, error) {
	result, err := s.operations.ImportFX(ctx, month, body, confirmChange, p)
	if err != nil {
		return FXImport{}, err
	}
	return result, s.svc.AddAuditEntry(ctx, 0, p, "fx_rates.import", cycleTarget(month), nil, result)
}

// cycleTarget names a cycle in the audit log.
func cycleTarget(month time.Time) string { return "cycle:" + month.Format("2006-01") }

// LimitSignIn takes a token from the sign-in buckets of the client address
// (the connection's remote address, never a forwarded header) and of the
// name, the same buckets POST /v1/token takes from: the console's sign-in
// form and the API's password grant share one allowance, so a second door
// does not double the guessing rate. Errors: KindRateLimited (RetryAfter).
func (s *Server) LimitSignIn(remoteAddr, name string) error {
	if s.limits == nil {
		return nil
	}
	l := s.limits["token"]
	if allowed, wait := l.address.allow(clientAddress(remoteAddr), s.now()); !allowed {
		return rateLimited("from this address", wait)
	}
	return s.limitName("token", name)
}
