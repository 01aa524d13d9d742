package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

func newTenant(t *testing.T, db *postgres.DB, name string) tenant.Tenant {
	t.Helper()
	tn, _, err := db.CreateTenant(context.Background(), tenant.Tenant{Name: name, Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestUpsertContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	a, b := newTenant(t, db, "A"), newTenant(t, db, "B")

	ins, upd, err := db.UpsertContacts(ctx, a.ID, []importer.Contact{
		{Phone: "5511999990001", Name: "Ana", Attributes: map[string]string{"city": "SP", "plan": "gold"}},
		{Phone: "5511999990002", Name: "Bruno"},
		{Phone: "5511999990001", Name: "Ana Souza", Attributes: map[string]string{"city": "Rio"}},
	})
	if err != nil || ins != 2 || upd != 1 {
		t.Fatalf("first upsert = %d new, %d updated, %v; want 2, 1", ins, upd, err)
	}
	got, err := db.ContactByPhone(ctx, a.ID, "5511999990001")
	if err != nil || got.Name != "Ana Souza" || got.Attributes["city"] != "Rio" || got.Attributes["plan"] != "gold" {
		t.Fatalf("a repeat in one call should merge as upserts in order do (last name and city, plan kept): %+v, %v", got, err)
	}

	// Opt one out, then upsert again: it stays opted out; an empty name keeps
	// the stored one; attributes merge.
	if _, err := db.Pool.Exec(ctx, "UPDATE contacts SET opted_out_at = now() WHERE phone = '5511999990002'"); err != nil {
		t.Fatal(err)
	}
	ins, upd, err = db.UpsertContacts(ctx, a.ID, []importer.Contact{
		{Phone: "5511999990002", Attributes: map[string]string{"tag": "x"}},
		{Phone: "5511999990003", Name: "Caio"},
	})
	if err != nil || ins != 1 || upd != 1 {
		t.Fatalf("second upsert = %d new, %d updated, %v; want 1, 1", ins, upd, err)
	}
	bruno, _ := db.ContactByPhone(ctx, a.ID, "5511999990002")
	if bruno.OptedOutAt == nil || bruno.Name != "Bruno" || bruno.Attributes["tag"] != "x" {
		t.Fatalf("after re-upsert: %+v; want opted out, name Bruno, tag x", bruno)
	}

	// Tenants are apart: the same phone is new for B, and A's contacts are not B's.
	if ins, _, err := db.UpsertContacts(ctx, b.ID, []importer.Contact{{Phone: "5511999990001"}}); err != nil || ins != 1 {
		t.Fatalf("tenant B upsert = %d, %v", ins, err)
	}
	if err := db.DeleteContact(ctx, b.ID, got.ID); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("deleting another tenant's contact: %v, want NOT_FOUND", err)
	}

	// Keyset pages, newest first, cover everything once.
	var seen []string
	after := ""
	for {
		page, err := db.Contacts(ctx, a.ID, postgres.ContactFilter{}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			seen = append(seen, c.Phone)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(seen) != 3 || seen[0] != "5511999990003" {
		t.Fatalf("pages = %v; want 3 contacts, newest first", seen)
	}
	if err := db.DeleteContact(ctx, a.ID, got.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ContactByPhone(ctx, a.ID, "5511999990001"); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("deleted contact still there: %v", err)
	}
}

func TestImportStoreClaimAndBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.ImportStore{DB: db}
	tn := newTenant(t, db, "Imp")
	im, err := db.CreateImport(ctx, tn.ID, "list.csv")
	if err != nil || im.Status != importer.StatusPending || im.ObjectKey != importer.ObjectKey(tn.ID, im.ID) {
		t.Fatalf("CreateImport = %+v, %v", im, err)
	}

	if _, res, err := store.ClaimImport(ctx, "imports/none/none.csv", time.Minute); err != nil || res != importer.NotFound {
		t.Fatalf("claim of an unknown key = %v, %v; want NotFound", res, err)
	}
	job, res, err := store.ClaimImport(ctx, im.ObjectKey, time.Minute)
	if err != nil || res != importer.Claimed || job.ImportID != im.ID || job.TenantID != tn.ID || job.DefaultCountry != "BR" {
		t.Fatalf("claim = %+v, %v, %v", job, res, err)
	}
	if busy, res, _ := store.ClaimImport(ctx, im.ObjectKey, time.Minute); res != importer.Busy ||
		busy.LeaseLeft <= 50*time.Second || busy.LeaseLeft > time.Minute {
		t.Fatalf("second claim under a live lease = %v, lease left %s; want Busy with about a minute left", res, busy.LeaseLeft)
	}
	if err := store.SetImportObject(ctx, job, 1000, "etag1", []string{"phone", "name"}); err != nil {
		t.Fatal(err)
	}
	batch := importer.Batch{
		Rows: []importer.Row{
			{Line: 2, Contact: importer.Contact{Phone: "5511999990001", Name: "A"}},
			{Line: 3, Contact: importer.Contact{Phone: "5511999990001", Name: "A2"}},
			{Line: 4, Contact: importer.Contact{Phone: "5511999990002"}},
		},
		Rejects: []importer.Reject{{Line: 5, Fields: []string{"12", "x"}, Reason: "too_short"}},
	}
	c, err := commitBatch(ctx, store, job, batch, 0, 500, time.Minute)
	if err != nil || c != (importer.Counts{RowsTotal: 4, Imported: 2, Updated: 1, Rejected: 1}) {
		t.Fatalf("commit = %+v, %v", c, err)
	}
	got, _ := db.Import(ctx, tn.ID, im.ID)
	if got.Status != importer.StatusRunning || got.Progress() != 50 {
		t.Fatalf("running import = %+v progress %d; want running at 50", got, got.Progress())
	}

	// The lease expires; a new claim takes over and resumes after 4 rows.
	// The old token can no longer write.
	if err := store.ReleaseImport(ctx, job); err != nil {
		t.Fatal(err)
	}
	job2, res, err := store.ClaimImport(ctx, im.ObjectKey, time.Minute)
	if err != nil || res != importer.Claimed || job2.Merged != (importer.Counts{RowsTotal: 4, Imported: 2, Updated: 1, Rejected: 1}) || job2.ETag != "etag1" || len(job2.Header) != 2 {
		t.Fatalf("reclaim = %+v, %v, %v; want rows done 4, etag1, header", job2, res, err)
	}
	if _, err := commitBatch(ctx, store, job, batch, 4, 600, time.Minute); !errors.Is(err, importer.ErrLeaseLost) {
		t.Fatalf("commit with the old token: %v, want ErrLeaseLost", err)
	}
	var lines []int
	if err := store.RejectedRows(ctx, job2, func(r importer.Reject) error { lines = append(lines, r.Line); return nil }); err != nil || len(lines) != 1 {
		t.Fatalf("rejected rows = %v, %v", lines, err)
	}
	if err := store.CompleteImport(ctx, job2, "rejects/x.csv"); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Import(ctx, tn.ID, im.ID)
	if got.Status != importer.StatusCompleted || got.Progress() != 100 || got.RejectedObjectKey == nil || got.RowsTotal != 4 {
		t.Fatalf("completed import = %+v", got)
	}
	if _, res, _ := store.ClaimImport(ctx, im.ObjectKey, time.Minute); res != importer.Finished {
		t.Fatalf("claim of a completed import = %v, want Finished", res)
	}
	contacts, err := db.Contacts(ctx, tn.ID, postgres.ContactFilter{ImportID: im.ID}, "", 10)
	if err != nil || len(contacts) != 2 || *contacts[0].ImportID != im.ID {
		t.Fatalf("contacts of the import = %+v, %v", contacts, err)
	}
	if _, err := db.Import(ctx, newTenant(t, db, "Other").ID, im.ID); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("another tenant's import: %v, want NOT_FOUND", err)
	}
	list, err := db.Imports(ctx, tn.ID, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("Imports = %v, %v", list, err)
	}
}

// TestBatchIsAtomic: a batch that fails after its contacts were
// merged (here: two rejects on one line break import_rejects' key) leaves
// neither contacts nor counts behind.
func TestBatchIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.ImportStore{DB: db}
	tn := newTenant(t, db, "Atomic")
	im, job := claimedImport(t, store, tn)
	bad := importer.Batch{
		Rows:    []importer.Row{{Line: 2, Contact: importer.Contact{Phone: "5511999990001"}}},
		Rejects: []importer.Reject{{Line: 3, Fields: []string{"x"}, Reason: "too_short"}, {Line: 3, Fields: []string{"y"}, Reason: "too_short"}},
	}
	if _, err := commitBatch(ctx, store, job, bad, 0, 10, time.Minute); err == nil {
		t.Fatal("a batch with a broken reject committed")
	}
	if cs, _ := db.Contacts(ctx, tn.ID, postgres.ContactFilter{}, "", 10); len(cs) != 0 {
		t.Fatalf("a failed batch merged %d contacts", len(cs))
	}
	if got, _ := db.Import(ctx, tn.ID, im.ID); got.RowsTotal != 0 || got.Imported != 0 {
		t.Fatalf("a failed batch was counted: %+v", got)
	}
}

