package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
)

// The one query this package builds at run time: an audience's filter is a
// combination of optional parts, so it is assembled here from fixed SQL
// fragments. Every value the tenant sent (tags, attribute names and values,
// ids, times) travels as a bind parameter ($n); the only text the builder
// writes is its own fragments and parameter numbers, so no input can change
// the statement's shape. The indexes of migration 00150 serve it: GIN on
// tags (&&, @>), GIN on attributes (@>, ?), and the recipients' (phone,
// sent_at) index for excludeMessagedWithinDays.

// audienceSQL is a compiled audience: a WHERE clause over contacts c and
// its arguments.
type audienceSQL struct {
	where []string
	args  []any
}

func (q *audienceSQL) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *audienceSQL) add(frag string) { q.where = append(q.where, frag) }

// clause is the WHERE clause, every part ANDed.
func (q *audienceSQL) clause() string { return strings.Join(q.where, " AND ") }

// compileAudience turns a validated audience into a WHERE clause over
// contacts aliased c. The tenant is always its first condition; args
// continue after pre (parameters the caller's statement already uses).
func compileAudience(tenantID string, a audience.Audience, now time.Time, pre ...any) audienceSQL {
	q := audienceSQL{args: append([]any(nil), pre...)}
	t := q.arg(tenantID)
	q.add("c.tenant_id = " + t)
	if a.ImportID != "" {
		q.add("c.import_id = " + q.arg(a.ImportID) + "::uuid")
	}
	if a.Tags != nil {
		if len(a.Tags.Any) > 0 {
			q.add("c.tags && " + q.arg(a.Tags.Any) + "::text[]")
		}
		if len(a.Tags.All) > 0 {
			q.add("c.tags @> " + q.arg(a.Tags.All) + "::text[]")
		}
		if len(a.Tags.None) > 0 {
			q.add("NOT (c.tags && " + q.arg(a.Tags.None) + "::text[])")
		}
	}
	for _, c := range a.Where {
		q.add(q.condition(c))
	}
	if a.ExcludeMessagedWithinDays > 0 {
		since := now.Add(-time.Duration(a.ExcludeMessagedWithinDays) * 24 * time.Hour)
		q.add(`NOT EXISTS (SELECT 1 FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id
  WHERE r.phone = c.phone AND r.sent_at >= ` + q.arg(since) + ` AND k.tenant_id = ` + t + `)`)
	}
	return q
}

// fieldColumns maps a condition's field to its column; validation keeps
// fields to these keys, and only these constant names reach the SQL.
var fieldColumns = map[audience.Field]string{
	audience.FieldName: "c.name", audience.FieldPhone: "c.phone",
	audience.FieldCreatedAt: "c.created_at", audience.FieldUpdatedAt: "c.updated_at",
}

var opSQL = map[audience.Op]string{audience.Eq: "=", audience.Neq: "<>", audience.Gt: ">", audience.Lt: "<"}

func (q *audienceSQL) condition(c audience.Condition) string {
	if c.Field != "" {
		col := fieldColumns[c.Field]
		switch {
		case c.Op == audience.In:
			return col + " = ANY(" + q.arg(c.Texts) + "::text[])"
		case c.Time != nil:
			return col + " " + opSQL[c.Op] + " " + q.arg(*c.Time)
		case c.Op == audience.Gt || c.Op == audience.Lt:
			return col + ` COLLATE "C" ` + opSQL[c.Op] + " " + q.arg(c.Text)
		default:
			return col + " " + opSQL[c.Op] + " " + q.arg(c.Text)
		}
	}
	switch c.Op {
	case audience.Exists:
		return "c.attributes ? " + q.arg(c.Attribute) + "::text"
	case audience.Eq, audience.Neq:
		// @> can use the GIN index on attributes; stored values are text.
		doc, _ := json.Marshal(map[string]string{c.Attribute: c.Text})
		eq := "c.attributes @> " + q.arg(string(doc)) + "::jsonb"
		if c.Op == audience.Neq {
			return "NOT (" + eq + ")"
		}
		return eq
	}
	val := "(c.attributes ->> " + q.arg(c.Attribute) + "::text)"
	switch c.Op {
	case audience.In:
		return val + " = ANY(" + q.arg(c.Texts) + "::text[])"
	default: // gt, lt
		if c.Number != nil {
			// CASE guards the cast: an attribute that is not a number never
			// matches instead of failing the query.
			return "(CASE WHEN " + val + ` ~ '^\s*-?[0-9]{1,30}(\.[0-9]{1,30})?\s*$' THEN ` + val + "::numeric END) " +
				opSQL[c.Op] + " " + q.arg(*c.Number) + "::numeric"
		}
		return val + ` COLLATE "C" ` + opSQL[c.Op] + " " + q.arg(c.Text)
	}
}

// Preview is how many contacts an audience selects and a few of them.
type Preview struct {
	// Count is the contacts a campaign would message: opted-out ones are
	// left out (a campaign would skip them).
	Count int
	// OptedOut is the opted-out contacts the audience also matches.
	OptedOut int
	// Sample is at most audience.MaxSample messageable contacts, newest first.
	Sample []Contact
}

// PreviewAudience counts the tenant's contacts that a validated audience
// selects and returns a sample of them. It costs one count over the
// matching contacts (index scans where the audience allows) and one small
// ordered scan.
func (db *DB) PreviewAudience(ctx context.Context, tenantID string, a audience.Audience) (Preview, error) {
	q := compileAudience(tenantID, a, db.now())
	var p Preview
	count := "SELECT count(*) FILTER (WHERE c.opted_out_at IS NULL), count(*) FILTER (WHERE c.opted_out_at IS NOT NULL) FROM contacts c WHERE " + q.clause()
	if err := db.Pool.QueryRow(ctx, count, q.args...).Scan(&p.Count, &p.OptedOut); err != nil {
		return p, fmt.Errorf("count audience of tenant %s: %w", tenantID, err)
	}
	sample := "SELECT " + contactColumns + " FROM contacts c WHERE " + q.clause() +
		" AND c.opted_out_at IS NULL ORDER BY c.id DESC LIMIT " + strconv.Itoa(audience.MaxSample)
	rows, err := db.Pool.Query(ctx, sample, q.args...)
	if err != nil {
		return p, fmt.Errorf("sample audience of tenant %s: %w", tenantID, err)
	}
	p.Sample, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Contact, error) { return scanContact(r) })
	if err != nil {
		return p, fmt.Errorf("sample audience of tenant %s: %w", tenantID, err)
	}
	return p, nil
}

// insertAudience writes a campaign's recipients from its audience in one
// INSERT … SELECT; opted-out contacts become skipped recipients.
func (db *DB) insertAudience(ctx context.Context, tx pgx.Tx, campaignID, tenantID string, a audience.Audience) error {
	q := compileAudience(tenantID, a, db.now(), campaignID)
	sql := `INSERT INTO campaign_recipients (campaign_id, phone, contact_id, seq, name, vars, status, skip_reason)
SELECT $1, c.phone, c.id, (row_number() OVER (ORDER BY c.id)) - 1, c.name, c.attributes,
       CASE WHEN c.opted_out_at IS NOT NULL THEN 'skipped' ELSE 'pending' END,
       CASE WHEN c.opted_out_at IS NOT NULL THEN 'opted_out' END
FROM contacts c WHERE ` + q.clause()
	if _, err := tx.Exec(ctx, sql, q.args...); err != nil {
		return fmt.Errorf("insert audience of campaign %s: %w", campaignID, err)
	}
	return nil
}
