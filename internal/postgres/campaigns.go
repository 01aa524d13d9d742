package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// IdempotencyWindow is how long an Idempotency-Key names its campaign.
const IdempotencyWindow = 24 * time.Hour

// CreateCampaign writes the campaign and its recipients (COPY) in one
// transaction: either all of it exists afterwards or nothing. A campaign
// with nobody to message is created completed.
func (db *DB) CreateCampaign(ctx context.Context, nc campaign.NewCampaign) (campaign.Created, error) {
	for attempt := 0; ; attempt++ {
		out, err := db.createCampaign(ctx, nc)
		// A concurrent request with the same key won the insert: look again.
		if isUniqueViolation(err, "campaigns_idempotency_idx") && attempt < 2 {
			continue
		}
		return out, err
	}
}

func (db *DB) createCampaign(ctx context.Context, nc campaign.NewCampaign) (campaign.Created, error) {
	var out campaign.Created
	if nc.Now.IsZero() {
		nc.Now = db.now()
	}
	if nc.Campaign.ChunkSize <= 0 {
		nc.Campaign.ChunkSize = campaign.DefaultChunkSize
	}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		replay, err := db.idempotentReplay(ctx, tx, nc)
		if err != nil {
			return err
		}
		if replay != nil {
			out = campaign.Created{ID: replay.id, Replay: replay.body}
			return nil
		}
		if err := db.withinPlan(ctx, tx, nc.Campaign.TenantID, "openCampaigns", "count-open-campaigns", nc.MaxOpen); err != nil {
			return err
		}
		if err := db.holdCampaignMedia(ctx, tx, nc.Campaign); err != nil {
			return err
		}
		id, err := db.insertCampaign(ctx, tx, nc)
		if err != nil {
			return err
		}
		if err := db.insertRecipients(ctx, tx, id, nc); err != nil {
			return err
		}
		out, err = db.finalizeCampaign(ctx, tx, id, nc)
		return err
	})
	return out, err
}

// replay is the earlier campaign an Idempotency-Key names.
type replay struct {
	id   string
	body []byte
}

// idempotentReplay looks up the request's Idempotency-Key: the stored
// answer when an identical request used it within the window,
// IDEMPOTENCY_KEY_REUSED when a different one did, nil (releasing an
// expired key) when the request is new.
func (db *DB) idempotentReplay(ctx context.Context, tx pgx.Tx, nc campaign.NewCampaign) (*replay, error) {
	if nc.IdempotencyKey == "" {
		return nil, nil
	}
	var id string
	var hash, resp []byte
	var created time.Time
	err := tx.QueryRow(ctx, db.q("campaign-idempotency"), nc.Campaign.TenantID, nc.IdempotencyKey).Scan(&id, &hash, &resp, &created)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	case nc.Now.Sub(created) < IdempotencyWindow:
		if !bytes.Equal(hash, nc.BodyHash) {
			return nil, errcode.New(errcode.IdempotencyKeyReused, "Idempotency-Key was used within 24 h for a different request")
		}
		return &replay{id: id, body: resp}, nil
	}
	if _, err := tx.Exec(ctx, db.q("release-idempotency-key"), id); err != nil {
		return nil, fmt.Errorf("release idempotency key: %w", err)
	}
	return nil, nil
}

// holdCampaignMedia holds the campaign's media (if any) until tx ends, so
// the media expiry cannot delete it under the new campaign; a media that
// expired (or otherwise left ready) since the service checked it fails the
// create with campaign.MediaNotUsable.
func (db *DB) holdCampaignMedia(ctx context.Context, tx pgx.Tx, c campaign.Campaign) error {
	if c.Media == nil {
		return nil
	}
	status, err := db.holdMedia(ctx, tx, c.TenantID, c.Media.ID)
	if err != nil {
		return fmt.Errorf("hold media %s of campaign: %w", c.Media.ID, err)
	}
	if status != media.StatusReady {
		return campaign.MediaNotUsable(status, nil)
	}
	return nil
}