// claimedImport creates an import for tn and claims it.
func claimedImport(t *testing.T, store postgres.ImportStore, tn tenant.Tenant) (postgres.Import, importer.Job) {
	t.Helper()
	ctx := context.Background()
	im, err := store.DB.CreateImport(ctx, tn.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	job, _, err := store.ClaimImport(ctx, im.ObjectKey, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return im, job
}

// commitBatch stages b and commits it, as the import worker does.
func commitBatch(ctx context.Context, store postgres.ImportStore, job importer.Job, b importer.Batch, rowsBefore int, bytes int64, lease time.Duration) (importer.Counts, error) {
	staged, err := store.StageBatch(ctx, job, b)
	if err != nil {
		return importer.Counts{}, err
	}
	return staged.Commit(ctx, rowsBefore, bytes, lease)
}

// TestStagedBatches: two batches staged at once on two connections commit
// in order; a commit that does not follow the rows the worker counted on
// is refused and rolled back.
func TestStagedBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.ImportStore{DB: db}
	tn := newTenant(t, db, "Staged")
	_, job := claimedImport(t, store, tn)
	batch := func(phones ...string) importer.Batch {
		var b importer.Batch
		for i, p := range phones {
			b.Rows = append(b.Rows, importer.Row{Line: i + 2, Contact: importer.Contact{Phone: p}})
		}
		return b
	}
	stage := func(b importer.Batch) importer.StagedBatch {
		staged, err := store.StageBatch(ctx, job, b)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { staged.Rollback(ctx) }) // a no-op once committed; frees the pool's connection
		return staged
	}
	first := stage(batch("5511999990001", "5511999990002"))
	second := stage(batch("5511999990003"))
	if cs, _ := db.Contacts(ctx, tn.ID, postgres.ContactFilter{}, "", 10); len(cs) != 0 {
		t.Fatalf("staged batches are visible before they commit: %d contacts", len(cs))
	}
	if _, err := second.Commit(ctx, 2, 10, time.Minute); !errors.Is(err, importer.ErrCursorMoved) {
		t.Fatalf("the second batch committed before the first: %v, want ErrCursorMoved", err)
	}
	if c, err := first.Commit(ctx, 0, 10, time.Minute); err != nil || c != (importer.Counts{RowsTotal: 2, Imported: 2}) {
		t.Fatalf("first commit = %+v, %v", c, err)
	}
	if cs, _ := db.Contacts(ctx, tn.ID, postgres.ContactFilter{}, "", 10); len(cs) != 2 {
		t.Fatalf("after the first commit: %d contacts, want 2 (the refused batch rolled back)", len(cs))
	}
	third := stage(batch("5511999990003", "5511999990001"))
	if c, err := third.Commit(ctx, 2, 20, time.Minute); err != nil || c != (importer.Counts{RowsTotal: 4, Imported: 3, Updated: 1}) {
		t.Fatalf("third commit = %+v, %v", c, err)
	}
}

