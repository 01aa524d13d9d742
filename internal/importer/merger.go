package importer

import (
	"context"
	"fmt"
)

// merger writes an import's batches two at a time: while one batch's
// transaction commits, the next is already staged on another connection,
// so Postgres works on two cores. Batches still count in file order (the
// import's rows_total stays an exact cursor for a resumed run), and a batch
// that names a phone of the batch before it waits until that one has
// committed, so that the later row wins and the two transactions never
// wait on each other's rows.
type merger struct {
	w       *Worker
	job     Job
	counts  Counts       // after the last committed batch
	pending *stagedBatch // staged or being staged, not yet committed
}

type stagedBatch struct {
	b      Batch
	bytes  int64 // of the file read when the batch was complete, for progress
	phones map[string]struct{}
	done   chan struct{} // closed once staged
	staged StagedBatch
	err    error
}

// add stages b and commits the batch before it meanwhile.
func (m *merger) add(ctx context.Context, b Batch, bytes int64) error {
	if m.pending != nil && m.pending.sharesPhones(b) {
		if err := m.flush(ctx); err != nil {
			return err
		}
	}
	next := &stagedBatch{b: b, bytes: bytes, done: make(chan struct{})}
	next.phones = make(map[string]struct{}, len(b.Rows))
	for _, r := range b.Rows {
		next.phones[r.Contact.Phone] = struct{}{}
	}
	go func() {
		defer close(next.done)
		next.staged, next.err = m.w.Store.StageBatch(ctx, m.job, b)
	}()
	if err := m.flush(ctx); err != nil {
		m.drop(ctx, next)
		return err
	}
	m.pending = next
	return nil
}

// flush commits the pending batch, if any.
func (m *merger) flush(ctx context.Context) error {
	p := m.pending
	if p == nil {
		return nil
	}
	m.pending = nil
	<-p.done
	if p.err != nil {
		return fmt.Errorf("merge batch ending at line %d: %w", lastLine(p.b), p.err)
	}
	before := m.counts
	counts, err := p.staged.Commit(ctx, before.RowsTotal, p.bytes, m.w.lease())
	if err != nil {
		return fmt.Errorf("commit batch ending at line %d: %w", lastLine(p.b), err)
	}
	m.counts = counts
	m.w.count(counts, before)
	return nil
}

// abandon rolls back a batch left pending by an early return.
func (m *merger) abandon(ctx context.Context) {
	if m.pending != nil {
		m.drop(ctx, m.pending)
		m.pending = nil
	}
}

func (m *merger) drop(ctx context.Context, p *stagedBatch) {
	<-p.done
	if p.err == nil {
		p.staged.Rollback(ctx)
	}
}

func (p *stagedBatch) sharesPhones(b Batch) bool {
	for _, r := range b.Rows {
		if _, ok := p.phones[r.Contact.Phone]; ok {
			return true
		}
	}
	return false
}
