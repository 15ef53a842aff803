package accounts

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The validators apply the one text rule (internal/textcheck) and count
// characters, as OpenAPI's maxLength does: a control character anywhere is
// refused naming the field, and 200 two-byte characters are 200.
func TestValidatorsRefuseControlCharactersAndCountCharacters(t *testing.T) {
	field := func(err error) string {
		var e *Error
		require.True(t, errors.As(err, &e), "%v", err)
		require.Equal(t, KindInvalid, e.Kind)
		return e.Field
	}
	for _, bad := range []string{"a\x00b", "a\tb", "a\nb", "a\u0085b", "a\u2028b", "a\x7fb", "a\u009bb", "a\xffb"} {
		require.Equal(t, "name", field(validateName("name", bad, true)), "%q", bad)
		require.Equal(t, "email", field(validateEmail("email", "ab"+bad+"@example.com")), "%q", bad)
		require.Equal(t, "password", field(validatePassword("password", "a long password"+bad)), "%q", bad)
		require.Equal(t, "address.postal_code", field(Address{Line1: "1", City: "c", Country: "US", PostalCode: bad}.validate("address")), "%q", bad)
		require.Equal(t, "address.line2", field(Address{Line1: "1", Line2: bad, City: "c", Country: "US"}.validate("address")), "%q", bad)
	}
	require.NoError(t, validateName("name", strings.Repeat("é", MaxNameLength), true))
	require.Error(t, validateName("name", strings.Repeat("é", MaxNameLength+1), true))
	require.NoError(t, validateEmail("email", strings.Repeat("é", MaxEmailLength-12)+"@example.com"))
	require.Error(t, validateEmail("email", strings.Repeat("é", MaxEmailLength-11)+"@example.com"))
	require.NoError(t, validatePassword("password", strings.Repeat("é", MaxPasswordLength)))
	require.NoError(t, Address{Line1: "1", City: "Köln", Country: "DE", PostalCode: strings.Repeat("ö", 16)}.validate("address"))
	require.NoError(t, validateAbsoluteURL("reply_url", "https://example.com/"+strings.Repeat("é", MaxURLLength-20), true))
	require.Error(t, validateAbsoluteURL("reply_url", "https://example.com/"+strings.Repeat("é", MaxURLLength-19), true))
}