// TestDeletingATenantDeletesItsContacts: contacts have no foreign key to
// tenants (it slowed imports down); a trigger keeps the cascade.
func TestDeletingATenantDeletesItsContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	gone, kept := newTenant(t, db, "Gone"), newTenant(t, db, "Kept")
	for _, tn := range []tenant.Tenant{gone, kept} {
		if _, _, err := db.UpsertContacts(ctx, tn.ID, []importer.Contact{{Phone: "5511999990001"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "DELETE FROM tenants WHERE id = $1", gone.ID); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts WHERE tenant_id = $1", gone.ID).Scan(&left); err != nil || left != 0 {
		t.Fatalf("contacts of the deleted tenant: %d, %v; want 0", left, err)
	}
	if cs, _ := db.Contacts(ctx, kept.ID, postgres.ContactFilter{}, "", 10); len(cs) != 1 {
		t.Fatalf("the other tenant's contacts: %d, want 1", len(cs))
	}
}

// TestMergeReadsSuppressionList: a merge joins the suppression list itself
// (the row trigger is off for its statement only): a new contact for a
// suppressed phone starts opted out, another tenant's suppression does not
// count, and a plain insert after the merge, in the same transaction, still
// goes through the trigger.
func TestMergeReadsSuppressionList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	a, b := newTenant(t, db, "A"), newTenant(t, db, "B")
	for _, o := range []struct{ tenant, phone string }{{a.ID, "5511999990001"}, {b.ID, "5511999990002"}, {a.ID, "5511999990003"}} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO opt_outs (tenant_id, phone, opted_out_at) VALUES ($1, $2, now())`, o.tenant, o.phone); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.UpsertContacts(ctx, a.ID, []importer.Contact{{Phone: "5511999990001"}, {Phone: "5511999990002"}}); err != nil {
		t.Fatal(err)
	}
	for phone, want := range map[string]bool{"5511999990001": true, "5511999990002": false} {
		c, err := db.ContactByPhone(ctx, a.ID, phone)
		if err != nil || (c.OptedOutAt != nil) != want {
			t.Errorf("contact %s opted out = %v (%v); want %v", phone, c.OptedOutAt != nil, err, want)
		}
	}

	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, _, err := db.MergeContactsInTx(ctx, tx, a.ID, []importer.Contact{{Phone: "5511999990004"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, phone) VALUES ($1, '5511999990003')`, a.ID); err != nil {
		t.Fatal(err)
	}
	var optedOut bool
	err = tx.QueryRow(ctx, `SELECT opted_out_at IS NOT NULL FROM contacts WHERE tenant_id = $1 AND phone = '5511999990003'`, a.ID).Scan(&optedOut)
	if err != nil || !optedOut {
		t.Fatalf("a plain insert after a merge: opted out = %v (%v); want true (the trigger runs again)", optedOut, err)
	}
}

