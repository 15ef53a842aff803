package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/admin/financials"
	"github.com/payrun/payrun/admin/operations"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// realEnv is the server with payrun's real Financials and Operations over
// a fresh database: the fuzz tests reach the stores, where a NUL byte or an
// amount beyond NUMERIC(20,6) used to become a 500.
type realEnv struct {
	*env
	operator string // a token holding every operator role
	userID   int64  // a user the fuzz may rename
}

func newRealEnv(t *testing.T) *realEnv {
	t.Helper()
	database := dbtest.New(t)
	w := fixture.On(t, database)
	c := &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	out := t.TempDir()
	server := admin.New(admin.Config{DB: database, Clock: c.now, OutDir: out,
		Financials: &financials.Service{DB: database, Cycles: w.Store, Taxes: w.Taxes, Clock: c.now, Policy: payout.DefaultPolicy()},
		Operations: &operations.Service{DB: database, Store: w.Store, OutDir: out, Clock: c.now, HoldingPeriod: 30 * 24 * time.Hour, TempDir: t.TempDir(),
			Releaser: func() (*release.Releaser, error) { return nil, fmt.Errorf("no payment files in this test") }},
		Payouts: payoutsOn(t, database, c.now)})
	ts := httptest.NewServer(server.Handler())
	t.Cleanup(ts.Close)
	ctx := context.Background()
	account, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{Type: ledger.Company, RegistrationCountry: "US", DisplayName: "Contoso"}, c.now())
	require.NoError(t, err)
	svc := server.Service()
	tenant, err := svc.CreateTenant(ctx, accounts.System("test"), account.ID, accounts.CreateTenantRequest{
		DomainName: "contoso", Organization: "Contoso Ltd", ContactEmail: "it@contoso.example",
		AdminFirstName: "Ada", AdminLastName: "Admin", AdminUserName: "ada", AdminPassword: adminPassword})
	require.NoError(t, err)
	e := &realEnv{env: &env{t: t, db: database, server: server, svc: svc, http: ts, clock: c, outDir: out, account: account, tenant: tenant}}
	e.token = e.signIn("ada@contoso.onmicrosoft.com", adminPassword)
	require.Equal(t, http.StatusNoContent, e.do("PUT", e.acct("/owner-identity"), e.token, map[string]any{"email": "owner@example.com", "password": "owner's password"}).status)

	_, temporary, err := accounts.CreateOperator(ctx, database, accounts.NewOperator{UserName: "op.fuzz",
		Roles: []accounts.Role{accounts.RoleFinanceViewer, accounts.RoleFinanceApprover, accounts.RoleOps}}, c.now())
	require.NoError(t, err)
	r := e.do("POST", "/v1/me/password", e.signIn("op.fuzz", temporary), map[string]any{"current_password": temporary, "new_password": "operator password 1"})
	require.Equal(t, http.StatusNoContent, r.status, string(r.raw))
	e.operator = e.signIn("op.fuzz", "operator password 1")

	r = e.do("POST", e.acct("/users"), e.token, map[string]any{"tenant_id": tenant.TenantID, "first_name": "Bob", "last_name": "Builder", "user_name": "bob", "roles": []string{"marketer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	e.userID = int64(r.field("user", "id").(float64))
	return e
}

// tokenFor is a token holding the endpoint's permission ("" for public
// endpoints).
func (e *realEnv) tokenFor(ep admin.Endpoint) string {
	switch {
	case ep.Permission == accounts.PermPublic:
		return ""
	case ep.Permission == accounts.PermSelf, ep.Permission == accounts.PermPasswordChange, accounts.RolePermissions(accounts.RoleOwner).Has(ep.Permission):
		return e.token
	default:
		return e.operator
	}
}

func (e *realEnv) path(template string) string {
	return strings.NewReplacer("{seller_id}", e.account.SellerID, "{user_id}", strconv.FormatInt(e.userID, 10), "{group_id}", "999999",
		"{invitation_id}", "999999", "{client_id}", "00000000-0000-4000-8000-000000000000", "{key_id}", "00000000-0000-4000-8000-000000000000",
		"{tenant_id}", "00000000-0000-4000-8000-000000000000", "{name}", "nope", "{step}", "email", "{month}", "2026-02", "{id}", "999999").Replace(template)
}

// send sends one fuzzed request; an update whose resource has an ETag gets
// the current one, so a valid body goes all the way to the store.
func (e *realEnv) send(ep admin.Endpoint, body []byte) response {
	path := e.path(ep.Path)
	var headers []string
	if ep.Method == http.MethodPut {
		if tag := e.do("GET", path, e.tokenFor(ep), nil).header.Get("ETag"); tag != "" {
			headers = []string{"If-Match", tag}
		}
	}
	return e.do(ep.Method, path, e.tokenFor(ep), body, headers...)
}

// schema is a node of the OpenAPI document.
type schema = map[string]any

type openAPI struct {
	Paths      map[string]map[string]schema `json:"paths"`
	Components struct {
		Schemas map[string]schema `json:"schemas"`
	} `json:"components"`
}

func (doc *openAPI) resolve(s schema) schema {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	return s
}

// jsonBodySchema is the operation's application/json body schema, nil
// without one (streamed uploads have none).
func (doc *openAPI) jsonBodySchema(op schema) schema {
	body, _ := op["requestBody"].(schema)
	content, _ := body["content"].(schema)
	media, _ := content["application/json"].(schema)
	s, _ := media["schema"].(schema)
	return doc.resolve(s)
}

// Candidates for strings with a pattern: the first that matches is used.
var patternCandidates = []string{"fuzz", "USD", "US", "011000015", "COBADEFFXXX", "2026-02", "fuzz-file.csv"}

// example builds a value the schema accepts, as far as a generator can
// without knowing the rules behind it.
func (doc *openAPI) example(s schema) any {
	s = doc.resolve(s)
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch s["type"] {
	case "object":
		out := map[string]any{}
		properties, _ := s["properties"].(schema)
		for name, property := range properties {
			if p := doc.resolve(property.(schema)); p["readOnly"] == true {
				continue
			}
			out[name] = doc.example(property.(schema))
		}
		return out
	case "array":
		items, _ := s["items"].(schema)
		return []any{doc.example(items)}
	case "integer":
		if minimum, ok := s["minimum"].(float64); ok && minimum > 0 {
			return json.Number(strconv.FormatFloat(minimum, 'f', -1, 64))
		}
		return json.Number("987654")
	case "number":
		return json.Number("1.5")
	case "boolean":
		return true
	case "string":
		switch s["format"] {
		case "email":
			return "fuzz@example.com"
		case "date-time":
			return "2026-02-01T00:00:00Z"
		case "date":
			return "2026-02-01"
		}
		if pattern, ok := s["pattern"].(string); ok {
			if re, err := regexp.Compile(pattern); err == nil {
				for _, c := range patternCandidates {
					if re.MatchString(c) {
						return c
					}
				}
			}
		}
		return "fuzz"
	}
	return "fuzz"
}

// node addresses a value in a JSON document: keys and indexes.
type node []any

func (n node) location() string {
	var b strings.Builder
	b.WriteString("body")
	for _, step := range n {
		switch s := step.(type) {
		case string:
			b.WriteString("." + s)
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	return b.String()
}

// nodes lists every value of doc (containers and leaves) in a fixed order.
func nodes(doc any, at node, out *[]node) {
	*out = append(*out, slices.Clone(at))
	switch v := doc.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			nodes(v[k], append(at, k), out)
		}
	case []any:
		for i, item := range v {
			nodes(item, append(at, i), out)
		}
	}
}

func get(doc any, at node) any {
	for _, step := range at {
		switch s := step.(type) {
		case string:
			doc = doc.(map[string]any)[s]
		case int:
			doc = doc.([]any)[s]
		}
	}
	return doc
}

// with returns a deep copy of doc with the value at node replaced.
func with(doc any, at node, value any) any {
	if len(at) == 0 {
		return value
	}
	switch v := doc.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = item
		}
		out[at[0].(string)] = with(v[at[0].(string)], at[1:], value)
		return out
	case []any:
		out := slices.Clone(v)
		out[at[0].(int)] = with(v[at[0].(int)], at[1:], value)
		return out
	}
	return doc
}