// insertCampaign inserts the campaign row; NOT_FOUND when its instance is
// not the tenant's.
func (db *DB) insertCampaign(ctx context.Context, tx pgx.Tx, nc campaign.NewCampaign) (string, error) {
	c := nc.Campaign
	quiet, err := jsonOrNil(c.QuietHours)
	if err != nil {
		return "", err
	}
	var key any
	if nc.IdempotencyKey != "" {
		key = nc.IdempotencyKey
	}
	var id string
	var createdAt time.Time
	var rollout []byte
	if c.Rollout != nil {
		if rollout, err = json.Marshal(c.Rollout); err != nil {
			return "", fmt.Errorf("encode rollout: %w", err)
		}
	}
	var mediaID *string
	if c.Media != nil {
		mediaID = &c.Media.ID
	}
	err = tx.QueryRow(ctx, db.q("insert-campaign"), c.TenantID, c.InstanceID, c.Name, c.Message, c.Status,
		c.ScheduledAt, quiet, key, nc.BodyHash, c.ChunkSize, nc.Now, c.InstanceIDs, rollout, mediaID).Scan(&id, &createdAt)
	if isForeignKeyViolation(err) {
		return "", errcode.New(errcode.NotFound, "instance not found")
	}
	if err != nil {
		return "", fmt.Errorf("insert campaign: %w", err)
	}
	return id, nil
}

// insertRecipients writes the campaign's recipients: the audience's
// contacts, or the inline ones (COPY, seq in request order) matched to the
// tenant's contacts.
func (db *DB) insertRecipients(ctx context.Context, tx pgx.Tx, id string, nc campaign.NewCampaign) error {
	tenantID := nc.Campaign.TenantID
	if nc.Audience != nil {
		return db.insertAudience(ctx, tx, id, tenantID, *nc.Audience)
	}
	rows := make([][]any, len(nc.Recipients))
	empty := []byte("{}") // jsonb takes []byte as JSON text as is
	for i, r := range nc.Recipients {
		vars := empty
		if len(r.Vars) > 0 {
			var err error
			if vars, err = json.Marshal(r.Vars); err != nil {
				return fmt.Errorf("encode vars of recipient %d: %w", i, err)
			}
		}
		rows[i] = []any{id, r.Phone, i, r.Name, vars}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"campaign_recipients"},
		[]string{"campaign_id", "phone", "seq", "name", "vars"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy recipients of campaign %s: %w", id, err)
	}
	if _, err := tx.Exec(ctx, db.q("match-inline-contacts"), id, tenantID); err != nil {
		return fmt.Errorf("match contacts of campaign %s: %w", id, err)
	}
	if _, err := tx.Exec(ctx, db.q("skip-opted-out-inline"), id, tenantID); err != nil {
		return fmt.Errorf("skip opted-out recipients of campaign %s: %w", id, err)
	}
	return nil
}

// finalizeCampaign counts the campaign's recipients, completes it when
// nobody is left to message, and stores its chunk count and the answer an
// Idempotency-Key replay repeats.
func (db *DB) finalizeCampaign(ctx context.Context, tx pgx.Tx, id string, nc campaign.NewCampaign) (campaign.Created, error) {
	var skipped, all, span int
	if err := tx.QueryRow(ctx, db.q("count-new-recipients"), id).Scan(&skipped, &all, &span); err != nil {
		return campaign.Created{}, fmt.Errorf("count recipients of campaign %s: %w", id, err)
	}
	status := nc.Campaign.Status
	var finished *time.Time
	if all-skipped == 0 {
		status = campaign.Completed
		finished = &nc.Now
	}
	out := campaign.Created{ID: id, Status: status, Total: all - skipped, Skipped: skipped, Chunks: campaign.ChunkCount(span, nc.Campaign.ChunkSize)}
	var resp []byte
	if nc.Response != nil {
		var err error
		if resp, err = nc.Response(id, status, out.Total, skipped); err != nil {
			return campaign.Created{}, err
		}
	}
	if _, err := tx.Exec(ctx, db.q("finalize-campaign"), id, out.Total, skipped, out.Chunks, status, finished, resp); err != nil {
		return campaign.Created{}, fmt.Errorf("finalize campaign %s: %w", id, err)
	}
	return out, nil
}

func jsonOrNil(v *tenant.QuietHours) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode quiet hours: %w", err)
	}
	return b, nil
}

