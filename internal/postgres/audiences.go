package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
)

// The one query this package builds at run time: an audience's filter is a
// combination of optional parts, so it is assembled here from fixed SQL
// fragments. Every value the tenant sent (tags, attribute names and values,
// ids, times) travels as a bind parameter ($n); the only text the builder
// writes is its own fragments and parameter numbers, so no input can change
// the statement's shape. These indexes serve it: GIN on the tags of the
// contacts that have tags (&&, @>; migration 00260), GIN on the
// attributes of the contacts that have attributes (@>, ?; migration
// 00267), and the recipients' (phone, sent_at) index for
// excludeMessagedWithinDays.

// audienceSQL is a compiled audience: a WHERE clause over contacts c and
// its arguments.
type audienceSQL struct {
	where  []string
	args   []any
	tenant string // the tenant's parameter
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
	q := compileFilter(tenantID, a, pre...)
	if a.ExcludeMessagedWithinDays > 0 {
		q.add("NOT " + q.messaged(a, now))
	}
	return q
}

// compileFilter is compileAudience without excludeMessagedWithinDays.
func compileFilter(tenantID string, a audience.Audience, pre ...any) audienceSQL {
	q := audienceSQL{args: append([]any(nil), pre...)}
	q.tenant = q.arg(tenantID)
	q.add("c.tenant_id = " + q.tenant)
	if a.ImportID != "" {
		q.add("c.import_id = " + q.arg(a.ImportID) + "::uuid")
	}
	if a.Tags != nil {
		// The tags index holds only contacts with tags (migration 00260):
		// any and all match only those, and say so for the planner.
		if len(a.Tags.Any) > 0 {
			q.add("c.tags <> '{}' AND c.tags && " + q.arg(a.Tags.Any) + "::text[]")
		}
		if len(a.Tags.All) > 0 {
			q.add("c.tags <> '{}' AND c.tags @> " + q.arg(a.Tags.All) + "::text[]")
		}
		if len(a.Tags.None) > 0 {
			q.add("NOT (c.tags && " + q.arg(a.Tags.None) + "::text[])")
		}
	}
	for _, c := range a.Where {
		q.add(q.condition(c))
	}
	return q
}

