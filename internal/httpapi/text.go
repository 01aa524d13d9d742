package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// Every string a request carries must be valid UTF-8 without NUL: Postgres
// refuses NUL in text and jsonb, and encoding/json would silently replace
// invalid bytes. The rule is applied where bodies are decoded, so every
// route is covered.

// invalidText is the 400 for a string that breaks the rule.
func invalidText(field string) error {
	return errcode.Validation(errcode.Detail{Field: field, Code: "invalid_text",
		Message: field + " must be valid UTF-8 text without NUL characters"})
}

// validText reports whether s is valid UTF-8 without NUL.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}

// badTextField finds the first string of the JSON value b, key or value,
// that is not valid UTF-8 or holds NUL, and returns its path such as
// "contacts[2].name" ("(body)" for the top level). b must be valid JSON.
// A body with neither invalid bytes nor a \u0000 escape answers at once.
func badTextField(b []byte) (string, bool) {
	if utf8.Valid(b) && !bytes.Contains(b, []byte(`\u0000`)) {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var w jsonWalk
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if s, ok := tok.(string); ok && (!utf8.Valid(b[start:dec.InputOffset()]) || strings.Contains(s, "\x00")) {
			return w.path(), true
		}
		w.step(tok)
	}
}

// jsonWalk follows a token stream's position as a field path.
type jsonWalk struct{ stack []jsonFrame }

type jsonFrame struct {
	object  bool
	wantKey bool   // object: the next string is a key
	key     string // object: the current key
	index   int    // array: the current index
}

func (w *jsonWalk) step(tok json.Token) {
	top := len(w.stack) - 1
	switch tok {
	case json.Delim('{'):
		w.stack = append(w.stack, jsonFrame{object: true, wantKey: true})
		return
	case json.Delim('['):
		w.stack = append(w.stack, jsonFrame{})
		return
	case json.Delim('}'), json.Delim(']'):
		w.stack = w.stack[:top]
		top--
	default:
		if s, ok := tok.(string); ok && top >= 0 && w.stack[top].wantKey {
			w.stack[top].key, w.stack[top].wantKey = s, false
			return
		}
	}
	if top >= 0 { // a value ended
		if w.stack[top].object {
			w.stack[top].wantKey = true
		} else {
			w.stack[top].index++
		}
	}
}

func (w *jsonWalk) path() string {
	var b strings.Builder
	for _, f := range w.stack {
		switch {
		case f.object && f.wantKey: // a key itself: name its object
		case f.object:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		default:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return b.String()
}

// badTextParam names the first query parameter, or stored header, of r
// whose name or value is not valid text.
func badTextParam(r *http.Request) (string, bool) {
	if r.URL.RawQuery == "" {
		return badTextHeader(r)
	}
	for k, vs := range r.URL.Query() {
		if !validText(k) {
			return "(query)", true
		}
		for _, v := range vs {
			if !validText(v) {
				return k, true
			}
		}
	}
	return badTextHeader(r)
}

// badTextHeader is badTextParam's check of the headers.
func badTextHeader(r *http.Request) (string, bool) {
	if v := r.Header.Get("Idempotency-Key"); !validText(v) {
		return "Idempotency-Key", true
	}
	return "", false
}