func scanCampaign(row pgx.Row, extra ...any) (campaign.Campaign, error) {
	var c campaign.Campaign
	var quiet []byte
	dst := append([]any{&c.ID, &c.TenantID, &c.InstanceID, &c.Name, &c.Message, &c.Status, &c.Reason, &c.ScheduledAt, &quiet,
		&c.CreatedAt, &c.StartedAt, &c.FinishedAt, &c.Total, &c.Skipped, &c.ChunkSize, &c.Chunks}, extra...)
	if err := row.Scan(dst...); err != nil {
		return c, err
	}
	if len(quiet) > 0 {
		c.QuietHours = new(tenant.QuietHours)
		if err := json.Unmarshal(quiet, c.QuietHours); err != nil {
			return c, fmt.Errorf("decode quiet hours of campaign %s: %w", c.ID, err)
		}
	}
	return c, nil
}

// setPool sets the campaign's pool and decodes its staged rollout.
func setPool(c *campaign.Campaign, pool []string, rollout []byte) error {
	c.InstanceIDs = pool
	if len(rollout) > 0 {
		c.Rollout = new(campaign.Rollout)
		if err := json.Unmarshal(rollout, c.Rollout); err != nil {
			return fmt.Errorf("decode rollout of campaign %s: %w", c.ID, err)
		}
	}
	return nil
}

// scanCampaignView scans a campaign as the API shows it (with its pool and
// rollout).
func scanCampaignView(row pgx.Row) (campaign.Campaign, error) {
	var pool []string
	var rollout []byte
	var m mediaCols
	c, err := scanCampaign(row, append([]any{&pool, &rollout}, m.dst()...)...)
	if err != nil {
		return c, err
	}
	m.set(&c)
	return c, setPool(&c, pool, rollout)
}

// mediaCols receives a campaign's media columns, all NULL without media.
type mediaCols struct {
	id, kind, contentType, fileName, key, etag, status *string
	size                                               *int64
}

func (m *mediaCols) dst() []any {
	return []any{&m.id, &m.kind, &m.contentType, &m.fileName, &m.size, &m.key, &m.etag, &m.status}
}

func (m *mediaCols) set(c *campaign.Campaign) {
	if m.id == nil {
		return
	}
	c.Media = &campaign.Media{ID: *m.id, Kind: *m.kind, ContentType: *m.contentType, FileName: *m.fileName,
		Size: *m.size, ObjectKey: *m.key, ETag: *m.etag, Status: *m.status}
}

// Campaign returns the tenant's campaign with its counts and its instances'
// share of them, or NOT_FOUND.
func (db *DB) Campaign(ctx context.Context, tenantID, id string) (campaign.Campaign, error) {
	c, err := scanCampaignView(db.Pool.QueryRow(ctx, db.q("get-campaign"), tenantID, id))
	if err != nil {
		return c, notFound(err, "campaign")
	}
	cs := []campaign.Campaign{c}
	if err := db.fillCounts(ctx, cs); err != nil {
		return c, err
	}
	rows, err := db.Pool.Query(ctx, db.q("campaign-instances"), id)
	if err != nil {
		return c, fmt.Errorf("instances of campaign %s: %w", id, err)
	}
	cs[0].Instances, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (campaign.CampaignInstance, error) {
		var ci campaign.CampaignInstance
		err := r.Scan(&ci.ID, &ci.Name, &ci.Sent, &ci.Pending)
		return ci, err
	})
	if err != nil {
		return c, fmt.Errorf("instances of campaign %s: %w", id, err)
	}
	return cs[0], nil
}