// messaged is the condition "a campaign of the tenant sent to c within the
// audience's excludeMessagedWithinDays"; the recipients' (phone, sent_at)
// index serves it row by row, and from the recipients' side it drives
// lookups through the tenant's (tenant_id, phone) key.
func (q *audienceSQL) messaged(a audience.Audience, now time.Time) string {
	since := now.Add(-time.Duration(a.ExcludeMessagedWithinDays) * 24 * time.Hour)
	return `EXISTS (SELECT 1 FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id
  WHERE r.phone = c.phone AND r.sent_at >= ` + q.arg(since) + ` AND k.tenant_id = ` + q.tenant + `)`
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
	// The attributes index holds only contacts with attributes (migration
	// 00267): exists and eq match only those, and say so for the planner.
	switch c.Op {
	case audience.Exists:
		return "(c.attributes <> '{}' AND c.attributes ? " + q.arg(c.Attribute) + "::text)"
	case audience.Eq, audience.Neq:
		// @> can use the GIN index on attributes; stored values are text.
		doc, _ := json.Marshal(map[string]string{c.Attribute: c.Text})
		eq := "c.attributes @> " + q.arg(string(doc)) + "::jsonb"
		if c.Op == audience.Neq {
			return "NOT (" + eq + ")"
		}
		return "(c.attributes <> '{}' AND " + eq + ")"
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
	// CountIsEstimate says Count and OptedOut were estimated from a sample
	// because the exact count did not finish within the count budget.
	CountIsEstimate bool
	// Sample is at most audience.MaxSample messageable contacts, newest first.
	Sample []Contact
}

// DefaultAudienceCountBudget is how long a preview's exact count may run
// before the preview answers with an estimate instead: with the estimate
// and the sample, a preview stays within about 200 ms.
const DefaultAudienceCountBudget = 120 * time.Millisecond

// estimatePages is how many pages of contacts an estimate reads at most.
const estimatePages = 1000

// errOverBudget says the exact count ran out of its budget.
var errOverBudget = errors.New("audience count over budget")

// PreviewAudience counts the tenant's contacts that a validated audience
// selects and returns a sample of them. The exact count gets the DB's
// audience count budget (none for an audience of index-only counts, which
// is always exact); when it runs out, the count is estimated from a
// sample of the table's pages (Preview.CountIsEstimate). The sample of
// contacts is always exact: the newest matching ones.
func (db *DB) PreviewAudience(ctx context.Context, tenantID string, a audience.Audience) (Preview, error) {
	budget := db.audienceCountBudget
	if indexOnly(a) {
		// Index-only counts: finishing costs less than an estimate would.
		budget = 0
	}
	p, err := db.countAudienceWithin(ctx, tenantID, a, budget)
	if errors.Is(err, errOverBudget) {
		p, err = db.estimateAudience(ctx, tenantID, a)
	}
	if err != nil {
		return p, err
	}
	p.Sample, err = db.sampleAudience(ctx, tenantID, a, p.Count)
	return p, err
}

// walkSampleAbove is the count above which the sample walks the tenant's
// contacts newest first instead of collecting every match; maxWalk bounds
// that walk.
const (
	walkSampleAbove = 5000
	maxWalk         = 20000
)

// sampleAudience returns the newest audience.MaxSample messageable matches.
// With many matches (count above walkSampleAbove) it walks the tenant's
// newest maxWalk ids through the (tenant_id, id) index and checks each
// contact, reading about MaxSample x contacts/count rows when matches are
// spread out; with few matches, or when the walk found too few (matches
// all among older contacts), it collects every match through the filter's
// indexes and keeps the newest. (Left to itself the planner may walk the
// primary key instead, through every other tenant's newer contacts.)
func (db *DB) sampleAudience(ctx context.Context, tenantID string, a audience.Audience, count int) ([]Contact, error) {
	q := compileAudience(tenantID, a, db.now())
	limit := strconv.Itoa(audience.MaxSample)
	if count > walkSampleAbove {
		walk := "WITH k AS MATERIALIZED (SELECT id FROM contacts WHERE tenant_id = " + q.tenant + " ORDER BY id DESC LIMIT " +
			strconv.Itoa(maxWalk) + ") SELECT c.* FROM k CROSS JOIN LATERAL (SELECT " + contactColumns +
			" FROM contacts c WHERE c.id = k.id AND " + q.clause() + " AND c.opted_out_at IS NULL LIMIT 1) c LIMIT " + limit
		out, err := db.sample(ctx, tenantID, walk, q.args)
		if err != nil || len(out) == audience.MaxSample {
			return out, err
		}
	}
	return db.sample(ctx, tenantID, "WITH m AS MATERIALIZED (SELECT "+contactColumns+" FROM contacts c WHERE "+q.clause()+
		" AND c.opted_out_at IS NULL) SELECT * FROM m c ORDER BY c.id DESC LIMIT "+limit, q.args)
}

// sample runs a sample query and returns its contacts newest first.
func (db *DB) sample(ctx context.Context, tenantID, sql string, args []any) ([]Contact, error) {
	rows, err := db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("sample audience of tenant %s: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Contact, error) { return scanContact(r) })
	if err != nil {
		return nil, fmt.Errorf("sample audience of tenant %s: %w", tenantID, err)
	}
	slices.SortFunc(out, func(x, y Contact) int { return strings.Compare(y.ID, x.ID) })
	return out, nil
}

// indexOnly reports an audience that countAudienceWithin answers with
// index-only scans: no tags and no conditions (every contact, an import,
// either with excludeMessagedWithinDays).
func indexOnly(a audience.Audience) bool {
	return len(a.Where) == 0 && (a.Tags == nil || len(a.Tags.Any)+len(a.Tags.All)+len(a.Tags.None) == 0)
}

// countAudienceWithin counts exactly, as subtractions of counts that indexes
// answer cheaply: every match minus the opted-out ones (a partial index
// holds only those), and for excludeMessagedWithinDays minus the matches
// that were messaged (found from the tenant's recent recipients, so the
// cost follows the messages sent, not the contacts kept). An audience of
// only the tenant or an import is then index-only scans. The statement
// runs under budget (0: none); errOverBudget when it did not finish.
func (db *DB) countAudienceWithin(ctx context.Context, tenantID string, a audience.Audience, budget time.Duration) (Preview, error) {
	q := compileFilter(tenantID, a)
	base := q.clause()
	counts := []string{base, base + " AND c.opted_out_at IS NOT NULL"}
	if a.ExcludeMessagedWithinDays > 0 {
		m := q.messaged(a, db.now())
		counts = append(counts, base+" AND "+m, base+" AND c.opted_out_at IS NOT NULL AND "+m)
	}
	for i, where := range counts {
		counts[i] = "(SELECT count(*) FROM contacts c WHERE " + where + ")"
	}
	var n [4]int
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// random_page_cost 1.1: index-only scans of the tenant's keys beat a
		// parallel scan of the whole table when pages are cached, as a
		// preview's usually are.
		timeout := "0" // none
		if budget > 0 {
			timeout = strconv.FormatInt(max(budget.Milliseconds(), 1), 10)
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true), set_config('random_page_cost', '1.1', true)", timeout); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT "+strings.Join(counts, ", "), q.args...).Scan(dests(n[:len(counts)])...)
	})
	if isQueryCanceled(err) && ctx.Err() == nil {
		return Preview{}, errOverBudget
	}
	if err != nil {
		return Preview{}, fmt.Errorf("count audience of tenant %s: %w", tenantID, err)
	}
	opted := n[1] - n[3]
	return Preview{Count: n[0] - n[2] - opted, OptedOut: opted}, nil
}

