package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/jsonstr"
)

// Contact is a tenant's contact as stored.
type Contact struct {
	ID         string
	Phone      string
	Name       string
	Attributes map[string]any
	Tags       []string
	ImportID   *string
	OptedOutAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// contactColumns is what scanContact reads, over contacts aliased c.
const contactColumns = "c.id, c.phone, c.name, c.attributes, c.tags, c.import_id, c.opted_out_at, c.created_at, c.updated_at"

func scanContact(row pgx.Row) (Contact, error) {
	var c Contact
	var attrs []byte
	if err := row.Scan(&c.ID, &c.Phone, &c.Name, &attrs, &c.Tags, &c.ImportID, &c.OptedOutAt, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	c.Attributes = map[string]any{}
	if err := json.Unmarshal(attrs, &c.Attributes); err != nil {
		return c, fmt.Errorf("decode attributes of contact %s: %w", c.ID, err)
	}
	return c, nil
}

// ContactFilter narrows a contact list.
type ContactFilter struct {
	ImportID string // "" for every contact
}

// Contacts returns a page of the tenant's contacts, newest first.
func (db *DB) Contacts(ctx context.Context, tenantID string, f ContactFilter, after string, limit int) ([]Contact, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-contacts"), tenantID, nullUUID(after), nullUUID(f.ImportID), limit)
	if err != nil {
		return nil, fmt.Errorf("list contacts of tenant %s: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, fmt.Errorf("list contacts of tenant %s: %w", tenantID, err)
	}
	return out, nil
}

// ContactByPhone returns the tenant's contact with phone (E.164 digits), or
// NOT_FOUND.
func (db *DB) ContactByPhone(ctx context.Context, tenantID, phone string) (Contact, error) {
	c, err := scanContact(db.Pool.QueryRow(ctx, db.q("get-contact-by-phone"), tenantID, phone))
	return c, notFound(err, "contact")
}

// ContactPatch changes a contact: nil fields are left as they are.
// Attributes merge key by key; a key whose value is nil is removed.
type ContactPatch struct {
	Name       *string
	Tags       []string // nil: unchanged; empty: no tags
	Attributes map[string]*string
}

// UpdateContact applies p to the tenant's contact with id and returns it,
// or NOT_FOUND (also for another tenant's contact). It never touches the
// opt-out: an opted-out contact stays opted out.
func (db *DB) UpdateContact(ctx context.Context, tenantID, id string, p ContactPatch) (Contact, error) {
	var attrs any
	if p.Attributes != nil {
		b, err := json.Marshal(p.Attributes)
		if err != nil {
			return Contact{}, fmt.Errorf("encode attributes of contact %s: %w", id, err)
		}
		attrs = string(b)
	}
	var tags any
	if p.Tags != nil {
		tags = p.Tags
	}
	c, err := scanContact(db.Pool.QueryRow(ctx, db.q("update-contact"), tenantID, id, p.Name, tags, attrs))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("update contact %s: %w", id, err)
	}
	return c, notFound(err, "contact")
}

// DeleteContact deletes the tenant's contact with id, or returns NOT_FOUND.
func (db *DB) DeleteContact(ctx context.Context, tenantID, id string) error {
	tag, err := db.Pool.Exec(ctx, db.q("delete-contact"), tenantID, id)
	if err != nil {
		return fmt.Errorf("delete contact %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(pgx.ErrNoRows, "contact")
	}
	return nil
}

// UpsertContacts merges contacts into the tenant's (the last of a repeated
// phone wins) and returns how many were new and how many updated; a phone
// repeated in contacts counts as updated, so inserted + updated =
// len(contacts). The contacts' import is left as it was.
func (db *DB) UpsertContacts(ctx context.Context, tenantID string, contacts []importer.Contact) (inserted, updated int, err error) {
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		inserted, updated, _, err = db.mergeContacts(ctx, tx, tenantID, nil, contacts, false)
		return err
	})
	return inserted, updated, err
}

// appendJSONObject appends m as a JSON object to b ({} when m is empty).
// Text that is not valid UTF-8 has its bad bytes replaced by U+FFFD, as
// encoding/json does.
func appendJSONObject(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonstr.Append(b, k)
		b = append(b, ':')
		b = jsonstr.Append(b, v)
	}
	return append(b, '}')
}

// mergeContacts COPYs contacts into a staging table dropped at commit and
// merges it with one INSERT … ON CONFLICT. It must run inside tx. existing
// is how many of the collapsed contacts were already stored.
//
// With expectNew it first COPYs them straight into contacts under a
// savepoint, each with its opt-out from the suppression list read just
// before: for new phones that costs less than the merge, whose ON CONFLICT
// probes the phone index before each row, and skips the staging table. A
// phone already stored (or inserted by another writer meanwhile) fails it
// with a unique violation; it is then rolled back, leaving the rows it
// wrote as dead tuples, and the batch is merged. The caller asks for it
// only until one of its batches meets a stored contact, so an import wastes
// at most the attempts it staged before learning that.
//
// The ids of new contacts are made here (UUIDv7, as uuid_v7() would):
// the SQL function costs more per row than the rest of the staging.
func (db *DB) mergeContacts(ctx context.Context, tx pgx.Tx, tenantID string, importID *string, contacts []importer.Contact, expectNew bool) (inserted, updated, existing int, err error) {
	if len(contacts) == 0 {
		return 0, 0, 0, nil
	}
	unique := collapse(contacts)
	var ins int
	done := false
	if expectNew {
		if done, err = db.insertNew(ctx, tx, tenantID, importID, unique); err != nil {
			return 0, 0, 0, err
		}
		ins = len(unique)
	}
	if !done {
		if err := db.stageContacts(ctx, tx, unique); err != nil {
			return 0, 0, 0, err
		}
		// One round trip: the merge joins the suppression list itself, so
		// the row trigger's lookup is off for its statement only.
		batch := &pgx.Batch{}
		batch.Queue("SELECT set_config('wuzapi.opt_outs_joined', 'on', true)")
		batch.Queue(db.q("merge-contact-stage"), tenantID, importID).QueryRow(func(row pgx.Row) error { return row.Scan(&ins) })
		batch.Queue("SELECT set_config('wuzapi.opt_outs_joined', 'off', true)")
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return 0, 0, 0, fmt.Errorf("merge %d contacts of tenant %s: %w", len(unique), tenantID, err)
		}
	}
	// Rows collapsed into a later row of the same phone count as updated.
	return ins, len(contacts) - ins, len(unique) - ins, nil
}

