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
	id, err := uuid.Parse(v)
	if err != nil {
		return "", errcode.New(errcode.NotFound, "%s not found", what)
	}
	return id.String(), nil
}