// TestContactsCopyInsertsPagesAtATime: contacts has no BEFORE or INSTEAD
// OF row trigger on insert (COPY would then insert an import's rows one at
// a time instead of a page at a time), and an insert outside the merge
// still keeps the suppression list: a contact inserted for a listed phone
// is opted out once its statement ends, one inserted opted out lists its
// phone, an upsert through ON CONFLICT keeps the earliest opt-out, and a
// merge (which reads the list itself) is not touched by the trigger.
func TestContactsCopyInsertsPagesAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	var before int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_trigger
		WHERE tgrelid = 'contacts'::regclass AND NOT tgisinternal
		  AND tgtype & 1 = 1 AND tgtype & 4 = 4 AND (tgtype & 2 = 2 OR tgtype & 64 = 64)`).Scan(&before); err != nil || before != 0 {
		t.Fatalf("contacts has %d BEFORE or INSTEAD OF row triggers on insert (%v), want 0", before, err)
	}
	tn := newTenant(t, db, "Triggers")
	listedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO opt_outs (tenant_id, phone, opted_out_at) VALUES ($1, '5511999990001', $2)`, tn.ID, listedAt); err != nil {
		t.Fatal(err)
	}
	laterAt := listedAt.Add(time.Hour)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone) VALUES ($1, '5511999990001'), ($1, '5511999990002')`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, opted_out_at) VALUES ($1, '5511999990003', $2)`, tn.ID, laterAt); err != nil {
		t.Fatal(err)
	}
	// The receipts' opt-out: an upsert of an opted-out contact.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, opted_out_at) VALUES ($1, '5511999990001', $2)
		ON CONFLICT (tenant_id, phone) DO UPDATE SET opted_out_at = LEAST(contacts.opted_out_at, EXCLUDED.opted_out_at)`, tn.ID, laterAt); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertContacts(ctx, tn.ID, []importer.Contact{{Phone: "5511999990003", Name: "Ana"}, {Phone: "5511999990004"}}); err != nil {
		t.Fatal(err)
	}
	for phone, want := range map[string]*time.Time{"5511999990001": &listedAt, "5511999990002": nil, "5511999990003": &laterAt, "5511999990004": nil} {
		c, err := db.ContactByPhone(ctx, tn.ID, phone)
		switch {
		case err != nil:
			t.Errorf("contact %s: %v", phone, err)
		case (c.OptedOutAt == nil) != (want == nil) || (want != nil && !c.OptedOutAt.Equal(*want)):
			t.Errorf("contact %s opted out at %v, want %v", phone, c.OptedOutAt, want)
		}
	}
	var listed []string
	rows, err := db.Pool.Query(ctx, `SELECT phone || ' ' || to_char(opted_out_at AT TIME ZONE 'UTC', 'HH24:MI') FROM opt_outs WHERE tenant_id = $1 ORDER BY phone`, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		listed = append(listed, s)
	}
	if err := rows.Err(); err != nil || strings.Join(listed, ",") != "5511999990001 03:04,5511999990003 04:04" {
		t.Fatalf("suppression list %v (%v), want 5511999990001 03:04,5511999990003 04:04", listed, err)
	}
}

// TestBatchExpectingNewContacts: a batch staged with ExpectNew is inserted
// without a merge while its phones are new, and merged when one is stored,
// with the same outcome either way: counts, the suppression list, repeats,
// an opted-out contact kept opted out, and Existing.
func TestBatchExpectingNewContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.ImportStore{DB: db}
	tn := newTenant(t, db, "ExpectNew")
	if _, err := db.Pool.Exec(ctx, `INSERT INTO opt_outs (tenant_id, phone, opted_out_at) VALUES ($1, '5511999990002', now()), ($1, '5511999990009', now())`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertContacts(ctx, tn.ID, []importer.Contact{{Phone: "5511999990009", Name: "Stored"}}); err != nil {
		t.Fatal(err)
	}
	row := func(line int, phone, name string) importer.Row {
		return importer.Row{Line: line, Contact: importer.Contact{Phone: phone, Name: name, Attributes: map[string]string{"line": strconv.Itoa(line)}}}
	}
	_, job := claimedImport(t, store, tn)
	var rowsBefore int
	for _, tc := range []struct {
		name         string
		rows         []importer.Row
		want         importer.Counts // after the batch
		wantExisting int
	}{
		{"all new, one suppressed, one repeated", []importer.Row{row(2, "5511999990001", "One"), row(3, "5511999990002", "Two"), row(4, "5511999990001", "")},
			importer.Counts{RowsTotal: 3, Imported: 2, Updated: 1}, 0},
		{"one stored and opted out, one new", []importer.Row{row(5, "5511999990003", "Three"), row(6, "5511999990009", "Nine")},
			importer.Counts{RowsTotal: 5, Imported: 3, Updated: 2}, 1},
		{"all stored", []importer.Row{row(7, "5511999990001", "Uno")},
			importer.Counts{RowsTotal: 6, Imported: 3, Updated: 3}, 1},
	} {
		staged, err := store.StageBatch(ctx, job, importer.Batch{Rows: tc.rows, ExpectNew: true})
		if err != nil {
			t.Fatalf("%s: stage: %v", tc.name, err)
		}
		existing := staged.Existing()
		got, err := staged.Commit(ctx, rowsBefore, 0, time.Minute)
		if err != nil || got != tc.want || existing != tc.wantExisting {
			t.Fatalf("%s: counts %+v, existing %d (%v); want %+v, %d", tc.name, got, existing, err, tc.want, tc.wantExisting)
		}
		rowsBefore = got.RowsTotal
	}
	for _, want := range []struct {
		phone, name, line string
		optedOut          bool
	}{
		{"5511999990001", "Uno", "7", false},
		{"5511999990002", "Two", "3", true},
		{"5511999990003", "Three", "5", false},
		{"5511999990009", "Nine", "6", true},
	} {
		c, err := db.ContactByPhone(ctx, tn.ID, want.phone)
		if err != nil || c.Name != want.name || c.Attributes["line"] != want.line || (c.OptedOutAt != nil) != want.optedOut || c.ImportID == nil || *c.ImportID != job.ImportID {
			t.Errorf("contact %s = %+v (%v); want name %q, line %s, opted out %v, this import", want.phone, c, err, want.name, want.line, want.optedOut)
		}
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts WHERE tenant_id = $1", tn.ID).Scan(&n); err != nil || n != 4 {
		t.Fatalf("the tenant has %d contacts (%v), want 4", n, err)
	}
}

// TestPhoneCheck: the contacts' phone CHECK (byte tests, migration 00266)
// accepts exactly what '^[1-9][0-9]{6,14}$' accepts.
func TestPhoneCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn := newTenant(t, db, "Phones")
	for i, phone := range []string{
		"1234567", "123456789012345", "5511912345678", "9000000", // E.164 digits
		"", "123456", "1234567890123456", "0123456", "+5511912345678", " 1234567", "1234567 ",
		"12345a7", "123\n4567", "1234567\n", "١٢٣٤٥٦٧", "12345６７", "1234567٨", "é234567", "-1234567",
	} {
		var want bool
		if err := db.Pool.QueryRow(ctx, `SELECT $1 ~ '^[1-9][0-9]{6,14}$'`, phone).Scan(&want); err != nil {
			t.Fatal(err)
		}
		_, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone) VALUES ($1, $2)`, tn.ID, phone)
		var pgErr *pgconn.PgError
		switch {
		case want && err != nil:
			t.Errorf("%d %q: insert = %v, want accepted", i, phone, err)
		case !want && !(errors.As(err, &pgErr) && pgErr.Code == "23514"):
			t.Errorf("%d %q: insert = %v, want a check violation", i, phone, err)
		}
	}
}

