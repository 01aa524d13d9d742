// Package importer turns a contact CSV into normalised contacts and rejected
// rows, streaming: memory stays bounded by one batch, whatever the file's
// size. It also runs whole imports (Worker) against the small Store and
// Objects interfaces that postgres and blob implement; it imports neither
// pgx nor the AWS SDK.
//
// Limits and choices:
//   - Encodings: UTF-8 with or without a BOM, UTF-16 with a BOM, and
//     Windows-1252/Latin-1, detected from the first non-ASCII byte.
//   - Delimiter: ',', ';' or tab, whichever the header line holds most of
//     outside quotes (',' on a tie or when there is none).
//   - The first record is the header. Column names are matched without case
//     or surrounding space: phone/telefone/whatsapp/number/celular (and a few
//     synonyms) is the phone, name/nome the name, tags/etiquetas the
//     contact's tags ('|' between tags; a non-empty cell replaces the
//     contact's tags, an empty one keeps them; a cell breaking the tag
//     bounds of package audience rejects the row as ReasonInvalidTags),
//     every other column an attribute keyed by its header as written.
//   - Quoted fields may hold delimiters, quotes ("") and newlines; a stray
//     quote inside an unquoted field is kept as text.
//   - A record may be at most MaxRecordBytes (64 KiB by default); a larger
//     one (usually an unclosed quote) stops the file with ErrRecordTooLarge.
//   - The header may have at most MaxColumns (200) columns; more stops the
//     file with ErrTooManyColumns before any row is read, also when the
//     header is longer than MaxRecordBytes and its first 64 KiB hold more
//     than MaxColumns delimiters.
//   - A batch holds at most batchCells fields, whatever n asks, so memory
//     stays bounded by the file's shape limits, not its contents.
//   - A record holding a NUL character is rejected (ReasonInvalidText);
//     invalid UTF-8 is replaced by U+FFFD.
//   - Records whose fields are all empty are skipped and not counted.
//   - A record with more fields than the header is rejected; a shorter one
//     is read with its missing fields empty.
package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/phone"
)

// Errors that make a whole file unreadable. Each is a client-facing reason,
// recorded as the failed import's error.
var (
	ErrEmpty          = errors.New("the file is empty")
	ErrNotCSV         = errors.New("the file is not a CSV text file")
	ErrNoPhoneColumn  = errors.New("the header has no phone column (phone, telefone, whatsapp, number or celular)")
	ErrRecordTooLarge = errors.New("a row is too large")
	ErrTooManyColumns = fmt.Errorf("too_many_columns: the header has more than %d columns", MaxColumns)
)

// MaxColumns is the most columns an import reads.
const MaxColumns = 200

// batchCells bounds the fields one batch holds (1,000 rows of 200 columns;
// 10,000 rows of up to 20 columns stay in one batch).
const batchCells = 200_000

// Reasons of rejected rows besides the phone codes of package phone.
const (
	ReasonTooManyFields = "too_many_fields"
	ReasonMalformedRow  = "malformed_row"
	ReasonInvalidText   = "invalid_text"
	ReasonInvalidTags   = "invalid_tags"
)

// DefaultMaxRecordBytes bounds one CSV record (see the package comment).
const DefaultMaxRecordBytes = 64 << 10

// headerPeek is how far the delimiter detection looks for the header line.
const headerPeek = 64 << 10

var (
	phoneNames = []string{"phone", "telefone", "whatsapp", "number", "celular",
		"phone number", "phone_number", "mobile", "telephone", "fone", "telefono", "numero", "número"}
	nameNames = []string{"name", "nome", "full name", "full_name", "nome completo", "nombre"}
	tagsNames = []string{"tags", "etiquetas"}
)

// Options tune a Reader; the zero value reads Brazilian numbers.
type Options struct {
	// DefaultCountry reads numbers without an international prefix (ISO 3166
	// alpha-2); "BR" when empty.
	DefaultCountry string
	// MaxRecordBytes bounds one record; DefaultMaxRecordBytes when 0.
	MaxRecordBytes int
	// Workers normalise a batch's phones in parallel; GOMAXPROCS when 0.
	Workers int
}

