package errcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestIsMatchesByCode(t *testing.T) {
	err := fmt.Errorf("load campaign: %w", New(NotFound, "campaign not found"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("errors.Is(%v, ErrNotFound) = false, want true", err)
	}
	if errors.Is(err, ErrInvalidState) {
		t.Fatalf("errors.Is(%v, ErrInvalidState) = true, want false", err)
	}
	if got := CodeOf(err); got != NotFound {
		t.Fatalf("CodeOf = %s, want %s", got, NotFound)
	}
	if got := CodeOf(errors.New("boom")); got != Internal {
		t.Fatalf("CodeOf(plain) = %s, want %s", got, Internal)
	}
}

func TestValidator(t *testing.T) {
	var v Validator
	if v.Err() != nil {
		t.Fatal("empty validator returned an error")
	}
	v.Check(false, "name", "required", "name is required")
	v.Check(true, "plan", "invalid", "never added")
	err := v.Err()
	var e *Error
	if !errors.As(err, &e) || e.Code != ValidationFailed || len(e.Details) != 1 || e.Details[0].Field != "name" {
		t.Fatalf("got %#v, want one VALIDATION_FAILED detail for name", err)
	}
}
