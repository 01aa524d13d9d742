package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

func TestNeutralise(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                  "",
		"Ana":               "Ana",
		"5511999998888":     "5511999998888",
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
		"+5511":             "'+5511",
		"-2+3":              "'-2+3",
		"@SUM(A1)":          "'@SUM(A1)",
		"\tcmd":             "'\tcmd",
		"\rcmd":             "'\rcmd",
		"a=b":               "a=b",
		"'already":          "'already",
		"{\"k\":\"=1\"}":    "{\"k\":\"=1\"}",
		"São Paulo, \"SP\"": "São Paulo, \"SP\"",
	} {
		if got := report.Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterQuotesAndNeutralises(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := report.NewWriter(&buf)
	rec := []string{"=1+1", "a,b", "line\nbreak", "ação"}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if rec[0] != "=1+1" {
		t.Fatal("Write modified the caller's record")
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=1+1", "a,b", "line\nbreak", "ação"}
	if len(got) != 1 || strings.Join(got[0], "|") != strings.Join(want, "|") {
		t.Fatalf("read back %q, want %q", got, want)
	}
}

// memStore is a Store over an in-memory job and rows.
type memStore struct {
	mu        sync.Mutex
	job       report.Job
	rows      [][]string
	rowsErr   error
	progress  []int64
	completed int
	rowCount  int64
	failed    string
}

func (m *memStore) Report(_ context.Context, id string) (report.Job, error) {
	if id != m.job.ID {
		return report.Job{}, report.ErrNotFound
	}
	return m.job, nil
}
func (m *memStore) Renew(context.Context, string, time.Duration) error { return nil }
func (m *memStore) Start(context.Context, report.Job, time.Duration) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.job.Status == report.StatusCompleted {
		return 0, false, nil
	}
	m.job.Status = report.StatusRunning
	return int64(len(m.rows)), true, nil
}
func (m *memStore) Rows(_ context.Context, _ report.Job, emit func([]string) error) error {
	for _, r := range m.rows {
		if err := emit(r); err != nil {
			return err
		}
	}
	return m.rowsErr
}
func (m *memStore) Progress(_ context.Context, _ string, rows int64) error {
	m.progress = append(m.progress, rows)
	return nil
}
func (m *memStore) Complete(_ context.Context, _ string, rows, _ int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.job.Status = report.StatusCompleted
	m.completed++
	m.rowCount = rows
	return nil
}
func (m *memStore) Fail(_ context.Context, _ string, msg string) error {
	m.job.Status = report.StatusFailed
	m.failed = msg
	return nil
}

// memSink keeps uploaded objects by key; failAfter > 0 fails the upload
// after reading that many bytes.
type memSink struct {
	objects   map[string][]byte
	uploads   int
	failAfter int64
}

func (s *memSink) Upload(_ context.Context, key, ct string, body io.Reader) error {
	s.uploads++
	if ct != report.ContentType {
		return fmt.Errorf("content type %q", ct)
	}
	if s.failAfter > 0 {
		if _, err := io.CopyN(io.Discard, body, s.failAfter); err != nil {
			return err
		}
		return errors.New("injected upload failure")
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.objects[key] = b
	return nil
}

func setup(t *testing.T, n int) (*report.Generator, *memStore, *memSink) {
	t.Helper()
	st := &memStore{job: report.Job{ID: "r1", TenantID: "t1", Type: report.Campaign, Status: report.StatusPending, ObjectKey: report.ObjectKey("t1", "r1")}}
	for i := range n {
		st.rows = append(st.rows, []string{fmt.Sprintf("55119%08d", i), "=cmd|' /C calc'!A0", "sent", "1", "", "3EB0", "2026-11-25T12:00:00Z", "", "", "", ""})
	}
	sink := &memSink{objects: map[string][]byte{}}
	g := &report.Generator{Store: st, Sink: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ProgressEvery: 10}
	return g, st, sink
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	g, st, sink := setup(t, 25)
	ctx := context.Background()
	if err := g.HandleMessage(ctx, `{"v":1,"type":"report.generate","reportId":"r1"}`, false); err != nil {
		t.Fatal(err)
	}
	obj := sink.objects["reports/t1/r1.csv"]
	lines := strings.Split(strings.TrimSuffix(string(obj), "\n"), "\n")
	if len(lines) != 26 || lines[0] != "phone,name,status,attempts,last_error,message_id,sent_at,delivered_at,read_at,replied_at,reply" {
		t.Fatalf("object has %d lines, header %q", len(lines), lines[0])
	}
	if !strings.HasPrefix(lines[1], "5511900000000,'=cmd|' /C calc'!A0,sent,") {
		t.Fatalf("first row %q: name not neutralised", lines[1])
	}
	if st.rowCount != 25 || st.completed != 1 || fmt.Sprint(st.progress) != "[10 20]" {
		t.Fatalf("rows %d completed %d progress %v", st.rowCount, st.completed, st.progress)
	}
	// Redelivery of a completed report: nothing written, nothing counted twice.
	if err := g.Generate(ctx, "r1", false); err != nil {
		t.Fatal(err)
	}
	if sink.uploads != 1 || st.completed != 1 || st.rowCount != 25 {
		t.Fatalf("after redelivery: uploads %d completed %d rows %d", sink.uploads, st.completed, st.rowCount)
	}
	// Unknown reports are acknowledged.
	if err := g.Generate(ctx, "nope", false); err != nil {
		t.Fatalf("unknown report: %v", err)
	}
	if err := g.HandleMessage(ctx, `{"v":1,"type":"report.generate"}`, false); err == nil {
		t.Fatal("message without reportId accepted")
	}
}

func TestGenerateFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("rows fail: retried, then failed on the last delivery", func(t *testing.T) {
		g, st, sink := setup(t, 5)
		st.rowsErr = errors.New("connection reset")
		if err := g.Generate(ctx, "r1", false); err == nil {
			t.Fatal("want an error")
		}
		if _, ok := sink.objects["reports/t1/r1.csv"]; ok || st.job.Status != report.StatusRunning {
			t.Fatalf("object stored %v, status %s; want no object, still running", ok, st.job.Status)
		}
		if err := g.Generate(ctx, "r1", true); err == nil {
			t.Fatal("want an error")
		}
		if st.job.Status != report.StatusFailed || st.failed == "" || strings.Contains(st.failed, "connection reset") {
			t.Fatalf("status %s, message %q; want failed with a safe message", st.job.Status, st.failed)
		}
	})
	t.Run("upload fails midway: the row reader stops", func(t *testing.T) {
		g, st, sink := setup(t, 100_000)
		sink.failAfter = 1000
		if err := g.Generate(ctx, "r1", false); err == nil || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("err = %v, want the upload failure", err)
		}
		if st.completed != 0 {
			t.Fatal("completed after a failed upload")
		}
	})
}
