package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout"
)

// badUSBank is a payout account with two problems the schema cannot see: a
// routing number failing its check digit and a too-short account number.
// cmd/payrun's TestPrintErrorListsEveryField prints the same input.
var badUSBank = payout.AccountInput{Method: payout.Bank, HolderName: "Contoso Inc", Currency: "USD", BankCountry: "US",
	AccountType: "checking", RoutingNumber: "011000016", AccountNumber: "12"}

// The API shows a validator's field errors as the validator says them, in
// one place (fieldProblem): one "errors" entry per field, located at
// body.<path>, with the field's message; the detail is the whole text.
func TestFieldErrorsAreProblemsFieldByField(t *testing.T) {
	t.Parallel()
	e := newRealEnv(t)
	tag := e.do("GET", e.acct("/payout-account"), e.token, nil).header.Get("ETag")
	r := e.do("PUT", e.acct("/payout-account"), e.token, badUSBank, "If-Match", tag)
	requireProblem(t, r, http.StatusBadRequest, "body.routing_number")

	err := badUSBank.Normalize().Validate("US")
	want := fielderr.All(err)
	require.Len(t, want, 2)
	require.Equal(t, []string{"routing_number", "account_number"}, []string{want[0].Path, want[1].Path})
	require.Equal(t, []string{fielderr.CheckDigit, fielderr.Invalid}, []string{want[0].Code, want[1].Code})
	errs, _ := r.body["errors"].([]any)
	require.Len(t, errs, len(want), string(r.raw))
	for i, field := range want {
		detail, _ := errs[i].(map[string]any)
		require.Equal(t, "body."+field.Path, detail["location"], string(r.raw))
		require.Equal(t, field.Message, detail["message"], string(r.raw))
	}
	require.Equal(t, err.Error(), r.str("detail"))
}
