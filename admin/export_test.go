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

// DisableRateLimitsForTest turns the public endpoints' rate limits off, for
// tests of what sits behind them (call it before the server serves).
func (s *Server) DisableRateLimitsForTest() { s.limits = nil }

// Rate limits, for tests.
const (
	TokenPerAddressBurst  = tokenPerAddressBurst
	TokenPerAddressEvery  = tokenPerAddressEvery
	TokenPerNameBurst     = tokenPerNameBurst
	TokenPerNameEvery     = tokenPerNameEvery
	ResetPerAddressBurst  = resetPerAddressBurst
	ResetPerAddressEvery  = resetPerAddressEvery
	ResetPerNameBurst     = resetPerNameBurst
	ResetPerNameEvery     = resetPerNameEvery
	RedeemPerAddressBurst = redeemPerAddressBurst
)