// TestSuppressedPhonesOfATenantWithoutSuppressionList: a batch of new
// contacts reads the tenant's suppression list for its phones; for a tenant
// without one that read probes no phone (it was an index descent for each
// of the batch's phones), and for a tenant with one it finds the batch's.
func TestSuppressedPhonesOfATenantWithoutSuppressionList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	empty, listed := newTenant(t, db, "No opt-outs"), newTenant(t, db, "Opt-outs")
	if _, err := db.Pool.Exec(ctx, `INSERT INTO opt_outs (tenant_id, phone, opted_out_at) VALUES ($1, '5511900000007', now())`, listed.ID); err != nil {
		t.Fatal(err)
	}
	phones := make([]string, 1000)
	for i := range phones {
		phones[i] = strconv.Itoa(5511900000000 + i)
	}
	var plan string
	if err := db.Pool.QueryRow(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) "+db.QueryText("opt-outs-of-phones"), empty.ID, phones).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var nodes []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(plan), &nodes); err != nil || len(nodes) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	var probes func(n planNode) int
	probes = func(n planNode) int {
		loops := 0
		if strings.Contains(n.IndexCond+n.Filter, "phone") {
			loops += n.ActualLoops
		}
		for _, c := range n.Plans {
			loops += probes(c)
		}
		return loops
	}
	if n := probes(nodes[0].Plan); n != 0 {
		t.Errorf("the scan for the phones ran %d times for a tenant without a suppression list:\n%s", n, plan)
	}
	for _, tc := range []struct {
		tenant string
		want   int
	}{{empty.ID, 0}, {listed.ID, 1}} {
		var n int
		if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM ("+strings.TrimSuffix(strings.TrimSpace(db.QueryText("opt-outs-of-phones")), ";")+") s", tc.tenant, phones).Scan(&n); err != nil || n != tc.want {
			t.Errorf("tenant %s: %d entries (%v), want %d", tc.tenant, n, err, tc.want)
		}
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType    string     `json:"Node Type"`
	IndexCond   string     `json:"Index Cond"`
	Filter      string     `json:"Filter"`
	ActualLoops int        `json:"Actual Loops"`
	Plans       []planNode `json:"Plans"`
}