// CampaignStatus returns what the status route shows of the tenant's
// campaign, in one statement: a Campaign with only ID, Status, Total, Counts
// and ReplyRate set, and how many of its recipients were sent before
// sentBefore without a delivery receipt (as CampaignUndelivered counts
// them). NOT_FOUND when the tenant has no such campaign.
func (db *DB) CampaignStatus(ctx context.Context, tenantID, id string, sentBefore time.Time) (campaign.Campaign, int, error) {
	rows, err := db.Pool.Query(ctx, db.q("campaign-status"), tenantID, id, sentBefore)
	if err != nil {
		return campaign.Campaign{}, 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return campaign.Campaign{}, 0, err
		}
		return campaign.Campaign{}, 0, notFound(pgx.ErrNoRows, "campaign")
	}
	var st statusRow
	if !st.read(rows.FieldDescriptions(), rows.RawValues(), id) {
		// Another row than the statement's own types: pgx's scan.
		if st, err = scanStatusRow(rows); err != nil {
			return campaign.Campaign{}, 0, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return campaign.Campaign{}, 0, err
	}
	n := &st.n
	c := campaign.Campaign{ID: st.id, Status: campaign.Status(st.status)}
	c.Total = int(n[0])
	c.Counts = campaign.FromStatuses(c.Total, map[campaign.RecipientStatus]int{
		campaign.RPending: int(n[1]), campaign.RSending: int(n[2]), campaign.RSent: int(n[3]), campaign.RDelivered: int(n[4]),
		campaign.RRead: int(n[5]), campaign.RFailed: int(n[6]), campaign.RSkipped: int(n[7]), campaign.RUnknown: int(n[8]),
	})
	c.Counts.Replied = int(n[9])
	c.ReplyRate = c.Counts.ReplyRate()
	return c, int(n[10]), nil
}

// statusRow is campaign-status's row: the id and state as text, then
// eleven bigints (total, the eight states in FromStatuses's order,
// replied, undelivered).
type statusRow struct {
	id, status string
	n          [11]int64
}

// read fills st from the row's raw values without pgx's scan plans (pgx
// plans every column's scan on every query): text as it comes, bigints in
// binary or text format. The id is the one asked for (no copy) when the
// row's is the same, the state one of campaign's constants when it is one.
// It reports false, having read nothing usable, for any other row (a NULL,
// another type).
func (st *statusRow) read(fds []pgconn.FieldDescription, vals [][]byte, id string) bool {
	if len(fds) != 2+len(st.n) || len(vals) != len(fds) {
		return false
	}
	for i, fd := range fds {
		want := uint32(pgtype.Int8OID)
		if i < 2 {
			want = pgtype.TextOID
		}
		if fd.DataTypeOID != want || vals[i] == nil {
			return false
		}
	}
	for i := range st.n {
		if !rawInt8(vals[2+i], fds[2+i].Format, &st.n[i]) {
			return false
		}
	}
	if st.id = id; string(vals[0]) != id {
		st.id = string(vals[0])
	}
	for _, known := range campaignStates {
		if string(vals[1]) == string(known) {
			st.status = string(known)
			return true
		}
	}
	st.status = string(vals[1])
	return true
}

// scanStatusRow is read's fallback, through pgx's scan plans.
func scanStatusRow(rows pgx.Rows) (statusRow, error) {
	var st statusRow
	n := &st.n
	err := rows.Scan(&st.id, &st.status, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8], &n[9], &n[10])
	return st, err
}

// campaignStates are the states a campaign row holds.
var campaignStates = [...]campaign.Status{campaign.Scheduled, campaign.Queued, campaign.Running, campaign.Paused,
	campaign.Completed, campaign.Failed, campaign.Cancelled}

// rawInt8 reads an int8: eight big-endian bytes in binary format, decimal
// digits (with a sign) in text.
func rawInt8(v []byte, format int16, dst *int64) bool {
	if format == pgtype.BinaryFormatCode {
		if len(v) != 8 {
			return false
		}
		*dst = int64(binary.BigEndian.Uint64(v))
		return true
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	*dst = n
	return err == nil
}

// Campaigns returns a page of the tenant's campaigns with counts, newest first.
func (db *DB) Campaigns(ctx context.Context, tenantID, after string, limit int) ([]campaign.Campaign, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-campaigns"), tenantID, nullable(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list campaigns of tenant %s: %w", tenantID, err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (campaign.Campaign, error) { return scanCampaignView(r) })
	if err != nil {
		return nil, fmt.Errorf("list campaigns of tenant %s: %w", tenantID, err)
	}
	return cs, db.fillCounts(ctx, cs)
}

