package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Redacted replaces a value the guard takes for a secret.
const Redacted = "[redacted]"

// Limits of the token rules.
const (
	// minAccountDigits: a bare run of this many digits or more is taken for
	// an account number (US account numbers are 4–17 digits; below 8 the
	// rule would eat counts, years and amounts in error strings). It also
	// covers TINs and SSNs written without dashes (9 digits).
	minAccountDigits = 8
	// minBearerTokenChars: "Bearer x" is redacted only when x is this long,
	// so the phrase "a bearer token is required" survives; payrun's tokens
	// are 43 characters (32 random bytes, base64url).
	minBearerTokenChars = 16
)

// Redact returns a handler that passes records to next with secret-looking
// values replaced by Redacted. The rules, applied to the message, to every
// string attribute value (in groups too, and to attributes given to With),
// to error values' text and to other values' JSON rendering:
//
//  1. An attribute whose key names a secret — a word of the key (split at
//     "_", "-", "." and case changes) is password, passwd, passphrase, pwd,
//     secret, token, authorization, cookie, otp, tin, ssn or iban, or the key
//     is account_number, or contains "password" — has its whole value
//     replaced, whatever its kind, unless the value is empty or already
//     masked ("*****6789", "[redacted]").
//  2. Inside strings, "password=…", "token: …", "\"secret\":\"…\"" and the
//     like (the same key words followed by = or :) lose their value, and
//     "Bearer <token>" loses the token when it is at least 16 characters.
//  3. Inside strings, each token — a maximal run of letters, digits, ".",
//     "_" and "-", stripped of leading and trailing ".", "_" and "-" — is
//     replaced when the whole token is
//     - a run of 8 or more digits (account numbers; TINs without dashes), or
//     - a TIN with dashes: 123-45-6789 (SSN, ITIN) or 12-3456789 (EIN), or
//     - an IBAN: two upper-case letters, two digits and 11–30 upper-case
//     letters or digits (checksum not required: a mistyped IBAN is as
//     private as a valid one); also written in groups of four separated by
//     single spaces.
//
// Because rule 3 looks at whole tokens, digits glued to letters are kept:
// seller ids (S000000001), payment ids (P20261100000042, "P" + YYYYMM + 8
// digits), file names (ach-20261120.txt), request ids (32 lower-case hex
// digits; lower case never matches the IBAN rule), cycle months (2026-11)
// and amounts with a decimal point (12345678.90). Integers logged as
// numbers (counts, durations, ids) are not inspected: payrun keeps account
// numbers and TINs in strings, never in integers.
func Redact(next slog.Handler) slog.Handler {
	return &redactHandler{next: next}
}

type redactHandler struct {
	next slog.Handler
}

func (h *redactHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, RedactString(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	redacted := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		redacted[i] = redactAttr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(redacted)}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name)}
}

// redactAttr applies the rules to one attribute (and, for a group, to its
// members).
func redactAttr(a slog.Attr) slog.Attr {
	value := a.Value.Resolve()
	if sensitiveKey(a.Key) {
		if value.Kind() == slog.KindString && masked(value.String()) {
			return slog.Attr{Key: a.Key, Value: value}
		}
		return slog.String(a.Key, Redacted)
	}
	switch value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, RedactString(value.String()))
	case slog.KindGroup:
		members := value.Group()
		redacted := make([]slog.Attr, len(members))
		for i, m := range members {
			redacted[i] = redactAttr(m)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(redacted...)}
	case slog.KindAny:
		var text string
		switch v := value.Any().(type) {
		case nil:
			return slog.Attr{Key: a.Key, Value: value}
		case error:
			text = v.Error()
		case fmt.Stringer:
			text = v.String()
		default:
			body, err := json.Marshal(v)
			if err != nil {
				text = fmt.Sprint(v)
			} else {
				text = string(body)
			}
		}
		if redacted := RedactString(text); redacted != text {
			return slog.String(a.Key, redacted)
		}
		return slog.Attr{Key: a.Key, Value: value}
	default: // numbers, booleans, times, durations
		return slog.Attr{Key: a.Key, Value: value}
	}
}

// secretKeyWords are the words of an attribute key that make its value a
// secret (rule 1).
var secretKeyWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "pwd": true, "secret": true, "token": true,
	"authorization": true, "cookie": true, "otp": true, "tin": true, "ssn": true, "iban": true,
}

// sensitiveKey reports whether an attribute key names a secret (rule 1).
func sensitiveKey(key string) bool {
	lower := strings.ToLower(key)
	if strings.Contains(lower, "password") || lower == "account_number" || lower == "accountnumber" {
		return true
	}
	for _, word := range keyWords(key) {
		if secretKeyWords[word] {
			return true
		}
	}
	return false
}

