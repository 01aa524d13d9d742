// Package pgtest gives each test its own freshly migrated PostgreSQL database
// on the local server, so test packages (and several checkouts) run in
// parallel without seeing each other's rows. Imported only by tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	neturl "net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// ServerURL is the maintenance database the test databases are created from;
// PGTEST_URL overrides it.
func ServerURL() string {
	if u := os.Getenv("PGTEST_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty, migrated database for this test, drops it
// when the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "wm_test_" + hex.EncodeToString(b)

	cfg, err := pgx.ParseConfig(ServerURL())
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", ServerURL(), err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: connect to %s (is PostgreSQL running?): %v", ServerURL(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("pgtest: connect to drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	url := withDatabase(t, ServerURL(), name)
	if err := postgres.Migrate(ctx, url); err != nil {
		t.Fatalf("pgtest: migrate %s: %v", name, err)
	}
	return url
}

// NewDB opens a pool on a fresh database for this test.
func NewDB(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), NewDatabase(t), postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// withDatabase returns raw with its database path replaced by name.
func withDatabase(t testing.TB, raw, name string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", raw, err)
	}
	u.Path = "/" + name
	return u.String()
}