func (db *DB) fillCounts(ctx context.Context, cs []campaign.Campaign) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	rows, err := db.Pool.Query(ctx, db.q("campaign-counts"), ids)
	if err != nil {
		return fmt.Errorf("count recipients: %w", err)
	}
	by := map[string]map[campaign.RecipientStatus]int{}
	replied := map[string]int{}
	var id string
	var st campaign.RecipientStatus
	var n, r int
	_, err = pgx.ForEachRow(rows, []any{&id, &st, &n, &r}, func() error {
		if by[id] == nil {
			by[id] = map[campaign.RecipientStatus]int{}
		}
		by[id][st] = n
		replied[id] += r
		return nil
	})
	if err != nil {
		return fmt.Errorf("count recipients: %w", err)
	}
	for i := range cs {
		cs[i].Counts = campaign.FromStatuses(cs[i].Total, by[cs[i].ID])
		cs[i].Counts.Replied = replied[cs[i].ID]
		cs[i].ReplyRate = cs[i].Counts.ReplyRate()
	}
	return nil
}

// Transition applies a tenant's control action (pause, resume, cancel) and
// returns the campaign. An illegal one is INVALID_STATE. A pause's
// campaign.paused event is nudged.
func (db *DB) Transition(ctx context.Context, tenantID, id string, act campaign.Action) (campaign.Campaign, error) {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var st campaign.Status
		if err := tx.QueryRow(ctx, db.q("lock-campaign"), tenantID, id).Scan(&st); err != nil {
			return notFound(err, "campaign")
		}
		to, err := campaign.Next(st, act)
		if err != nil {
			return err
		}
		var reason *string
		switch act {
		case campaign.ActPause:
			reason = ptr("paused by the tenant")
		case campaign.ActCancel:
			reason = ptr("cancelled by the tenant")
		}
		if _, err := tx.Exec(ctx, db.q("set-campaign-state"), id, to, reason, to.Terminal(), act == campaign.ActResume); err != nil {
			return fmt.Errorf("%s campaign %s: %w", act, id, err)
		}
		return nil
	})
	if err != nil {
		return campaign.Campaign{}, err
	}
	return db.Campaign(ctx, tenantID, id)
}

// Resend puts the campaign's recipients in statuses back to pending (a new
// generation, so a new message id) and the campaign back to sending
// (a paused campaign stays paused). It returns the new state and how many
// recipients will be re-sent.
//
// A finished campaign that resends opens again, so it meets the plan's cap
// on open campaigns like a create (maxOpen; 0: none): at the cap it fails
// with PLAN_LIMIT naming openCampaigns and nothing changes.
func (db *DB) Resend(ctx context.Context, tenantID, id string, statuses []campaign.RecipientStatus, maxOpen int) (campaign.Status, int, error) {
	var to campaign.Status
	var n int
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var st campaign.Status
		if err := tx.QueryRow(ctx, db.q("lock-campaign"), tenantID, id).Scan(&st); err != nil {
			return notFound(err, "campaign")
		}
		var err error
		if to, err = campaign.Next(st, campaign.ActResend); err != nil {
			return err
		}
		ss := make([]string, len(statuses))
		for i, s := range statuses {
			ss[i] = string(s)
		}
		tag, err := tx.Exec(ctx, db.q("resend-recipients"), id, ss)
		if err != nil {
			return fmt.Errorf("reset recipients of campaign %s: %w", id, err)
		}
		n = int(tag.RowsAffected())
		if n == 0 {
			to = st
			return nil
		}
		if st.Terminal() {
			if err := db.withinPlan(ctx, tx, tenantID, "openCampaigns", "count-open-campaigns", maxOpen); err != nil {
				return err
			}
		}
		if err := db.holdResendMedia(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, db.q("set-campaign-state"), id, to, nil, false, to != campaign.Paused); err != nil {
			return fmt.Errorf("resend campaign %s: %w", id, err)
		}
		return nil
	})
	return to, n, err
}