// Contact is a normalised row.
type Contact struct {
	Phone      string            // E.164 digits without '+'
	Name       string            // "" when the file has no name or leaves it empty
	Attributes map[string]string // every other non-empty column
	Tags       []string          // normalised; nil when the file has none for the row
}

// Row is an accepted record.
type Row struct {
	Line    int // the file line the record starts on (the header is line 1)
	Contact Contact
}

// Reject is a refused record with the reason.
type Reject struct {
	Line   int
	Fields []string // as read (decoded to UTF-8)
	Reason string   // a phone.Code* or Reason* constant
}

// Batch is the outcome of up to n consecutive records.
type Batch struct {
	Rows    []Row
	Rejects []Reject
	// ExpectNew says that no merged batch of the import met a stored
	// contact, so this one's are likely all new: the Store may first try
	// a plain insert, cheaper than a merge when every phone is new, and
	// merge when one is not. It changes the cost, never the outcome.
	ExpectNew bool
}

// Len is the number of records the batch accounts for.
func (b Batch) Len() int { return len(b.Rows) + len(b.Rejects) }

// Reader reads a contact CSV record by record.
type Reader struct {
	opts     Options
	counted  *countingReader
	dec      *decoder
	limit    *limitReader
	csv      *csv.Reader
	header   []string
	attrKeys []string // per column; "" for the phone and name columns
	phoneCol int
	nameCol  int
	tagsCol  int
	delim    rune
	line     int // where the last record read started
}

// NewReader detects the file's encoding and delimiter and reads its header.
// It fails with ErrEmpty, ErrNotCSV (binary data, a first line that is no
// header, or a header over MaxRecordBytes of few columns),
// ErrTooManyColumns, ErrNoPhoneColumn, or the source's read error.
func NewReader(src io.Reader, opts Options) (*Reader, error) {
	if opts.DefaultCountry == "" {
		opts.DefaultCountry = "BR"
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	r := &Reader{opts: opts, counted: &countingReader{r: src}}
	r.dec = newDecoder(r.counted)
	text := bufio.NewReaderSize(r.dec, headerPeek)
	head, err := text.Peek(headerPeek)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read the file: %w", err)
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, ErrEmpty
	}
	if binary(head) {
		return nil, fmt.Errorf("%w: it holds binary data", ErrNotCSV)
	}
	r.delim = detectDelimiter(head)
	r.limit = &limitReader{r: text, max: int64(opts.MaxRecordBytes) + 8<<10}
	r.csv = csv.NewReader(r.limit)
	r.csv.Comma = r.delim
	r.csv.FieldsPerRecord = -1
	r.csv.LazyQuotes = true
	header, err := r.csv.Read()
	if err != nil {
		if errors.Is(err, ErrRecordTooLarge) {
			// A header this long is nearly always one of too many columns:
			// say so when its first 64 KiB already hold more than
			// MaxColumns delimiters.
			if bytes.Count(head, []byte(string(r.delim))) >= MaxColumns {
				return nil, ErrTooManyColumns
			}
			return nil, fmt.Errorf("%w: the header is longer than %d bytes", ErrNotCSV, opts.MaxRecordBytes)
		}
		return nil, fmt.Errorf("%w: %v", ErrNotCSV, err)
	}
	r.limit.reset()
	r.line = 1
	if len(header) > MaxColumns {
		return nil, ErrTooManyColumns
	}
	if err := r.mapHeader(header); err != nil {
		return nil, err
	}
	return r, nil
}

// binary tells data from text: a NUL in the first line, or more than 8
// NULs making over one byte of a hundred. A few NULs in later rows only
// reject those rows.
func binary(head []byte) bool {
	first := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		first = head[:i]
	}
	nuls := bytes.Count(head, []byte{0})
	return bytes.IndexByte(first, 0) >= 0 || nuls > max(8, len(head)/100)
}

