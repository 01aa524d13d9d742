package local

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
)

// maxLine bounds a buffered output line; longer lines are logged in pieces.
const maxLine = 64 << 10

// lineLogger is the stdout or stderr of a function instance: it logs each
// line with the function's name. A JSON log line (what slog's JSON handler
// writes) keeps its level, message and fields; aws-lambda-rie's own lines
// (START/END/REPORT, rapid) go to debug, as does everything once the
// instance is being stopped.
type lineLogger struct {
	log      *slog.Logger
	quiet    *atomic.Bool
	buf      []byte
	instance int
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) >= maxLine {
				w.emit(w.buf)
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

func (w *lineLogger) emit(line []byte) {
	text := strings.TrimRight(string(line), "\r ")
	if text == "" {
		return
	}
	ctx := context.Background()
	if w.quiet.Load() || isRIELine(text) {
		w.log.LogAttrs(ctx, slog.LevelDebug, text, slog.Int("instance", w.instance))
		return
	}
	var rec map[string]any
	if text[0] == '{' && json.Unmarshal([]byte(text), &rec) == nil {
		if msg, ok := rec["msg"].(string); ok {
			level := slog.LevelInfo
			if l, ok := rec["level"].(string); ok {
				_ = level.UnmarshalText([]byte(l))
			}
			delete(rec, "msg")
			delete(rec, "level")
			delete(rec, "time")
			delete(rec, "function") // the logger names the function already
			keys := make([]string, 0, len(rec))
			for k := range rec {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			attrs := make([]slog.Attr, 0, len(keys)+1)
			attrs = append(attrs, slog.Int("instance", w.instance))
			for _, k := range keys {
				attrs = append(attrs, slog.Any(k, rec[k]))
			}
			w.log.LogAttrs(ctx, level, msg, attrs...)
			return
		}
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, text, slog.Int("instance", w.instance))
}

func isRIELine(s string) bool {
	for _, p := range []string{"START RequestId:", "END RequestId:", "REPORT RequestId:"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return strings.Contains(s, "(rapid)") || strings.Contains(s, "http: panic serving")
}
