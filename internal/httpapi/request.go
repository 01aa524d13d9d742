package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// optional is a JSON field that tells "absent" from "null" from a value, for
// PATCH bodies.
type optional[T any] struct {
	Set   bool // the field was present
	Null  bool // it was null
	Value T
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// ptr returns the value when present and not null.
func (o optional[T]) ptr() *T {
	if !o.Set || o.Null {
		return nil
	}
	return &o.Value
}

// pathID returns the UUID path parameter name; anything else is NOT_FOUND,
// like an id of another tenant.
func pathID(r *http.Request, name, what string) (string, error) {
	v := r.PathValue(name)
	if canonicalUUID(v) {
		return v, nil // what uuid.Parse and String would give, without the copy
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return "", errcode.New(errcode.NotFound, "%s not found", what)
	}
	return id.String(), nil
}

// canonicalUUID reports whether v is a UUID in the form uuid.UUID.String
// writes: 36 characters, lower-case hex digits and hyphens at 8, 13, 18
// and 23.
func canonicalUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := range len(v) {
		c := v[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
