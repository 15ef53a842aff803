package payout

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
)

// Free text reaches payment files: control characters (a line break would
// forge a NACHA record) and invalid UTF-8 are refused, field by field, and
// lengths are counted in characters.
func TestAccountInputRefusesControlCharactersInText(t *testing.T) {
	good := AccountInput{Method: Bank, HolderName: "Zoë Müller", Currency: "EUR", BankCountry: "DE",
		IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", BillingAddress: &Address{Line1: "Straße 1", City: "Köln", Country: "DE"}}
	require.NoError(t, good.Normalize().Validate("DE"))
	long := good
	long.HolderName = strings.Repeat("ö", 140)
	require.NoError(t, long.Normalize().Validate("DE"), "140 characters, 280 bytes")
	for field, mutate := range map[string]func(*AccountInput){
		"holder_name":           func(in *AccountInput) { in.HolderName = "Zoë\nMüller" },
		"holder_name ":          func(in *AccountInput) { in.HolderName = "Zoë\u0085Müller" },
		"billing_address.line1": func(in *AccountInput) { in.BillingAddress = &Address{Line1: "a\x00b", City: "Köln", Country: "DE"} },
		"billing_address.city":  func(in *AccountInput) { in.BillingAddress = &Address{Line1: "a", City: "K\u2028", Country: "DE"} },
		"phone":                 func(in *AccountInput) { in.Phone = "+49\t1" },
	} {
		in := good
		mutate(&in)
		var validation *fielderr.List
		require.True(t, errors.As(in.Normalize().Validate("DE"), &validation), field)
		require.Equal(t, strings.TrimSpace(field), validation.Fields[0].Path)
		require.Equal(t, fielderr.Character, validation.Fields[0].Code)
		require.Contains(t, validation.Fields[0].Message, "control character")
	}
	long.HolderName += "ö"
	var validation *fielderr.List
	require.True(t, errors.As(long.Normalize().Validate("DE"), &validation))
	require.Equal(t, []*fielderr.Error{{Path: "holder_name", Code: fielderr.TooLong, Message: "longer than 140 characters"}}, validation.Fields)
	require.EqualError(t, validation, "payout account: holder_name: longer than 140 characters")
}
