package main

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout"
)

// The CLI prints a validator's field errors as the validator says them, one
// "path: message" per line: the same paths and messages the admin API
// puts in its problem's "errors" for the same input (admin's
// TestFieldErrorsAreProblemsFieldByField).
func TestPrintErrorListsEveryField(t *testing.T) {
	badUSBank := payout.AccountInput{Method: payout.Bank, HolderName: "Contoso Inc", Currency: "USD", BankCountry: "US",
		AccountType: "checking", RoutingNumber: "011000016", AccountNumber: "12"}
	err := badUSBank.Normalize().Validate("US")
	fields := fielderr.All(err)
	require.Len(t, fields, 2)

	var out bytes.Buffer
	printError(&out, fmt.Errorf("seller S1: %w", err))
	want := "payrun: seller S1: payout account: 2 problems\n"
	for _, field := range fields {
		want += "  " + field.Path + ": " + field.Message + "\n"
	}
	require.Equal(t, want, out.String())
	require.Contains(t, out.String(), "  routing_number: ABA routing number: check digit fails")
}

func TestPrintErrorKeepsOneLineErrors(t *testing.T) {
	for _, err := range []error{
		errors.New("no such cycle"),
		fielderr.New("seller_id", fielderr.Invalid, "must be 1-64 letters"),
		&fielderr.List{Subject: "tax form", Fields: []*fielderr.Error{fielderr.New("tin", fielderr.Required, "required")}},
		// Text after the list: the list is not the whole story; say it as is.
		fmt.Errorf("%w (payout account 7)", &fielderr.List{Subject: "payout account",
			Fields: []*fielderr.Error{fielderr.New("a", fielderr.Required, "x"), fielderr.New("b", fielderr.Required, "y")}}),
	} {
		var out bytes.Buffer
		printError(&out, err)
		require.Equal(t, "payrun: "+err.Error()+"\n", out.String())
	}
}
