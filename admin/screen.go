package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/payrun/payrun/internal/textcheck"
)

// MaxJSONDepth bounds how deeply a request body nests: the deepest body of
// this API (an account update's address) is three levels; 32 is room for
// any tax form, and far from what a parser's recursion must fear.
const MaxJSONDepth = 32

// Screening is the edge's one check of text (SPEC §11), before anything
// reads a value: every path, query and header parameter an operation
// declares, and every string of a JSON request body (keys included), must
// be valid UTF-8 without control characters (internal/textcheck: C0, DEL,
// C1 such as U+0085, U+2028 and U+2029); a body must not repeat a key in an
// object (encoding/json keeps the last, and matches struct fields without
// regard to case, so keys differing only in case repeat one too) nor nest
// deeper than MaxJSONDepth. A refusal is a 400 problem naming where:
// path.seller_id, query.name, header.Idempotency-Key, body.holder_name,
// body.billing_address.line1, body.roles[2].
//
// Parameters are screened first (screenParameters, before authorize, which
// looks the path's account up); bodies after authorize (screenBody), so an
// unauthorised request is refused before its body is read. Streamed
// uploads (imports) are not read here: their importers check every field.

// screenParameters refuses control characters and invalid UTF-8 in the
// operation's declared parameters.
func (s *Server) screenParameters(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil {
		next(ctx)
		return
	}
	var query map[string][]string
	for _, p := range op.Parameters {
		var values []string
		switch p.In {
		case "path":
			values = []string{ctx.Param(p.Name)}
		case "query":
			if query == nil {
				u := ctx.URL()
				query = u.Query()
			}
			values = query[p.Name]
		case "header":
			if r, _ := humachi.Unwrap(ctx); r != nil {
				values = r.Header.Values(p.Name)
			}
		}
		for _, value := range values {
			if problem := textcheck.Problem(value); problem != "" {
				writeProblem(ctx, badInput(p.In+"."+p.Name, problem))
				return
			}
		}
	}
	next(ctx)
}

// screenBody reads a JSON request body (up to the operation's limit; huma
// answers a bigger one 413), screens it and hands it on unchanged.
func (s *Server) screenBody(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil ||
		op.RequestBody.Content["application/json"].Schema == nil {
		next(ctx) // no body, or a streamed one
		return
	}
	r, _ := humachi.Unwrap(ctx)
	if r == nil || r.Body == nil {
		next(ctx)
		return
	}
	limit := op.MaxBodyBytes
	if limit <= 0 {
		limit = MaxBodyBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	rest := r.Body
	if err != nil {
		rest = io.NopCloser(errorReader{err}) // huma reports it
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err == nil && int64(len(body)) <= limit {
		if location, message, bad := screenJSON(body); bad {
			writeProblem(ctx, badInput(location, message))
			return
		}
	}
	next(ctx)
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

// badInput is a 400 naming one location.
func badInput(location, message string) *huma.ErrorModel {
	return &huma.ErrorModel{Status: http.StatusBadRequest, Title: http.StatusText(http.StatusBadRequest),
		Detail: "validation failed: " + location + ": " + message,
		Errors: []*huma.ErrorDetail{{Location: location, Message: message}}}
}

func writeProblem(ctx huma.Context, model *huma.ErrorModel) {
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(model.Status)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(model)
}

// screenJSON checks a JSON document: valid UTF-8, strings and keys without
// control characters, no key twice in an object, at most MaxJSONDepth
// levels. It reports the first problem's location (body.a.b[2]) and
// message. A document that is not JSON passes: huma's parser says why,
// better than a tokenizer cut short.
func screenJSON(body []byte) (location, message string, bad bool) {
	if !utf8.Valid(body) {
		offset := 0
		for offset < len(body) {
			r, size := utf8.DecodeRune(body[offset:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			offset += size
		}
		return "body", fmt.Sprintf("not valid UTF-8 (byte 0x%02X at offset %d)", body[offset], offset), true
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	walker := &jsonWalker{decoder: decoder}
	err := walker.value("body", 0)
	var problem *screenProblem
	if errors.As(err, &problem) {
		return problem.location, problem.message, true
	}
	return "", "", false
}

type screenProblem struct{ location, message string }

func (p *screenProblem) Error() string { return p.location + ": " + p.message }

type jsonWalker struct{ decoder *json.Decoder }

// value walks one value at path; depth counts the containers around it.
func (w *jsonWalker) value(path string, depth int) error {
	token, err := w.decoder.Token()
	if err != nil {
		return err // not JSON (or empty): huma's parser reports it
	}
	switch t := token.(type) {
	case string:
		if problem := textcheck.Problem(t); problem != "" {
			return &screenProblem{path, problem}
		}
	case json.Delim:
		if depth >= MaxJSONDepth {
			return &screenProblem{path, fmt.Sprintf("nested deeper than %d levels", MaxJSONDepth)}
		}
		switch t {
		case '{':
			return w.object(path, depth+1)
		case '[':
			return w.array(path, depth+1)
		}
	}
	return nil
}

func (w *jsonWalker) object(path string, depth int) error {
	seen := map[string]string{} // folded key → the key as sent
	for w.decoder.More() {
		token, err := w.decoder.Token()
		if err != nil {
			return err
		}
		key, _ := token.(string)
		at := path + "." + key
		if problem := textcheck.Problem(key); problem != "" {
			return &screenProblem{path, "a key " + problem}
		}
		folded := strings.ToLower(strings.ToUpper(key))
		if first, repeated := seen[folded]; repeated {
			if first == key {
				return &screenProblem{at, "the key " + strconv.Quote(key) + " appears twice in the object: send each field once"}
			}
			return &screenProblem{at, "the keys " + strconv.Quote(first) + " and " + strconv.Quote(key) + " differ only in case: field names match without regard to case, send each field once"}
		}
		seen[folded] = key
		if err := w.value(at, depth); err != nil {
			return err
		}
	}
	_, err := w.decoder.Token() // }
	return err
}

func (w *jsonWalker) array(path string, depth int) error {
	for i := 0; w.decoder.More(); i++ {
		if err := w.value(path+"["+strconv.Itoa(i)+"]", depth); err != nil {
			return err
		}
	}
	_, err := w.decoder.Token() // ]
	return err
}
