package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

// TestNewContactsCopyReadsBack: the new contacts' binary COPY, encoded by
// hand, stores every column as given: names and attributes with quotes,
// escapes and non-ASCII text, tags or none, the import or none, and the
// suppression list's opted-out time (before and after 2000) or none.
func TestNewContactsCopyReadsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn := newTenant(t, db, "Copy")
	before2000 := time.Date(1999, 12, 31, 23, 59, 59, 123456000, time.UTC)
	recent := time.Date(2026, 12, 7, 12, 34, 56, 789012000, time.UTC)
	for phone, at := range map[string]time.Time{"5511900000001": before2000, "5511900000002": recent} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO opt_outs (tenant_id, phone, opted_out_at) VALUES ($1, $2, $3)`, tn.ID, phone, at); err != nil {
			t.Fatal(err)
		}
	}
	im, err := db.CreateImport(ctx, tn.ID, "copy.csv")
	if err != nil {
		t.Fatal(err)
	}
	type stored struct {
		name     string
		attrs    map[string]string
		tags     []string
		importID *string
		optedOut *time.Time
	}
	for _, tc := range []struct {
		importID *string
		contacts []importer.Contact
		want     []stored
	}{
		{&im.ID, []importer.Contact{
			{Phone: "5511900000001", Name: `Zé "Aspas" \ 🙂`, Attributes: map[string]string{"city": "São Paulo", `q"k`: "a\"b\\c\n\t\x01", "": "empty key"}, Tags: []string{"vip", "g1", ""}},
			{Phone: "5511900000002"},
			{Phone: "5511900000003", Name: "Ana", Tags: []string{"só"}},
		}, []stored{
			{`Zé "Aspas" \ 🙂`, map[string]string{"city": "São Paulo", `q"k`: "a\"b\\c\n\t\x01", "": "empty key"}, []string{"vip", "g1", ""}, &im.ID, &before2000},
			{"", map[string]string{}, []string{}, &im.ID, &recent},
			{"Ana", map[string]string{}, []string{"só"}, &im.ID, nil},
		}},
		{nil, []importer.Contact{{Phone: "5511900000004", Name: "Sem import", Attributes: map[string]string{"plan": "pro"}}},
			[]stored{{"Sem import", map[string]string{"plan": "pro"}, []string{}, nil, nil}}},
	} {
		err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
			ok, err := db.InsertNewInTx(ctx, tx, tn.ID, tc.importID, tc.contacts)
			if err == nil && !ok {
				err = fmt.Errorf("a phone is already stored")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range tc.contacts {
			var got stored
			var tenantID string
			var idSet bool
			if err := db.Pool.QueryRow(ctx, `SELECT tenant_id, name, attributes, tags, import_id, opted_out_at, id IS NOT NULL FROM contacts WHERE tenant_id = $1 AND phone = $2`, tn.ID, c.Phone).
				Scan(&tenantID, &got.name, &got.attrs, &got.tags, &got.importID, &got.optedOut, &idSet); err != nil {
				t.Fatalf("%s: %v", c.Phone, err)
			}
			want := tc.want[i]
			if tenantID != tn.ID || !idSet || got.name != want.name || !maps.Equal(got.attrs, want.attrs) || !slices.Equal(got.tags, want.tags) ||
				fmt.Sprint(deref(got.importID)) != fmt.Sprint(deref(want.importID)) || !sameTime(got.optedOut, want.optedOut) {
				t.Errorf("%s: stored %s %+v (import %v, opted out %v), want %+v (import %v, opted out %v)", c.Phone, tenantID, got, deref(got.importID), got.optedOut, want, deref(want.importID), want.optedOut)
			}
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
