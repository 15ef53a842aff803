package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScreenJSON(t *testing.T) {
	for _, tc := range []struct{ body, location, message string }{
		{`{"a":"x"}`, "", ""},
		{`{"a":["x","x"],"b":{"a":1},"c":[{"a":1},{"a":2}]}`, "", ""},
		{`not json`, "", ""}, // huma says why
		{``, "", ""},
		{`{"a":"x\u0000"}`, "body.a", "control character U+0000 at character 2"},
		{`{"a":{"b":[1,"\t"]}}`, "body.a.b[1]", "U+0009"},
		{`{"a":"\u2028"}`, "body.a", "U+2028"},
		{"{\"a\":\"\u0085\"}", "body.a", "U+0085"},
		{`{"a\u0000":1}`, "body", "a key contains the control character U+0000"},
		{`{"a":1,"a":2}`, "body.a", `the key "a" appears twice`},
		{`{"x":{"on":1,"On":2}}`, "body.x.On", `the keys "on" and "On" differ only in case`},
		{`{"k":1,"\u212a":2}`, "body.\u212a", "differ only in case"}, // the Kelvin sign folds to k
		{"{\"a\":\"\xff\"}", "body", "not valid UTF-8 (byte 0xFF at offset 6)"},
		{strings.Repeat("[", 33) + strings.Repeat("]", 33), "body" + strings.Repeat("[0]", 32), "nested deeper than 32 levels"},
	} {
		location, message, bad := screenJSON([]byte(tc.body))
		require.Equal(t, tc.location != "", bad, tc.body)
		require.Equal(t, tc.location, location, tc.body)
		require.Contains(t, message, tc.message, tc.body)
	}
	_, _, bad := screenJSON([]byte(strings.Repeat("[", 32) + strings.Repeat("]", 32)))
	require.False(t, bad, "32 levels")
}

// FuzzScreenJSON: screening never panics, and what it lets through has no
// control character in any string (as encoding/json decodes it).
func FuzzScreenJSON(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a":[1,{"b":"\u0000"}]}`, `{"on":true,"on":false}`, `[[[[]]]]`, "{\"\xff\":1}", `"\u2028"`, `{"a":"\ud800"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		location, _, bad := screenJSON(body)
		if bad {
			require.True(t, strings.HasPrefix(location, "body"), location)
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				for _, r := range v {
					require.False(t, r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029, "%q passed", body)
				}
			case []any:
				for _, item := range v {
					walk(item)
				}
			case map[string]any:
				for key, item := range v {
					walk(key)
					walk(item)
				}
			}
		}
		walk(v)
	})
}
