package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	if err := postgres.Migrate(context.Background(), url); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

func TestTenantAndAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)

	created, plain, err := db.CreateTenant(ctx, tenant.Tenant{Name: "Acme", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "America/Sao_Paulo"})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	got, err := db.TenantByAPIKey(ctx, tenant.HashKey(plain))
	if err != nil || got.ID != created.ID || got.Name != "Acme" {
		t.Fatalf("TenantByAPIKey = %+v, %v; want tenant %s", got, err, created.ID)
	}
	if _, err := db.TenantByAPIKey(ctx, tenant.HashKey("wm_wrong")); !errors.Is(err, errcode.ErrUnauthorized) {
		t.Fatalf("unknown key: err = %v, want UNAUTHORIZED", err)
	}

	keyID, second, err := db.CreateAPIKey(ctx, created.ID)
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if err := db.RevokeAPIKey(ctx, keyID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if _, err := db.TenantByAPIKey(ctx, tenant.HashKey(second)); !errors.Is(err, errcode.ErrUnauthorized) {
		t.Fatalf("revoked key: err = %v, want UNAUTHORIZED", err)
	}
	if err := db.RevokeAPIKey(ctx, keyID); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("revoke twice: err = %v, want NOT_FOUND", err)
	}

	pro := tenant.PlanPro
	up, err := db.UpdateTenant(ctx, created.ID, postgres.TenantUpdate{Plan: &pro})
	if err != nil || up.Plan != tenant.PlanPro || up.Name != "Acme" {
		t.Fatalf("UpdateTenant = %+v, %v", up, err)
	}
	q := &tenant.QuietHours{Start: "21:00", End: "08:00"}
	up, err = db.UpdateTenantSettings(ctx, created.ID, postgres.SettingsUpdate{SetQuietHours: true, QuietHours: q})
	if err != nil || up.QuietHours == nil || *up.QuietHours != *q {
		t.Fatalf("set quiet hours = %+v, %v", up, err)
	}
	up, err = db.UpdateTenantSettings(ctx, created.ID, postgres.SettingsUpdate{SetQuietHours: true})
	if err != nil || up.QuietHours != nil {
		t.Fatalf("clear quiet hours = %+v, %v", up, err)
	}
	if _, err := db.Tenant(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("Tenant(unknown): err = %v, want NOT_FOUND", err)
	}
}

func TestIDsAreVersion7(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	var ids []string
	for range 5 {
		tt, _, err := db.CreateTenant(ctx, tenant.Tenant{Name: "t", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tt.ID)
	}
	var version int
	if err := db.Pool.QueryRow(ctx, "SELECT get_byte(uuid_send($1::uuid), 6) >> 4", ids[0]).Scan(&version); err != nil || version != 7 {
		t.Fatalf("uuid version = %d, %v; want 7", version, err)
	}
	// The first 48 bits are the creation time in milliseconds.
	var ms0, ms4 int64
	q := "SELECT ('x' || substr(replace($1::text, '-', ''), 1, 12))::bit(48)::bigint"
	if err := db.Pool.QueryRow(ctx, q, ids[0]).Scan(&ms0); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, q, ids[4]).Scan(&ms4); err != nil {
		t.Fatal(err)
	}
	if ms4 < ms0 {
		t.Fatalf("later id has an earlier timestamp: %v", ids)
	}
}

// Open checks the server at once, unless ConnectLater: then a server that
// does not answer fails the first query instead, and one that answers
// serves it.
func TestOpenConnectLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const nowhere = "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	if _, err := postgres.Open(ctx, nowhere, postgres.Options{}); err == nil {
		t.Fatal("Open of a server that does not answer: no error")
	}
	db, err := postgres.Open(ctx, nowhere, postgres.Options{ConnectLater: true})
	if err != nil {
		t.Fatalf("Open with ConnectLater: %v", err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err == nil {
		t.Fatal("Ping of a server that does not answer: no error")
	}
	live, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{ConnectLater: true})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := live.Ping(ctx); err != nil {
		t.Fatalf("Ping after ConnectLater: %v", err)
	}
}
