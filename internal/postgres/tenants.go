package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

func scanTenant(row pgx.Row) (tenant.Tenant, error) {
	var t tenant.Tenant
	var quiet []byte
	err := row.Scan(&t.ID, &t.Name, &t.Plan, &t.DefaultCountry, &t.Timezone, &quiet, &t.CreatedAt)
	if err != nil {
		return t, err
	}
	if len(quiet) > 0 {
		t.QuietHours = new(tenant.QuietHours)
		if err := json.Unmarshal(quiet, t.QuietHours); err != nil {
			return t, fmt.Errorf("decode quiet hours of tenant %s: %w", t.ID, err)
		}
	}
	return t, nil
}

// CreateTenant inserts a tenant and its first API key in one transaction and
// returns the tenant with the plain key, which is never stored.
func (db *DB) CreateTenant(ctx context.Context, t tenant.Tenant) (tenant.Tenant, string, error) {
	var plain string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var err error
		t, err = scanTenant(tx.QueryRow(ctx, db.q("create-tenant"), t.Name, t.Plan, t.DefaultCountry, t.Timezone))
		if err != nil {
			return fmt.Errorf("insert tenant: %w", err)
		}
		var prefix string
		var hash []byte
		plain, prefix, hash = tenant.NewAPIKey()
		if _, err := tx.Exec(ctx, db.q("create-api-key"), t.ID, prefix, hash); err != nil {
			return fmt.Errorf("insert api key of tenant %s: %w", t.ID, err)
		}
		return nil
	})
	if err != nil {
		return tenant.Tenant{}, "", err
	}
	return t, plain, nil
}

// Tenant returns the tenant with id, or a NOT_FOUND error.
func (db *DB) Tenant(ctx context.Context, id string) (tenant.Tenant, error) {
	t, err := scanTenant(db.Pool.QueryRow(ctx, db.q("get-tenant"), id))
	return t, notFound(err, "tenant")
}

// TenantPlan returns the plan of the tenant with id, or a NOT_FOUND error.
func (db *DB) TenantPlan(ctx context.Context, id string) (tenant.Plan, error) {
	var p tenant.Plan
	err := db.Pool.QueryRow(ctx, db.q("get-tenant-plan"), id).Scan(&p)
	return p, notFound(err, "tenant")
}

// TenantByAPIKey returns the tenant owning the live key with this hash, or
// errcode.ErrUnauthorized.
func (db *DB) TenantByAPIKey(ctx context.Context, hash []byte) (tenant.Tenant, error) {
	t, err := scanTenant(db.Pool.QueryRow(ctx, db.q("tenant-by-api-key"), hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, errcode.ErrUnauthorized
	}
	if err != nil {
		return t, fmt.Errorf("look up api key: %w", err)
	}
	return t, nil
}

// TenantUpdate is an admin change; nil fields stay as they are.
type TenantUpdate struct {
	Name     *string
	Plan     *tenant.Plan
	Timezone *string
}

// UpdateTenant applies an admin change and returns the tenant.
func (db *DB) UpdateTenant(ctx context.Context, id string, u TenantUpdate) (tenant.Tenant, error) {
	t, err := scanTenant(db.Pool.QueryRow(ctx, db.q("update-tenant"), id, u.Name, u.Plan, u.Timezone))
	return t, notFound(err, "tenant")
}

// SettingsUpdate is a tenant's own change; nil fields stay as they are.
// SetQuietHours with a nil QuietHours clears them.
type SettingsUpdate struct {
	Timezone       *string
	DefaultCountry *string
	SetQuietHours  bool
	QuietHours     *tenant.QuietHours
}

// UpdateTenantSettings applies a tenant's own change and returns the tenant.
func (db *DB) UpdateTenantSettings(ctx context.Context, id string, u SettingsUpdate) (tenant.Tenant, error) {
	var quiet []byte
	if u.QuietHours != nil {
		var err error
		if quiet, err = json.Marshal(u.QuietHours); err != nil {
			return tenant.Tenant{}, fmt.Errorf("encode quiet hours: %w", err)
		}
	}
	t, err := scanTenant(db.Pool.QueryRow(ctx, db.q("update-tenant-settings"), id, u.Timezone, u.DefaultCountry, u.SetQuietHours, quiet))
	return t, notFound(err, "tenant")
}

// CreateAPIKey adds a key to the tenant and returns its id and plain value.
func (db *DB) CreateAPIKey(ctx context.Context, tenantID string) (id, plain string, err error) {
	plain, prefix, hash := tenant.NewAPIKey()
	err = db.Pool.QueryRow(ctx, db.q("create-api-key"), tenantID, prefix, hash).Scan(&id)
	if isForeignKeyViolation(err) {
		return "", "", errcode.New(errcode.NotFound, "tenant not found")
	}
	if err != nil {
		return "", "", fmt.Errorf("insert api key of tenant %s: %w", tenantID, err)
	}
	return id, plain, nil
}

// RevokeAPIKey revokes a live key, or returns NOT_FOUND.
func (db *DB) RevokeAPIKey(ctx context.Context, id string) error {
	tag, err := db.Pool.Exec(ctx, db.q("revoke-api-key"), id)
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return errcode.New(errcode.NotFound, "api key not found")
	}
	return nil
}
