package fielderr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
)

var errCheckDigit = errors.New("check digit fails")

func TestErrorText(t *testing.T) {
	require.EqualError(t, fielderr.New("treaty.country", fielderr.Required, "required"), "treaty.country: required")
	require.EqualError(t, fielderr.Newf("", fielderr.CheckDigit, "IBAN: mod-97 = %d, want 1", 5), "IBAN: mod-97 = 5, want 1")

	list := &fielderr.List{Subject: "tax form"}
	list.Addf("a", fielderr.Invalid, "x")
	list.Add(nil)
	list.Add(fielderr.New("b", fielderr.Required, "y"))
	require.EqualError(t, list.Err(), "tax form: a: x; b: y")
	require.True(t, list.Has("b"))
	require.False(t, list.Has("c"))
	require.EqualError(t, &fielderr.List{Fields: list.Fields}, "a: x; b: y")

	var empty fielderr.List
	require.NoError(t, empty.Err(), "an empty list is no error, not a typed nil")
	var none *fielderr.List
	require.NoError(t, none.Err())
}

func TestUnwrapKeepsSentinels(t *testing.T) {
	single := &fielderr.Error{Path: "iban", Code: fielderr.CheckDigit, Message: "check digits fail", Err: errCheckDigit}
	require.ErrorIs(t, single, errCheckDigit)
	require.ErrorIs(t, fmt.Errorf("seller S: %w", single), errCheckDigit)

	list := &fielderr.List{Subject: "payout account", Fields: []*fielderr.Error{fielderr.New("holder_name", fielderr.Required, "required"), single}}
	require.ErrorIs(t, list, errCheckDigit, "every field of a list is reachable")
	var found *fielderr.Error
	require.ErrorAs(t, list, &found)
	require.Equal(t, "holder_name", found.Path, "errors.As finds the first field")
}

func TestAll(t *testing.T) {
	a := fielderr.New("a", fielderr.Invalid, "x")
	b := fielderr.New("b", fielderr.Required, "y")
	c := &fielderr.Error{Path: "c", Code: fielderr.Range, Message: "z", Err: fielderr.New("inner", fielderr.Invalid, "not counted")}
	list := &fielderr.List{Subject: "s", Fields: []*fielderr.Error{a, b}}

	require.Nil(t, fielderr.All(nil))
	require.Nil(t, fielderr.All(errors.New("plain")))
	require.Equal(t, []*fielderr.Error{a}, fielderr.All(a))
	require.Equal(t, []*fielderr.Error{a, b}, fielderr.All(list))
	require.Equal(t, []*fielderr.Error{a, b}, fielderr.All(fmt.Errorf("context: %w", list)), "wrapped")
	require.Equal(t, []*fielderr.Error{a, b, c}, fielderr.All(errors.Join(fmt.Errorf("one: %w", list), errors.New("other"), c)),
		"joined, in order; a field error's own cause is not searched")
	require.Equal(t, []*fielderr.Error{b}, fielderr.All(&located{line: 3, field: b}), "through a location wrapper")
}

// located is a location wrapper, like nacha.ParseError.
type located struct {
	line  int
	field *fielderr.Error
}

func (l *located) Error() string { return fmt.Sprintf("line %d, %v", l.line, l.field) }
func (l *located) Unwrap() error { return l.field }

func TestAt(t *testing.T) {
	// A validator that does not know the caller's name for the field.
	bankid := &fielderr.Error{Code: fielderr.CheckDigit, Message: "IBAN: check digits fail", Err: errCheckDigit}
	at := fielderr.At("iban", bankid)
	require.EqualError(t, at, "iban: IBAN: check digits fail")
	require.Equal(t, fielderr.CheckDigit, at.Code)
	require.ErrorIs(t, at, errCheckDigit)
	require.Empty(t, bankid.Path, "At copies")

	require.Equal(t, "billing_address.city", fielderr.At("billing_address", fielderr.New("city", fielderr.Required, "required")).Path)
	require.Equal(t, "items[3].amount", fielderr.At("items", fielderr.New("[3].amount", fielderr.Range, "negative")).Path)

	plain := errors.New("must be 9 digits")
	wrapped := fielderr.At("tin", plain)
	require.Equal(t, &fielderr.Error{Path: "tin", Code: fielderr.Invalid, Message: "must be 9 digits", Err: plain}, wrapped)
	require.Nil(t, fielderr.At("tin", nil))
}

func TestJSON(t *testing.T) {
	list := &fielderr.List{Subject: "tax form", Fields: []*fielderr.Error{{Path: "tin", Code: fielderr.Invalid, Message: "bad", Err: errCheckDigit}}}
	data, err := json.Marshal(list)
	require.NoError(t, err)
	require.JSONEq(t, `{"subject":"tax form","fields":[{"path":"tin","code":"invalid","message":"bad"}]}`, string(data))
}
