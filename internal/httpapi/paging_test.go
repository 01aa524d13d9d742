package httpapi

import (
	"net/http/httptest"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

func TestPageFrom(t *testing.T) {
	id := "019ad3f0-0000-7000-8000-000000000001"
	next := cursorAfter(Page{Limit: 2}, 2, id)
	if next == nil {
		t.Fatal("full page has no cursor")
	}
	if cursorAfter(Page{Limit: 2}, 1, id) != nil {
		t.Fatal("short page has a cursor")
	}
	tests := []struct {
		name  string
		query string
		want  Page
		code  errcode.Code
	}{
		{"defaults", "", Page{Limit: 50}, ""},
		{"limit", "limit=1000", Page{Limit: 1000}, ""},
		{"cursor", "limit=2&cursor=" + *next, Page{Limit: 2, After: id}, ""},
		{"limit zero", "limit=0", Page{}, errcode.ValidationFailed},
		{"limit too big", "limit=1001", Page{}, errcode.ValidationFailed},
		{"limit not a number", "limit=ten", Page{}, errcode.ValidationFailed},
		{"bad cursor", "cursor=!!!", Page{}, errcode.ValidationFailed},
		{"forged cursor", "cursor=bm90LWEtdXVpZA", Page{}, errcode.ValidationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pageFrom(httptest.NewRequest("GET", "/x?"+tt.query, nil))
			if tt.code != "" {
				if errcode.CodeOf(err) != tt.code {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil || p != tt.want {
				t.Fatalf("pageFrom(%q) = %+v, %v; want %+v", tt.query, p, err, tt.want)
			}
		})
	}
}