// detectDelimiter counts the candidates on the first line, outside quotes.
func detectDelimiter(head []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range head {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if c == '\n' || c == '\r' {
			break
		}
		if c == ',' || c == ';' || c == '\t' {
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

func (r *Reader) mapHeader(header []string) error {
	r.phoneCol, r.nameCol, r.tagsCol = -1, -1, -1
	r.header = make([]string, len(header))
	for i, h := range header {
		r.header[i] = strings.TrimSpace(clean(h))
	}
	if col := findColumn(r.header, phoneNames); col >= 0 {
		r.phoneCol = col
	} else {
		if !looksLikeText(header) {
			return fmt.Errorf("%w: the first line is not a header of column names", ErrNotCSV)
		}
		return ErrNoPhoneColumn
	}
	r.nameCol = findColumn(r.header, nameNames)
	r.tagsCol = findColumn(r.header, tagsNames)
	r.attrKeys = make([]string, len(r.header))
	seen := map[string]bool{}
	for i, h := range r.header {
		if i == r.phoneCol || i == r.nameCol || i == r.tagsCol {
			continue
		}
		key := h
		if key == "" {
			key = fmt.Sprintf("column_%d", i+1)
		}
		for n := 2; seen[key]; n++ {
			key = fmt.Sprintf("%s_%d", h, n)
		}
		seen[key] = true
		r.attrKeys[i] = key
	}
	return nil
}

// findColumn returns the first column whose name is in names, by the order
// of names (so "phone" beats a later "number" column).
func findColumn(header, names []string) int {
	for _, n := range names {
		for i, h := range header {
			if strings.EqualFold(h, n) {
				return i
			}
		}
	}
	return -1
}

// looksLikeText tells a header of names from garbage: mostly printable.
func looksLikeText(fields []string) bool {
	var total, bad int
	for _, f := range fields {
		for _, c := range f {
			total++
			if c == utf8.RuneError || (c < 0x20 && c != '\t') || (c >= 0x7f && c < 0xa0) {
				bad++
			}
		}
	}
	return total > 0 && bad*10 < total
}

// Header returns the header's column names (trimmed).
func (r *Reader) Header() []string { return r.header }

// Delimiter returns the detected field delimiter.
func (r *Reader) Delimiter() rune { return r.delim }

// Encoding returns the detected encoding; EncodingASCII while no non-ASCII
// byte has been read.
func (r *Reader) Encoding() string { return r.dec.encoding }

// BytesRead returns how many bytes of the source have been consumed (read
// ahead included), for progress.
func (r *Reader) BytesRead() int64 { return r.counted.n }

// ReadBatch reads up to n records (n > 0) and normalises their phones. At
// the end of the file it returns the last records with io.EOF, or an empty
// batch and io.EOF. Any other error stops the file (ErrRecordTooLarge, the
// source's read error); the records read before it are returned too.
func (r *Reader) ReadBatch(n int) (Batch, error) {
	recs, rejects, stop := r.readRecords(n)

	// Normalising is the costly step (libphonenumber's regular
	// expressions): spread it over the workers, keeping the file's order.
	type result struct {
		row    Row
		reason string
	}
	results := make([]result, len(recs))
	work := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, reason := r.toRow(recs[i].line, recs[i].fields)
			results[i] = result{row, reason}
		}
	}
	w := r.opts.Workers
	if len(recs) < 512 || w == 1 {
		work(0, len(recs))
	} else {
		var wg sync.WaitGroup
		per := (len(recs) + w - 1) / w
		for lo := 0; lo < len(recs); lo += per {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				work(lo, hi)
			}(lo, min(lo+per, len(recs)))
		}
		wg.Wait()
	}
	b := Batch{Rows: make([]Row, 0, len(recs)), Rejects: rejects}
	for i, res := range results {
		if res.reason != "" {
			b.Rejects = append(b.Rejects, Reject{Line: recs[i].line, Fields: recs[i].fields, Reason: res.reason})
			continue
		}
		b.Rows = append(b.Rows, res.row)
	}
	return b, stop
}