// holdResendMedia holds the media of a campaign being re-sent until tx ends
// (the media expiry skips it meanwhile); a media whose file was deleted
// fails the resend with campaign.ResendMediaExpired.
func (db *DB) holdResendMedia(ctx context.Context, tx pgx.Tx, tenantID, id string) error {
	var mediaID *string
	if err := tx.QueryRow(ctx, db.q("campaign-media-id"), tenantID, id).Scan(&mediaID); err != nil {
		return fmt.Errorf("media of campaign %s: %w", id, err)
	}
	if mediaID == nil {
		return nil
	}
	status, err := db.holdMedia(ctx, tx, tenantID, *mediaID)
	if err != nil {
		return fmt.Errorf("hold media %s of campaign %s: %w", *mediaID, id, err)
	}
	if status != media.StatusReady {
		return campaign.ResendMediaExpired
	}
	return nil
}

// PendingChunks lists the chunks of the campaign that hold pending recipients.
func (db *DB) PendingChunks(ctx context.Context, campaignID string, chunkSize int) ([]int, error) {
	if chunkSize <= 0 {
		chunkSize = campaign.DefaultChunkSize
	}
	rows, err := db.Pool.Query(ctx, db.q("pending-chunks"), campaignID, chunkSize)
	if err != nil {
		return nil, fmt.Errorf("pending chunks of campaign %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("pending chunks of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// NextChunkGen starts a new chunk generation of the campaign and returns
// it (campaign.ChunkStore).
func (db *DB) NextChunkGen(ctx context.Context, campaignID string) (int64, error) {
	var gen int64
	if err := db.Pool.QueryRow(ctx, db.q("next-chunk-gen"), campaignID).Scan(&gen); err != nil {
		return 0, notFound(err, "campaign")
	}
	return gen, nil
}

// ChunkGen returns the chunk generation of a queued or running campaign
// (chunk-gen); false when it is neither or gone (campaign.SchedulerStore).
func (db *DB) ChunkGen(ctx context.Context, campaignID string) (int64, bool, error) {
	var gen int64
	err := db.Pool.QueryRow(ctx, db.q("chunk-gen"), campaignID).Scan(&gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("chunk generation of campaign %s: %w", campaignID, err)
	}
	return gen, true, nil
}

// MarkEnqueued records that the campaign's chunks are in the queue.
func (db *DB) MarkEnqueued(ctx context.Context, campaignID string, at time.Time) error {
	if _, err := db.Pool.Exec(ctx, db.q("mark-enqueued"), campaignID, at); err != nil {
		return fmt.Errorf("mark campaign %s enqueued: %w", campaignID, err)
	}
	return nil
}

// TimelineBucket is one bucket of a campaign's timeline.
type TimelineBucket struct {
	At        time.Time `json:"at"`
	Sent      int       `json:"sent"`
	Delivered int       `json:"delivered"`
	Read      int       `json:"read"`
	Failed    int       `json:"failed"`
}

// Timeline counts the campaign's events per bucket of bucket length.
func (db *DB) Timeline(ctx context.Context, campaignID string, bucket time.Duration) ([]TimelineBucket, error) {
	rows, err := db.Pool.Query(ctx, db.q("campaign-timeline"), campaignID, bucket.Seconds())
	if err != nil {
		return nil, fmt.Errorf("timeline of campaign %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TimelineBucket, error) {
		var b TimelineBucket
		err := r.Scan(&b.At, &b.Sent, &b.Delivered, &b.Read, &b.Failed)
		b.At = b.At.UTC()
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("timeline of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// CampaignEvent is something that happened to a campaign for alerting.
type CampaignEvent struct {
	ID, TenantID, CampaignID, Type, Reason string
	CreatedAt                              time.Time
}

// CampaignEvents lists the events of a campaign, oldest first.
func (db *DB) CampaignEvents(ctx context.Context, campaignID string) ([]CampaignEvent, error) {
	rows, err := db.Pool.Query(ctx, db.q("campaign-events"), campaignID)
	if err != nil {
		return nil, fmt.Errorf("events of campaign %s: %w", campaignID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CampaignEvent, error) {
		var e CampaignEvent
		err := r.Scan(&e.ID, &e.TenantID, &e.CampaignID, &e.Type, &e.Reason, &e.CreatedAt)
		return e, err
	})
}

func ptr[T any](v T) *T { return &v }

// varsToStrings turns a jsonb object into template variables: strings as
// they are, other values as their JSON text, null as absent.
func varsToStrings(raw map[string]any) map[string]string {
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch x := v.(type) {
		case nil:
		case string:
			out[k] = x
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}
