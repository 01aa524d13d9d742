// Package errcode holds the machine codes of the HTTP API and the
// one error type that carries a code and a message safe to show a client.
//
// Any layer may return an *Error; httpapi maps its Code to a status. Errors that
// are not an *Error are internal: they are logged and answered as INTERNAL
// without their text.
package errcode

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error code of the HTTP API.
type Code string

// The codes. The HTTP status of each lives in httpapi.
const (
	MalformedJSON        Code = "MALFORMED_JSON"
	ValidationFailed     Code = "VALIDATION_FAILED"
	Unauthorized         Code = "UNAUTHORIZED"
	Forbidden            Code = "FORBIDDEN"
	PlanLimit            Code = "PLAN_LIMIT"
	NotFound             Code = "NOT_FOUND"
	MethodNotAllowed     Code = "METHOD_NOT_ALLOWED"
	InvalidState         Code = "INVALID_STATE"
	IdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"
	PayloadTooLarge      Code = "PAYLOAD_TOO_LARGE"
	RateLimitExceeded    Code = "RATE_LIMIT_EXCEEDED"
	Internal             Code = "INTERNAL"
	Unavailable          Code = "UNAVAILABLE"
)

// Detail describes one invalid field of a request.
type Detail struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an error with a code and a message that may be shown to a client.
// Err, when set, is the cause: it is logged, never shown.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	Err     error
}

// New returns an error with the given code and client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with a code and a client-safe message whose cause is err.
func Wrap(err error, code Code, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Validation returns a VALIDATION_FAILED error listing the invalid fields.
func Validation(details ...Detail) *Error {
	msg := "request validation failed"
	if len(details) == 1 {
		msg = details[0].Field + ": " + details[0].Message
	}
	return &Error{Code: ValidationFailed, Message: msg, Details: details}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, errcode.ErrNotFound) holds for any NOT_FOUND error.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Sentinels to compare against with errors.Is.
var (
	ErrNotFound     = &Error{Code: NotFound, Message: "not found"}
	ErrInvalidState = &Error{Code: InvalidState, Message: "invalid state"}
	ErrUnauthorized = &Error{Code: Unauthorized, Message: "missing or invalid API key"}
)

// CodeOf returns the code of err, or Internal when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Validator collects field errors; Err returns nil when there are none.
type Validator struct{ details []Detail }

// Add records that field is invalid.
func (v *Validator) Add(field, code, message string) {
	v.details = append(v.details, Detail{Field: field, Code: code, Message: message})
}

// Check records the field error when ok is false.
func (v *Validator) Check(ok bool, field, code, message string) {
	if !ok {
		v.Add(field, code, message)
	}
}

// Err returns a VALIDATION_FAILED error with every recorded detail, or nil.
func (v *Validator) Err() error {
	if len(v.details) == 0 {
		return nil
	}
	return Validation(v.details...)
}