// estimateAudience counts the audience among the tenant's contacts in a
// fixed sample of at most estimatePages pages (the same pages every time,
// so a repeated preview gives the same figure) and scales the share that
// matches by the planner's estimate of the tenant's contacts (from the
// table's statistics, within about 1% for a large tenant). A tenant with
// no contact in the sample is small: it is counted exactly.
func (db *DB) estimateAudience(ctx context.Context, tenantID string, a audience.Audience) (Preview, error) {
	var pages float64
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := db.Pool.QueryRow(ctx, "SELECT greatest(relpages, 1) FROM pg_class WHERE oid = 'contacts'::regclass").Scan(&pages); err != nil {
		return Preview{}, fmt.Errorf("estimate audience of tenant %s: %w", tenantID, err)
	}
	if err := db.Pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) SELECT 1 FROM contacts WHERE tenant_id = $1", tenantID).Scan(&plan); err != nil || len(plan) == 0 {
		return Preview{}, fmt.Errorf("estimate contacts of tenant %s: %w", tenantID, err)
	}
	pct := min(100, 100*estimatePages/pages)
	q := compileFilter(tenantID, a)
	sql := "SELECT count(*) FILTER (WHERE " + q.clause() + " AND c.opted_out_at IS NULL), count(*) FILTER (WHERE " + q.clause() +
		" AND c.opted_out_at IS NOT NULL), count(*) FROM contacts c TABLESAMPLE SYSTEM (" + q.arg(pct) + "::float8) REPEATABLE (0)" +
		" WHERE c.tenant_id = " + q.tenant
	var in, out, seen float64
	if err := db.Pool.QueryRow(ctx, sql, q.args...).Scan(&in, &out, &seen); err != nil {
		return Preview{}, fmt.Errorf("estimate audience of tenant %s: %w", tenantID, err)
	}
	if seen == 0 {
		return db.countAudienceWithin(ctx, tenantID, a, 0)
	}
	scale := plan[0].Plan.Rows / seen
	p := Preview{Count: int(math.Round(in * scale)), OptedOut: int(math.Round(out * scale)), CountIsEstimate: true}
	if a.ExcludeMessagedWithinDays > 0 {
		// The messaged matches are counted exactly from the tenant's recent
		// recipients and taken off.
		mq := compileFilter(tenantID, a)
		base, m := mq.clause(), mq.messaged(a, db.now())
		var all, opted int
		if err := db.Pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM contacts c WHERE "+base+" AND "+m+
			"), (SELECT count(*) FROM contacts c WHERE "+base+" AND c.opted_out_at IS NOT NULL AND "+m+")", mq.args...).Scan(&all, &opted); err != nil {
			return Preview{}, fmt.Errorf("count messaged audience of tenant %s: %w", tenantID, err)
		}
		p.Count, p.OptedOut = max(p.Count-(all-opted), 0), max(p.OptedOut-opted, 0)
	}
	return p, nil
}

func dests(n []int) []any {
	out := make([]any, len(n))
	for i := range n {
		out[i] = &n[i]
	}
	return out
}

// isQueryCanceled reports a statement ended by statement_timeout (or a
// cancel request).
func isQueryCanceled(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "57014"
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