// keyWords splits a key into lower-case words at non-letters-or-digits and
// at lower-to-upper case changes (accessToken → access, token).
func keyWords(key string) []string {
	var words []string
	start := -1
	for i := 0; i <= len(key); i++ {
		var c byte
		if i < len(key) {
			c = key[i]
		}
		boundary := i == len(key) || !isAlphanumeric(c) ||
			(start >= 0 && i > start && c >= 'A' && c <= 'Z' && key[i-1] >= 'a' && key[i-1] <= 'z')
		if boundary && start >= 0 {
			words = append(words, strings.ToLower(key[start:i]))
			start = -1
		}
		if i < len(key) && isAlphanumeric(c) && start < 0 {
			start = i
		}
	}
	return words
}

// maskedValue is a value already masked for display: asterisks and at most
// four characters in the clear.
var maskedValue = regexp.MustCompile(`^\*+[A-Za-z0-9]{0,4}$`)

func masked(value string) bool {
	return value == "" || value == Redacted || maskedValue.MatchString(value)
}

var (
	// bearerToken (rule 2): the scheme is kept, the token goes.
	bearerToken = regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{16,}=*`)
	// keyValueQuoted and keyValueBare (rule 2): a secret key word followed by
	// = or : and a value, quoted (JSON, Go %q) or not (query strings,
	// key=value logs). The key may be quoted and may carry a prefix
	// (new_password, access_token, client_secret).
	keyValueQuoted = regexp.MustCompile(`(?i)([A-Za-z_]*(?:password|passwd|passphrase|secret|token)"?\s*[:=]\s*)"(?:[^"\\]|\\.)*"`)
	keyValueBare   = regexp.MustCompile(`(?i)([A-Za-z_]*(?:password|passwd|passphrase|secret|token)\s*[:=]\s*)[^\s"&,;}\]]+`)
	// spacedIBAN (rule 3): an IBAN printed in groups of four.
	spacedIBAN = regexp.MustCompile(`[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?`)
	// dashedTIN and ibanToken (rule 3) match whole tokens.
	dashedTIN = regexp.MustCompile(`^(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{2}-[0-9]{7})$`)
	ibanToken = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`)
)

// RedactString applies rules 2 and 3 to s: secret-looking parts of it are
// replaced with Redacted, the rest is kept.
func RedactString(s string) string {
	if s == "" {
		return s
	}
	s = bearerToken.ReplaceAllString(s, "${1}"+Redacted)
	s = keyValueQuoted.ReplaceAllString(s, `${1}"`+Redacted+`"`)
	s = keyValueBare.ReplaceAllStringFunc(s, func(match string) string {
		key := keyValueBare.FindStringSubmatch(match)[1]
		if strings.HasPrefix(match[len(key):], Redacted) {
			return match // already done by bearerToken
		}
		return key + Redacted
	})
	s = replaceWholeTokens(s, spacedIBAN)
	return redactTokens(s)
}

// Sensitive reports whether RedactString would change s: a value that must
// not be echoed into logs (a request id, for one).
func Sensitive(s string) bool {
	return RedactString(s) != s
}

// replaceWholeTokens replaces matches of pattern that are not part of a
// longer token.
func replaceWholeTokens(s string, pattern *regexp.Regexp) string {
	matches := pattern.FindAllStringIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		if (m[0] > 0 && isTokenChar(s[m[0]-1])) || (m[1] < len(s) && isTokenChar(s[m[1]])) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(Redacted)
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// redactTokens applies the whole-token rules of rule 3.
func redactTokens(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isTokenChar(s[i]) {
			i++
			continue
		}
		end := i
		for end < len(s) && isTokenChar(s[end]) {
			end++
		}
		start, stop := i, end
		for start < stop && isTrimmable(s[start]) {
			start++
		}
		for stop > start && isTrimmable(s[stop-1]) {
			stop--
		}
		if start < stop && sensitiveToken(s[start:stop]) {
			b.WriteString(s[last:start])
			b.WriteString(Redacted)
			last = stop
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func sensitiveToken(token string) bool {
	if len(token) >= minAccountDigits && allDigits(token) {
		return true
	}
	return dashedTIN.MatchString(token) || ibanToken.MatchString(token)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlphanumeric(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isTokenChar(c byte) bool { return isAlphanumeric(c) || c == '.' || c == '_' || c == '-' }

func isTrimmable(c byte) bool { return c == '.' || c == '_' || c == '-' }
