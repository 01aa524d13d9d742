package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// statusOf is the one table from machine code to HTTP status.
var statusOf = map[errcode.Code]int{
	errcode.MalformedJSON:        http.StatusBadRequest,
	errcode.ValidationFailed:     http.StatusBadRequest,
	errcode.Unauthorized:         http.StatusUnauthorized,
	errcode.Forbidden:            http.StatusForbidden,
	errcode.PlanLimit:            http.StatusForbidden,
	errcode.NotFound:             http.StatusNotFound,
	errcode.MethodNotAllowed:     http.StatusMethodNotAllowed,
	errcode.InvalidState:         http.StatusConflict,
	errcode.IdempotencyKeyReused: http.StatusConflict,
	errcode.PayloadTooLarge:      http.StatusRequestEntityTooLarge,
	errcode.RateLimitExceeded:    http.StatusTooManyRequests,
	errcode.Internal:             http.StatusInternalServerError,
	errcode.Unavailable:          http.StatusServiceUnavailable,
}

// envelope is the body of every JSON answer.
type envelope struct {
	Success    bool             `json:"success"`
	Data       any              `json:"data,omitempty"`
	Error      string           `json:"error,omitempty"`
	Code       errcode.Code     `json:"code,omitempty"`
	Details    []errcode.Detail `json:"details,omitempty"`
	RetryAfter *int             `json:"retryAfter,omitempty"`
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	jsonHeader(w, status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

// writeBody writes body, JSON that writeJSON would have encoded, with
// writeJSON's headers and status.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	jsonHeader(w, status)
	_, _ = w.Write(body) // the client went away; nothing to do
}

// jsonContentType is every JSON answer's Content-Type.
const jsonContentType = "application/json; charset=utf-8"

// jsonHeader writes the headers of every JSON answer and the status.
func jsonHeader(w http.ResponseWriter, status int) {
	h := w.Header()
	// What Set and Add store, under the canonical names, from one backing
	// array (with room for the Vary compression added before).
	v := make([]string, 4)
	v[0], v[1] = jsonContentType, "no-store"
	h["Content-Type"], h["Cache-Control"] = v[0:1:1], v[1:2:2]
	// A cache (the dashboard's service worker) must never answer one key
	// with another's data.
	if vary := h["Vary"]; len(vary) <= 1 {
		n := copy(v[2:3], vary)
		v[2+n] = "Authorization"
		h["Vary"] = v[2 : 3+n : 3+n]
	} else {
		h["Vary"] = append(vary, "Authorization")
	}
	w.WriteHeader(status)
}

// writeData writes a success envelope around data.
func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, envelope{Success: true, Data: data})
}

// list is the data of every list route.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

// writeError answers err with its code's status. Errors without a code are
// internal: logged with their text, answered without it.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var e *errcode.Error
	if !errors.As(err, &e) {
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
		e = errcode.New(errcode.Internal, "internal error")
	} else if e.Code == errcode.Internal || e.Code == errcode.Unavailable {
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "code", e.Code, "error", e.Error())
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	body := envelope{Error: e.Message, Code: e.Code, Details: e.Details}
	if e.Code == errcode.Internal {
		body.Error = "internal error" // never an internal error text
		body.Details = nil
	}
	writeJSON(w, status, body)
}

// decodeJSON reads the request body into v. Unknown fields are ignored; bad
// syntax is MALFORMED_JSON; a wrong type is VALIDATION_FAILED naming the
// field; a body over MaxBodyBytes is PAYLOAD_TOO_LARGE.
func decodeJSON(r *http.Request, v any) error {
	if r.ContentLength > MaxBodyBytes {
		return tooLarge()
	}
	b, err := readBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	return decodeBytes(b, v)
}

func tooLarge() error {
	return errcode.New(errcode.PayloadTooLarge, "request body exceeds %d bytes", MaxBodyBytes)
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case errors.Is(err, io.EOF):
		return errcode.New(errcode.MalformedJSON, "request body is empty; a JSON object is required")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		return errcode.Validation(errcode.Detail{
			Field: field, Code: "invalid_type",
			Message: fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value),
		})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return errcode.New(errcode.MalformedJSON, "request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	default:
		var e *errcode.Error
		if errors.As(err, &e) { // from a custom UnmarshalJSON
			return e
		}
		return errcode.New(errcode.MalformedJSON, "request body is not valid JSON")
	}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "another type"
}
