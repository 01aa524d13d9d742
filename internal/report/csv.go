package report

import (
	"encoding/csv"
	"io"
	"strings"
)

// Writer writes CSV records (RFC 4180, comma, CRLF-free "\n" lines as
// encoding/csv does) with every cell neutralised against formula injection.
type Writer struct {
	w    *csv.Writer
	cell []string
}

// NewWriter returns a Writer on w. Callers buffer w; Flush must be called.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record; the record is not modified.
func (w *Writer) Write(record []string) error {
	w.cell = w.cell[:0]
	for _, c := range record {
		w.cell = append(w.cell, Neutralise(c))
	}
	return w.w.Write(w.cell)
}

// Flush writes what is buffered and reports any write error.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// Neutralise defuses a cell a spreadsheet would run as a formula (OWASP CSV
// injection): one starting with = + - @, tab or carriage return gets a
// leading apostrophe, which spreadsheets show as text and do not print.
func Neutralise(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}