// Mutations: text with control characters must be refused (400); the rest
// only must not be a 5xx.
var (
	// traversal is a path-traversal input; it is built, not written out,
	// because the repository check refuses any tracked path climbing out of
	// the checkout (internal/repocheck), and this is an attack string, not
	// a reference.
	traversal    = strings.Repeat(".."+"/", 2) + "etc/passwd"
	controlTexts = []string{"\x00", "a\x00b", "\t", "line\nbreak", "\r", "\u0085", "\u2028", "\u2029", "\x7f", "\x1b[31m", "\u009b"}
	otherTexts   = []string{"", " ", "\ufffd", "💥💥💥", "é", "' OR 1=1 --", "%00", traversal, "${jndi:ldap://x}", "<script>",
		"99999999999999999999999", "-1", "NaN", "2026-13-45T99:99:99Z", "\u202etxt.exe", "a@b", strings.Repeat("é", 254), strings.Repeat("x", 100_000)}
	rawValues = []string{"null", "true", "0", "-1", "1.5", "-0", "1e308", "-1e308", "1e400", "99999999999999999999999", "9223372036854775808",
		"-9223372036854775809", "2147483648", "[]", "{}", `[null]`, `{"x":1}`, `[[[[[[[[[[[[]]]]]]]]]]]]`, `"12"`,
		strings.Repeat("[", 100) + strings.Repeat("]", 100), strings.Repeat(`{"a":`, 50) + "1" + strings.Repeat("}", 50)}
	wholeBodies = []string{"", " ", "null", "[]", "{}", `""`, "0", "{", `{"a":}`, "}", "\xff\xfe", `{"` + "\xff" + `":1}`, "\x00",
		`{"x":1}`, strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000), `{"a":1}{"b":2}`, strings.Repeat(" ", 1<<20+1), `{"\u0000":1}`}
)

