package operations

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout/nacha"
)

// A value the ACH writer refuses during a release (here: an empty
// originator configuration) is no field of the request: translate drops the
// field error, so admin answers the 500 it always did instead of a 400
// naming body fields.
func TestTranslateKeepsPaymentFileRefusalsOffTheRequest(t *testing.T) {
	err := fmt.Errorf("ACH file: %w", nacha.Originator{}.Validate())
	require.ErrorIs(t, err, nacha.ErrInvalidField)
	require.NotEmpty(t, fielderr.All(err))

	translated := translate(err)
	require.Empty(t, fielderr.All(translated))
	require.EqualError(t, translated, err.Error())
}
