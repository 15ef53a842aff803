package admin

import (
	"context"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/ledger"
)

// AuthenticateForTest exposes the one-query authentication to tests.
func (s *Server) AuthenticateForTest(ctx context.Context, token, sellerID string) (accounts.Principal, *ledger.Account, error) {
	return s.authenticate(ctx, token, sellerID)
}