// stageContacts creates the transaction's staging table and COPYs contacts
// (collapsed) into it.
func (db *DB) stageContacts(ctx context.Context, tx pgx.Tx, unique []importer.Contact) error {
	if _, err := tx.Exec(ctx, db.q("create-contact-stage")); err != nil {
		return fmt.Errorf("create contact stage: %w", err)
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, &newContactsReader{contacts: unique, stage: true}, stageCopy); err != nil {
		return fmt.Errorf("copy %d contacts to stage: %w", len(unique), err)
	}
	return nil
}

// insertNew COPYs unique (collapsed) into contacts as new contacts under a
// savepoint, each opted out when the tenant's suppression list holds its
// phone; false (rolled back to the savepoint) when a phone is already
// stored.
func (db *DB) insertNew(ctx context.Context, tx pgx.Tx, tenantID string, importID *string, unique []importer.Contact) (bool, error) {
	suppressed, err := db.suppressed(ctx, tx, tenantID, unique)
	if err != nil {
		return false, err
	}
	tenant, err := uuid.Parse(tenantID)
	if err != nil {
		return false, fmt.Errorf("tenant id %q: %w", tenantID, err)
	}
	imp := pgtype.UUID{}
	if importID != nil {
		id, err := uuid.Parse(*importID)
		if err != nil {
			return false, fmt.Errorf("import id %q: %w", *importID, err)
		}
		imp = pgtype.UUID{Bytes: id, Valid: true}
	}
	// The suppression list was read above, so the row trigger's lookup is
	// off for the COPY; the savepoint also restores the setting.
	if _, err := tx.Exec(ctx, "SAVEPOINT insert_new; SELECT set_config('wuzapi.opt_outs_joined', 'on', true)"); err != nil {
		return false, fmt.Errorf("savepoint before new contacts: %w", err)
	}
	_, err = tx.Conn().PgConn().CopyFrom(ctx, &newContactsReader{contacts: unique, tenant: tenant, importID: imp, suppressed: suppressed}, newContactsCopy)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		if _, err := tx.Exec(ctx, "SELECT set_config('wuzapi.opt_outs_joined', 'off', true); RELEASE SAVEPOINT insert_new"); err != nil {
			return false, fmt.Errorf("release savepoint after new contacts: %w", err)
		}
		return true, nil
	case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation: a phone is stored
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT insert_new"); err != nil {
			return false, fmt.Errorf("roll back the new contacts: %w", err)
		}
		return false, nil
	default:
		return false, fmt.Errorf("copy %d new contacts of tenant %s: %w", len(unique), tenantID, err)
	}
}

// suppressed returns when each of the contacts' phones on the tenant's
// suppression list opted out (a phone not on it is absent).
func (db *DB) suppressed(ctx context.Context, tx pgx.Tx, tenantID string, contacts []importer.Contact) (map[string]pgtype.Timestamptz, error) {
	phones := make([]string, len(contacts))
	for i, c := range contacts {
		phones[i] = c.Phone
	}
	rows, err := tx.Query(ctx, db.q("opt-outs-of-phones"), tenantID, phones)
	if err != nil {
		return nil, fmt.Errorf("read the suppression list of tenant %s: %w", tenantID, err)
	}
	out := map[string]pgtype.Timestamptz{}
	var phone string
	var at pgtype.Timestamptz
	if _, err := pgx.ForEachRow(rows, []any{&phone, &at}, func() error { out[phone] = at; return nil }); err != nil {
		return nil, fmt.Errorf("read the suppression list of tenant %s: %w", tenantID, err)
	}
	return out, nil
}

// collapse merges the contacts of a repeated phone in order, as if each
// were upserted after the one before: a later non-empty name wins and
// attributes merge key by key; later non-empty tags replace earlier ones. So a batch gives what row-by-row upserts
// would, whichever batch a repeat falls in.
func collapse(contacts []importer.Contact) []importer.Contact {
	at := make(map[string]int, len(contacts))
	out := make([]importer.Contact, 0, len(contacts))
	for _, c := range contacts {
		i, seen := at[c.Phone]
		if !seen {
			at[c.Phone] = len(out)
			out = append(out, c)
			continue
		}
		prev := &out[i]
		if c.Name != "" {
			prev.Name = c.Name
		}
		if len(c.Tags) > 0 {
			prev.Tags = c.Tags
		}
		if len(c.Attributes) > 0 {
			merged := make(map[string]string, len(prev.Attributes)+len(c.Attributes))
			for k, v := range prev.Attributes {
				merged[k] = v
			}
			for k, v := range c.Attributes {
				merged[k] = v
			}
			prev.Attributes = merged
		}
	}
	return out
}