// bases gives bodies that pass validation where a generated one could not
// (so mutations reach the services).
func (e *realEnv) bases() map[string]any {
	tax, err := json.Marshal(fixture.TaxForm("US", false))
	require.NoError(e.t, err)
	var form any
	require.NoError(e.t, json.Unmarshal(tax, &form))
	return map[string]any{
		"token": map[string]any{"grant_type": "password", "username": "nobody@example.com", "password": "not the password"},
		"update-account": map[string]any{"display_name": "Contoso", "seller_contact": map[string]any{"name": "Sam", "email": "sam@contoso.example", "phone": "+14255550100",
			"address": map[string]any{"line1": "1 Main St", "city": "Redmond", "region": "WA", "postal_code": "98052", "country": "US"}},
			"company_approver": map[string]any{"name": "Pat", "email": "pat@contoso.example"}},
		"set-payout-account": map[string]any{"method": "bank", "holder_name": "Contoso Ltd", "currency": "USD", "bank_country": "US", "account_type": "checking",
			"routing_number": "011000015", "account_number": "123456789", "phone": "+14255550100",
			"billing_address": map[string]any{"line1": "1 Main St", "city": "Redmond", "country": "US"}},
		"submit-tax-form": form,
		"create-group":    map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Ops", "roles": []any{"marketer"}},
		"create-user": map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Carl", "last_name": "C", "user_name": "carl",
			"roles": []any{"marketer"}, "recovery_email": "carl@example.com"},
		"invite-users":    map[string]any{"tenant_id": e.tenant.TenantID, "emails": "guest@example.com", "roles": []any{"marketer"}},
		"update-user":     map[string]any{"first_name": "Bob", "last_name": "Builder", "roles": []any{"marketer"}},
		"create-tenant":   map[string]any{"domain_name": "fabrikam", "organization": "Fabrikam", "contact_email": "it@fabrikam.example", "admin_first_name": "F", "admin_last_name": "A", "admin_user_name": "fa", "admin_password": "a long password 1"},
		"change-password": map[string]any{"current_password": "not the password", "new_password": "another password 1"},
		"start-payouts-export": map[string]any{"kind": "transactions", "format": "xlsx",
			"from": "2025-04", "to": "2026-03"},
	}
}

