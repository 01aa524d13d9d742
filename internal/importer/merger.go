package importer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// merger writes an import's batches several at a time: while the oldest
// batch's transaction commits, the next ones are already staged on other
// connections, so Postgres works on every core it has. Batches still count
// in file order (the import's rows_total stays an exact cursor for a
// resumed run), and a batch that names a phone of a batch not yet committed
// waits until that one has committed, so that the later row wins and two
// transactions never wait on each other's rows.
type merger struct {
	w       *Worker
	job     Job
	counts  Counts         // after the last committed batch
	pending []*stagedBatch // staged or being staged, in file order, not yet committed
	// metStored is set once a committed batch met a stored contact: the
	// batches after it are not expected to be all new (Batch.ExpectNew), so
	// a file that mixes known contacts into new ones wastes no more than
	// the attempts staged before the first such commit.
	metStored bool
}

type stagedBatch struct {
	b      Batch
	bytes  int64 // of the file read when the batch was complete, for progress
	phones map[string]struct{}
	done   chan struct{} // closed once staged
	staged StagedBatch
	err    error
}

// add stages b and commits the oldest batches meanwhile, leaving at most
// the worker's Merges - 1 staged and uncommitted when it returns.
func (m *merger) add(ctx context.Context, b Batch, bytes int64) error {
	for _, p := range m.pending {
		if p.sharesPhones(b) {
			if err := m.flush(ctx); err != nil {
				return err
			}
			break
		}
	}
	b.ExpectNew = !m.metStored
	next := &stagedBatch{b: b, bytes: bytes, done: make(chan struct{})}
	next.phones = make(map[string]struct{}, len(b.Rows))
	for _, r := range b.Rows {
		next.phones[r.Contact.Phone] = struct{}{}
	}
	go func() {
		defer close(next.done)
		next.staged, next.err = m.w.Store.StageBatch(ctx, m.job, b)
	}()
	m.pending = append(m.pending, next)
	for len(m.pending) >= m.w.merges() {
		if err := m.commitOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// flush commits every pending batch, in order.
func (m *merger) flush(ctx context.Context) error {
	for len(m.pending) > 0 {
		if err := m.commitOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// commitOldest waits for the oldest pending batch to be staged and commits
// it. On an error the batch is gone; the ones after it stay pending for
// abandon. A batch that lost a wait for rows (ErrContended) is merged
// again, with every pending batch, one at a time.
func (m *merger) commitOldest(ctx context.Context) error {
	p := m.pending[0]
	<-p.done
	if errors.Is(p.err, ErrContended) {
		return m.oneAtATime(ctx)
	}
	m.pending = m.pending[1:]
	if p.err != nil {
		return fmt.Errorf("merge batch ending at line %d: %w", lastLine(p.b), p.err)
	}
	return m.commit(ctx, p.staged, p)
}

func (m *merger) commit(ctx context.Context, staged StagedBatch, p *stagedBatch) error {
	before := m.counts
	counts, err := staged.Commit(ctx, before.RowsTotal, p.bytes, m.w.lease())
	if err != nil {
		return fmt.Errorf("commit batch ending at line %d: %w", lastLine(p.b), err)
	}
	m.counts = counts
	m.metStored = m.metStored || staged.Existing() > 0
	m.w.count(counts, before)
	return nil
}

// contendedTries bounds how often a batch is staged again after losing a
// wait for rows, one batch at a time.
const contendedTries = 8

// oneAtATime rolls back every pending batch and merges them again in order,
// each committed before the next is staged. The rows the rolled-back
// batches held are free for whoever waited on them, and this worker holds
// no row while it waits, so no wait of its can close a cycle that Postgres
// does not see.
func (m *merger) oneAtATime(ctx context.Context) error {
	redo := m.pending
	m.w.Log.InfoContext(ctx, "import batch contended; merging the pending batches one at a time",
		"import_id", m.job.ImportID, "line", lastLine(redo[0].b), "batches", len(redo))
	m.abandon(ctx)
	for _, p := range redo {
		var staged StagedBatch
		var err error
		for try := 1; ; try++ {
			staged, err = m.w.Store.StageBatch(ctx, m.job, p.b)
			if !errors.Is(err, ErrContended) || try == contendedTries {
				break
			}
			select { // another worker's batch holds the rows: let it commit
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(try) * 100 * time.Millisecond):
			}
		}
		if err != nil {
			return fmt.Errorf("merge batch ending at line %d alone: %w", lastLine(p.b), err)
		}
		if err := m.commit(ctx, staged, p); err != nil {
			return err
		}
	}
	return nil
}

// abandon rolls back the batches left pending by an early return.
func (m *merger) abandon(ctx context.Context) {
	for _, p := range m.pending {
		<-p.done
		if p.err == nil {
			p.staged.Rollback(ctx)
		}
	}
	m.pending = nil
}

func (p *stagedBatch) sharesPhones(b Batch) bool {
	for _, r := range b.Rows {
		if _, ok := p.phones[r.Contact.Phone]; ok {
			return true
		}
	}
	return false
}
