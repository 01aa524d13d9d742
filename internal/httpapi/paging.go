package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// Page is a list request's keyset window: at most Limit items
// after the item named by the cursor, newest first.
type Page struct {
	Limit int
	// After is the id of the last item of the previous page; "" for the first.
	After string
}

// pageFrom reads ?limit= (default 50, max 1000) and ?cursor= (opaque).
func pageFrom(r *http.Request) (Page, error) {
	p := Page{Limit: 50}
	q := r.URL.Query()
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return p, errcode.Validation(errcode.Detail{Field: "limit", Code: "out_of_range", Message: "limit must be an integer from 1 to 1000"})
		}
		p.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		id, perr := uuid.ParseBytes(raw)
		if err != nil || perr != nil {
			return p, errcode.Validation(errcode.Detail{Field: "cursor", Code: "invalid", Message: "cursor is not one this API returned"})
		}
		p.After = id.String()
	}
	return p, nil
}

// cursorAfter returns the nextCursor for a page whose last item has id, or
// nil when the page was not full (there is nothing after it).
func cursorAfter(p Page, n int, lastID string) *string {
	if n < p.Limit || lastID == "" {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(lastID))
	return &c
}

// writeList answers a page of items with the cursor of the next one.
func writeList[T any](w http.ResponseWriter, p Page, items []T, idOf func(T) string) {
	if items == nil {
		items = []T{}
	}
	var last string
	if len(items) > 0 {
		last = idOf(items[len(items)-1])
	}
	writeData(w, http.StatusOK, list[T]{Items: items, NextCursor: cursorAfter(p, len(items), last)})
}
