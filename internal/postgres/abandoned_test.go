package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

// An import whose lease ended longer ago than the scheduler waits was
// abandoned (its worker died and no retry resumed it): it is failed with a
// reason. A live lease, a lease that ended only just now (a retry may
// still resume it) and finished imports are left alone.
func TestFailAbandonedImports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.ImportStore{DB: db}
	tn := newTenant(t, db, "Abandoned imports")
	claim := func(lease time.Duration) string {
		t.Helper()
		im, err := db.CreateImport(ctx, tn.ID, "list.csv")
		if err != nil {
			t.Fatal(err)
		}
		if _, res, err := store.ClaimImport(ctx, im.ObjectKey, lease); err != nil || res != importer.Claimed {
			t.Fatalf("claim: %v, %v", res, err)
		}
		return im.ID
	}
	abandoned := claim(-20 * time.Minute)
	recent := claim(-time.Minute)
	live := claim(time.Minute)
	pending, err := db.CreateImport(ctx, tn.ID, "later.csv")
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.FailAbandonedImports(ctx, time.Now().Add(-10*time.Minute), importer.AbandonedReason)
	if err != nil || n != 1 {
		t.Fatalf("FailAbandonedImports = %d, %v; want 1", n, err)
	}
	for id, want := range map[string]string{abandoned: "failed", recent: "running", live: "running", pending.ID: "pending"} {
		im, err := db.Import(ctx, tn.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if im.Status != want {
			t.Errorf("import %s status = %s, want %s", id, im.Status, want)
		}
		if want == "failed" && (im.Error == nil || *im.Error != importer.AbandonedReason) {
			t.Errorf("abandoned import error = %v, want %q", im.Error, importer.AbandonedReason)
		}
	}
}

// The same for reports: the generator holds a lease it renews; a report
// whose lease ended long ago is failed with a reason.
func TestFailAbandonedReports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.ReportStore{DB: db}
	f := newCampaign(t, db, "sent", "pending")
	start := func(lease time.Duration) string {
		t.Helper()
		r, err := db.CreateReport(ctx, f.tenantID, report.Campaign, postgres.ReportParams{CampaignID: f.campaignID})
		if err != nil {
			t.Fatal(err)
		}
		job, err := store.Report(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := store.Start(ctx, job, lease); err != nil || !ok {
			t.Fatalf("start: %v, %v", ok, err)
		}
		return r.ID
	}
	abandoned := start(-20 * time.Minute)
	recent := start(-time.Minute)
	renewed := start(-20 * time.Minute)
	if err := store.Renew(ctx, renewed, time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err := db.FailAbandonedReports(ctx, time.Now().Add(-10*time.Minute), report.AbandonedReason)
	if err != nil || n != 1 {
		t.Fatalf("FailAbandonedReports = %d, %v; want 1", n, err)
	}
	for id, want := range map[string]string{abandoned: "failed", recent: "running", renewed: "running"} {
		r, err := db.Report(ctx, f.tenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want {
			t.Errorf("report %s status = %s, want %s", id, r.Status, want)
		}
		if want == "failed" && r.Error != report.AbandonedReason {
			t.Errorf("abandoned report error = %q, want %q", r.Error, report.AbandonedReason)
		}
	}
}
