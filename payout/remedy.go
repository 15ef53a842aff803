package payout

// Remedy says, in a publisher's words, what unblocks a reason: what the
// account's owner or financial contributor (or, for a few, the platform)
// must do before the next cutoff for the balance to be paid. The publisher
// payouts summary and estimate show it beside every reason.
func (r Reason) Remedy() string {
	switch r {
	case AccountNotVerified:
		return "complete the account's verification steps; the platform verifies the account"
	case AgreementNotAccepted:
		return "accept the newest version of every agreement required for payout"
	case PaymentHold:
		return "switch the payment hold off"
	case NoPayoutAccount:
		return "add a payout account (bank account or PayPal)"
	case PayoutAccountUnverified:
		return "wait for the payout account's verification, or correct it if verification failed"
	case TaxProfileMissing:
		return "submit a tax form (W-9, W-8BEN or W-8BEN-E)"
	case TaxProfileExpired:
		return "submit a new tax form: the one on file has expired"
	case TaxProfileInvalid:
		return "submit a corrected tax form: the one on file is not valid"
	case AmountOverRailLimit:
		return "choose a payout method whose limit covers the payment, or contact the platform"
	case NegativeBalance:
		return "nothing to do: later earnings make the balance positive first"
	case ZeroBalance:
		return "nothing to do: there is nothing to pay"
	case BelowThreshold:
		return "nothing to do: the balance is paid once the payable amount reaches the threshold"
	}
	return ""
}