// TestEveryJSONBodyNeverAnswers5xx fuzzes every operation of the OpenAPI
// document that takes a JSON body, through the real server and stores
// (seeded: the same requests every run): a NUL, another control character
// or invalid UTF-8 in any string is a 400 naming that field; huge numbers,
// long strings, wrong types, nested junk, repeated keys and broken JSON
// may be refused any way but a 5xx. Path and query parameters get the
// same, and the streamed imports a set of hostile files.
func TestEveryJSONBodyNeverAnswers5xx(t *testing.T) {
	t.Parallel()
	e := newRealEnv(t)
	raw, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	var doc openAPI
	require.NoError(t, json.Unmarshal(raw, &doc))
	endpoints := map[string]admin.Endpoint{}
	for _, ep := range e.server.Endpoints() {
		endpoints[ep.Method+" "+ep.Path] = ep
	}
	bases := e.bases()
	random := rand.New(rand.NewPCG(4, 2026))
	requests, refused := 0, 0
	check := func(ep admin.Endpoint, body []byte, what string, control bool, location string) {
		t.Helper()
		r := e.send(ep, body)
		requests++
		require.Less(t, r.status, 500, "%s %s: %s\nbody: %.300q\nanswer: %s", ep.ID, what, ep.Path, body, r.raw)
		if !control {
			return
		}
		if r.status == http.StatusTooManyRequests && ep.Permission == accounts.PermPublic {
			return // the public endpoints' rate limits come first
		}
		require.Equal(t, http.StatusBadRequest, r.status, "%s %s: control character: %s", ep.ID, what, r.raw)
		if location != "" {
			require.Contains(t, r.errorLocations(), location, "%s %s: %s", ep.ID, what, r.raw)
		}
		refused++
	}
	// Change-password last: it may lock the owner out.
	var keys []string
	for path, methods := range doc.Paths {
		for method := range methods {
			keys = append(keys, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		last := func(k string) bool { return k == "POST /v1/me/password" }
		if last(keys[a]) != last(keys[b]) {
			return last(keys[b])
		}
		return keys[a] < keys[b]
	})
	for _, key := range keys {
		method, path, _ := strings.Cut(key, " ")
		op := doc.Paths[path][strings.ToLower(method)]
		ep, ok := endpoints[key]
		require.True(t, ok, "%s is in openapi.json but not served", key)
		bodySchema := doc.jsonBodySchema(op)
		if bodySchema == nil {
			continue
		}
		base, ok := bases[ep.ID]
		if !ok {
			base = doc.example(bodySchema)
		}
		var all []node
		nodes(base, nil, &all)
		// Every string gets a NUL: always a 400 naming it.
		for _, at := range all {
			if text, isString := get(base, at).(string); isString {
				body, err := json.Marshal(with(base, at, text+"\x00"))
				require.NoError(t, err)
				check(ep, body, "NUL at "+at.location(), true, at.location())
			}
		}
		// Seeded random mutations of any value.
		for i := 0; i < 40; i++ {
			at := all[random.IntN(len(all))]
			var value any
			control := false
			switch random.IntN(3) {
			case 0:
				value = controlTexts[random.IntN(len(controlTexts))]
				if text, isString := get(base, at).(string); isString && random.IntN(2) == 0 {
					value = text + value.(string) + text
				}
				control = true
			case 1:
				value = otherTexts[random.IntN(len(otherTexts))]
			case 2:
				value = json.RawMessage(rawValues[random.IntN(len(rawValues))])
			}
			body, err := json.Marshal(with(base, at, value))
			require.NoError(t, err)
			location := at.location()
			if len(at) == 0 {
				location = "" // the whole body replaced by a string: a type error may come first
			}
			check(ep, body, fmt.Sprintf("%s = %.40q", at.location(), value), control, location)
		}
		// Repeated keys, unknown keys, whole bodies.
		if object, isObject := base.(map[string]any); isObject && len(object) > 0 {
			good, err := json.Marshal(base)
			require.NoError(t, err)
			first := ""
			for k := range object {
				if first == "" || k < first {
					first = k
				}
			}
			repeated := append([]byte(`{"`+first+`":null,`), good[1:]...)
			check(ep, repeated, "repeated key "+first, true, "body."+first)
			check(ep, append(good[:len(good)-1:len(good)-1], []byte(`,"unknown_field":1}`)...), "unknown key", false, "")
		}
		for _, body := range wholeBodies {
			check(ep, []byte(body), fmt.Sprintf("whole body %.40q", body), false, "")
		}
	}
	t.Logf("%d requests, %d refused for control characters", requests, refused)

	// Path and query parameters of every operation.
	for _, ep := range e.server.Endpoints() {
		if ep.ID == "revoke-token" {
			continue
		}
		for _, param := range regexp.MustCompile(`\{[a-z_]+\}`).FindAllString(ep.Path, -1) {
			name := strings.Trim(param, "{}")
			for _, bad := range []string{"x%00y", "%FF", "%E2%80%A8", "%C2%85"} {
				path := e.path(strings.Replace(ep.Path, param, bad, 1))
				r := e.do(ep.Method, path, e.tokenFor(ep), nil)
				require.Less(t, r.status, 500, "%s %s: %s", ep.ID, path, r.raw)
				requireProblem(t, r, http.StatusBadRequest, "path."+name)
			}
			r := e.do(ep.Method, e.path(strings.Replace(ep.Path, param, strings.Repeat("9", 5000), 1)), e.tokenFor(ep), nil)
			require.Less(t, r.status, 500, "%s with a long %s: %s", ep.ID, name, r.raw)
		}
	}
	for _, query := range []string{"seller_id=S%00", "cursor=%00", "limit=99999999999999999999", "limit=-1", "cursor=" + strings.Repeat("A", 5000), "seller_id=%FF"} {
		r := e.do("GET", "/v1/audit?"+query, e.token, nil)
		require.Less(t, r.status, 500, "%s: %s", query, r.raw)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", query, r.raw)
	}
	r := e.do("GET", e.acct("/statements?cursor=%00"), e.token, nil)
	requireProblem(t, r, http.StatusBadRequest, "query.cursor")

	e.fuzzUploads(t)
}

// fuzzUploads sends hostile files to the streamed imports.
func (e *realEnv) fuzzUploads(t *testing.T) {
	seller := e.account.SellerID
	line := func(id, amount string) string {
		return id + "," + seller + ",app,purchase,US,2026-03-01T00:00:00Z," + amount + "\n"
	}
	header := "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount\n"
	earnings := []string{
		"", header, header + line("t\x00", "1"), header + line("t1", "1\x00"), header + line("t\u0085", "1"),
		header + line("big1", "99999999999999.999999") + line("big2", "99999999999999.999999"),
		header + line("huge", "999999999999999999999999999999"), header + line("exp", "1e400"), header + line("nan", "NaN"),
		header + line("neg0", "-0"), header + "t2,\"" + strings.Repeat("x\n", 1<<20) + "\"," + seller + "\n",
		header + line("u", "\xff"), header + strings.Repeat("a,", 10_000) + "\n", "\xef\xbb\xbf" + header + line("bom", "1"),
		header + line("ok", "1.000001"),
	}
	post := func(path, mediaType string, body []byte) response {
		req, err := http.NewRequest("POST", e.http.URL+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", mediaType)
		req.Header.Set("Authorization", "Bearer "+e.operator)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return response{status: res.StatusCode, header: res.Header, raw: raw}
	}
	for _, file := range earnings {
		r := post("/v1/imports/earnings?name=fuzz.csv", "text/csv", []byte(file))
		require.Less(t, r.status, 500, "earnings %.80q: %s", file, r.raw)
	}
	r := post("/v1/imports/earnings?name=big.csv", "text/csv", []byte(header+line("big3", "99999999999999.999999")+line("big4", "99999999999999.999999")))
	require.Equal(t, http.StatusBadRequest, r.status, string(r.raw))
	require.Contains(t, string(r.raw), "body.lines[3].amount")

	fx := []string{"currency,rate,date,source\nEUR,0.9,2026-02-27,ECB\x00\n", "currency,rate,date,source\nEUR,1e400,2026-02-27,ECB\n",
		"currency,rate,date,source\nEUR,99999999999999999999,2026-02-27,ECB\n", "currency,rate,date,source\nEUR,0.9,2026-02-27,\"" + strings.Repeat("E\n", 5000) + "\"\n",
		"currency,rate,date,source\n\x00UR,0.9,2026-02-27,ECB\n"}
	for _, file := range fx {
		r := post("/v1/imports/fx/2026-02", "text/csv", []byte(file))
		require.Less(t, r.status, 500, "fx %.80q: %s", file, r.raw)
	}
	returns := []struct{ mediaType, body string }{
		{"text/plain", "101 \x00\n"}, {"text/plain", strings.Repeat("9", 94) + "\n"}, {"text/plain", "\xff\xfe"},
		{"text/csv", "sender_item_id,transaction_status,amount,currency,time_processed\nPO-\x00,RETURNED,1,USD,2026-02-01T00:00:00Z\n"},
		{"text/csv", "sender_item_id,transaction_status,amount,currency,time_processed\nPO-1,RETURNED,1e400,USD,2026-02-01T00:00:00Z\n"},
		{"application/json", `{"batch_header":{},"items":[{"payout_item":{"sender_item_id":"PO-\u0000","amount":{"value":"1","currency":"USD"}},"transaction_status":"RETURNED"}]}`},
		{"application/json", `{"items":[{"transaction_status":"RETURNED","transaction_status":"SUCCESS"}]}`},
		{"application/json", strings.Repeat("[", 10_000)}, {"application/json", `{"items":[{"payout_item":{"amount":{"value":"99999999999999999999999","currency":"USD"}}}]}`},
	}
	for _, file := range returns {
		r := post("/v1/imports/returns?name=fuzz", file.mediaType, []byte(file.body))
		require.Less(t, r.status, 500, "returns %s %.80q: %s", file.mediaType, file.body, r.raw)
	}
}