// Skip passes over up to n records without normalising them (a resumed
// import skips what it already merged) and returns how many it passed.
// Its errors are those of ReadBatch.
func (r *Reader) Skip(n int) (int, error) {
	recs, rejects, err := r.readRecords(n)
	return len(recs) + len(rejects), err
}

type record struct {
	line   int
	fields []string
}

// readRecords reads up to n counted records: the ones to normalise, and
// those already refused for their shape.
func (r *Reader) readRecords(n int) ([]record, []Reject, error) {
	recs := make([]record, 0, min(n, 1<<14))
	var rejects []Reject
	for cells := 0; len(recs)+len(rejects) < n && cells < batchCells; {
		fields, err := r.csv.Read()
		r.limit.reset()
		line := r.line
		if err == nil && len(fields) > 0 {
			line, _ = r.csv.FieldPos(0)
			r.line = line
		}
		if errors.Is(err, io.EOF) {
			return recs, rejects, io.EOF
		}
		var perr *csv.ParseError
		if err != nil && errors.As(err, &perr) {
			rejects = append(rejects, Reject{Line: perr.StartLine, Fields: cleanAll(fields), Reason: ReasonMalformedRow})
			continue
		}
		if err != nil {
			if errors.Is(err, ErrRecordTooLarge) {
				return recs, rejects, fmt.Errorf("%w: the row after line %d is over %d bytes (an unclosed quote?)", ErrRecordTooLarge, r.line, r.opts.MaxRecordBytes)
			}
			return recs, rejects, fmt.Errorf("read the row after line %d: %w", r.line, err)
		}
		if blank(fields) {
			continue
		}
		cells += len(fields)
		if hasNUL(fields) {
			rejects = append(rejects, Reject{Line: line, Fields: cleanAll(fields), Reason: ReasonInvalidText})
			continue
		}
		fields = cleanAll(fields)
		if len(fields) > len(r.header) {
			rejects = append(rejects, Reject{Line: line, Fields: fields, Reason: ReasonTooManyFields})
			continue
		}
		recs = append(recs, record{line: line, fields: fields})
	}
	return recs, rejects, nil
}

// toRow normalises one record; reason is "" when it is accepted.
func (r *Reader) toRow(line int, fields []string) (Row, string) {
	get := func(i int) string {
		if i < 0 || i >= len(fields) {
			return ""
		}
		return strings.TrimSpace(fields[i])
	}
	digits, code, err := phone.Normalize(get(r.phoneCol), r.opts.DefaultCountry)
	if err != nil {
		return Row{}, code
	}
	c := Contact{Phone: digits, Name: get(r.nameCol)}
	if r.tagsCol >= 0 {
		tags, code, _ := audience.NormalizeTags(audience.SplitTags(get(r.tagsCol)))
		if code != "" {
			return Row{}, ReasonInvalidTags
		}
		if len(tags) > 0 {
			c.Tags = tags
		}
	}
	for i, key := range r.attrKeys {
		if key == "" {
			continue
		}
		if v := get(i); v != "" {
			if c.Attributes == nil {
				c.Attributes = map[string]string{}
			}
			c.Attributes[key] = v
		}
	}
	return Row{Line: line, Contact: c}, ""
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// clean makes a field storable as Postgres text: valid UTF-8, no NUL.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

func hasNUL(fields []string) bool {
	for _, f := range fields {
		if strings.IndexByte(f, 0) >= 0 {
			return true
		}
	}
	return false
}

func cleanAll(fields []string) []string {
	for i, f := range fields {
		fields[i] = clean(f)
	}
	return fields
}

// countingReader counts the bytes read from the source.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// limitReader fails with ErrRecordTooLarge once more than max bytes were
// read since the last reset (one per record), so that one record can never
// hold the rest of a file in memory. max leaves room for encoding/csv's own
// read-ahead buffer.
type limitReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) reset() { l.n = 0 }

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n >= l.max {
		return 0, ErrRecordTooLarge
	}
	if int64(len(p)) > l.max-l.n {
		p = p[:l.max-l.n]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}
