package importer_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/phone"
)

type parsed struct {
	header    []string
	delim     rune
	encoding  string
	rows      []importer.Row
	rejects   []importer.Reject
	batches   int
	bytesRead int64
}

// readAll reads src in batches of n, as the worker does.
func readAll(t testing.TB, src io.Reader, n int, opts importer.Options) (parsed, error) {
	t.Helper()
	r, err := importer.NewReader(src, opts)
	if err != nil {
		return parsed{}, err
	}
	p := parsed{header: r.Header(), delim: r.Delimiter()}
	for {
		b, err := r.ReadBatch(n)
		p.rows = append(p.rows, b.Rows...)
		p.rejects = append(p.rejects, b.Rejects...)
		if b.Len() > 0 {
			p.batches++
		}
		if errors.Is(err, io.EOF) {
			p.encoding, p.bytesRead = r.Encoding(), r.BytesRead()
			return p, nil
		}
		if err != nil {
			return p, err
		}
	}
}

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func phones(rows []importer.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Contact.Phone)
	}
	return out
}

func names(rows []importer.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Contact.Name)
	}
	return out
}

func reasons(rejects []importer.Reject) []string {
	var out []string
	for _, r := range rejects {
		out = append(out, r.Reason)
	}
	return out
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		err      error
		delim    rune
		encoding string
		phones   []string
		names    []string
		reasons  []string
		attrs    []map[string]string // per row, when set
	}{
		{file: "utf8.csv", delim: ',', encoding: importer.EncodingUTF8,
			phones: []string{"5511999990001", "5511999990002"}, names: []string{"Ana Souza", "Bruno"},
			attrs: []map[string]string{{"city": "São Paulo"}, {"city": "Rio"}}},
		{file: "bom.csv", delim: ',', encoding: importer.EncodingUTF8BOM,
			phones: []string{"5511999990001", "5511999990002"}, names: []string{"Ana", "Bruno"},
			attrs: []map[string]string{{"Cidade": "São Paulo"}, {"Cidade": "Brasília"}}},
		{file: "latin1.csv", delim: ';', encoding: importer.EncodingWindows1252,
			phones: []string{"5511999990001", "5511999990002"}, names: []string{"José", "Conceição"},
			attrs: []map[string]string{{"cidade": "São Paulo"}, {"cidade": "Goiânia"}}},
		{file: "windows1252.csv", delim: ',', encoding: importer.EncodingWindows1252,
			phones: []string{"5511999990001"}, names: []string{"Zoë"},
			attrs: []map[string]string{{"Obs": "“quoted” – dash €"}}},
		{file: "semicolon.csv", delim: ';', encoding: importer.EncodingASCII,
			phones: []string{"5511999990001", "5511999990002"}, names: []string{"Silva; Ana", "Bruno"},
			attrs: []map[string]string{{"Plano": "gold"}, {"Plano": "silver"}}},
		{file: "tab.tsv", delim: '\t', encoding: importer.EncodingASCII,
			phones: []string{"5511999990001", "5511999990002"}, names: []string{"Ana", "Bruno"}},
		{file: "utf16.csv", delim: '\t', encoding: importer.EncodingUTF16,
			phones: []string{"5511999990001"}, names: []string{"Anaïs"}},
		{file: "quoted-newlines.csv", delim: ',', encoding: importer.EncodingASCII,
			phones: []string{"5511999990001", "5511999990002"}, names: []string{"Ana\nSouza", "Bruno"},
			attrs: []map[string]string{{"notes": "line one\nline two, with comma and \"quotes\""}, {"notes": "plain"}}},
		{file: "bad-phones.csv", delim: ',', encoding: importer.EncodingASCII,
			phones:  []string{"5511999990001", "5511999990002"},
			reasons: []string{phone.CodeTooShort, phone.CodeNotANumber, phone.CodeEmpty, phone.CodeInvalidCountryCode}},
		{file: "duplicates.csv", delim: ',', encoding: importer.EncodingASCII,
			phones: []string{"5511999990001", "5511999990001", "5511999990002", "5511999990001"},
			names:  []string{"First", "Second", "Other", "Third"}},
		{file: "too-many-fields.csv", delim: ',', encoding: importer.EncodingASCII,
			phones: []string{"5511999990002"}, reasons: []string{importer.ReasonTooManyFields}},
		{file: "blank-rows.csv", delim: ',', encoding: importer.EncodingASCII,
			phones: []string{"5511999990001", "5511999990002"}},
		{file: "short-rows.csv", delim: ',', encoding: importer.EncodingASCII,
			phones: []string{"5511999990001", "5511999990002"}, names: []string{"", "Bruno"}},
		{file: "header-only.csv", delim: ',', encoding: importer.EncodingASCII},
		{file: "empty.csv", err: importer.ErrEmpty},
		{file: "zero.csv", err: importer.ErrEmpty},
		{file: "no-phone.csv", err: importer.ErrNoPhoneColumn},
		{file: "garbage.bin", err: importer.ErrNotCSV},
		{file: "garbage-text.bin", err: importer.ErrNotCSV},
		{file: "unclosed-quote.csv", err: importer.ErrRecordTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			for _, n := range []int{1, 3, 1000} {
				p, err := readAll(t, open(t, tt.file), n, importer.Options{DefaultCountry: "BR"})
				if tt.err != nil {
					if !errors.Is(err, tt.err) {
						t.Fatalf("batch %d: err = %v, want %v", n, err, tt.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("batch %d: %v", n, err)
				}
				if p.delim != tt.delim || p.encoding != tt.encoding {
					t.Errorf("batch %d: delimiter %q encoding %s; want %q %s", n, p.delim, p.encoding, tt.delim, tt.encoding)
				}
				if got := phones(p.rows); !reflect.DeepEqual(got, tt.phones) {
					t.Errorf("batch %d: phones = %q, want %q", n, got, tt.phones)
				}
				if got := names(p.rows); tt.names != nil && !reflect.DeepEqual(got, tt.names) {
					t.Errorf("batch %d: names = %q, want %q", n, got, tt.names)
				}
				if got := reasons(p.rejects); !reflect.DeepEqual(got, tt.reasons) {
					t.Errorf("batch %d: reject reasons = %q, want %q", n, got, tt.reasons)
				}
				for i, want := range tt.attrs {
					if got := p.rows[i].Contact.Attributes; !reflect.DeepEqual(got, want) {
						t.Errorf("batch %d: row %d attributes = %v, want %v", n, i, got, want)
					}
				}
			}
		})
	}
}

// A header of 30,000 columns named c0…c29999 (190 KB) is longer than a
// record may be; it still fails as too many columns, and a long header of
// one column as a file that is no CSV.
func TestLongHeaders(t *testing.T) {
	t.Parallel()
	cols := make([]string, 30000)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d", i)
	}
	for name, tt := range map[string]struct {
		header string
		want   error
	}{
		"30,000 columns":        {strings.Join(cols, ","), importer.ErrTooManyColumns},
		"30,000 columns with ;": {strings.Join(cols, ";"), importer.ErrTooManyColumns},
		"one 100 KB column":     {"phone " + strings.Repeat("x", 100<<10), importer.ErrNotCSV},
	} {
		_, err := importer.NewReader(strings.NewReader(tt.header+"\n5511999990001\n"), importer.Options{})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tt.want)
		}
	}
}

func TestRejectKeepsFieldsAndLines(t *testing.T) {
	t.Parallel()
	p, err := readAll(t, open(t, "bad-phones.csv"), 100, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := p.rejects[0]
	if first.Line != 3 || !reflect.DeepEqual(first.Fields, []string{"123", "Short"}) {
		t.Fatalf("first reject = %+v, want line 3 fields [123 Short]", first)
	}
	if p.rows[1].Line != 7 {
		t.Fatalf("last row line = %d, want 7", p.rows[1].Line)
	}
	q, err := readAll(t, open(t, "quoted-newlines.csv"), 100, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if q.rows[1].Line != 5 {
		t.Fatalf("row after a quoted newline starts on line %d, want 5", q.rows[1].Line)
	}
}

func TestHeaderMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, csv   string
		phone, nick string
		attrs       map[string]string
	}{
		{"upper case and spaces", " PHONE , NOME \n11999990001,Ana\n", "5511999990001", "Ana", nil},
		{"whatsapp column", "WhatsApp,Name\n11999990001,Ana\n", "5511999990001", "Ana", nil},
		{"number column", "Number\n11999990001\n", "5511999990001", "", nil},
		{"celular column", "celular,nome\n11999990001,Ana\n", "5511999990001", "Ana", nil},
		{"phone beats number", "number,phone\n42,11999990001\n", "5511999990001", "", map[string]string{"number": "42"}},
		{"empty header named by position", "phone,,x\n11999990001,a,b\n", "5511999990001", "", map[string]string{"column_2": "a", "x": "b"}},
		{"duplicate attribute names", "phone,tag,tag\n11999990001,a,b\n", "5511999990001", "", map[string]string{"tag": "a", "tag_2": "b"}},
		{"empty attributes left out", "phone,city\n11999990001,\n", "5511999990001", "", nil},
		{"crlf", "phone,name\r\n11999990001,Ana\r\n", "5511999990001", "Ana", nil},
		{"no trailing newline", "phone,name\n11999990001,Ana", "5511999990001", "Ana", nil},
		{"stray quote kept", "phone,name\n11999990001,Joe \"JJ\" Smith\n", "5511999990001", "Joe \"JJ\" Smith", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := readAll(t, strings.NewReader(tt.csv), 10, importer.Options{DefaultCountry: "BR"})
			if err != nil {
				t.Fatalf("%q: %v", tt.csv, err)
			}
			if len(p.rows) != 1 {
				t.Fatalf("%q: rows = %+v, rejects = %+v", tt.csv, p.rows, p.rejects)
			}
			c := p.rows[0].Contact
			if c.Phone != tt.phone || c.Name != tt.nick || !reflect.DeepEqual(c.Attributes, tt.attrs) {
				t.Fatalf("%q: contact = %+v, want %s %q %v", tt.csv, c, tt.phone, tt.nick, tt.attrs)
			}
		})
	}
}

func TestDefaultCountry(t *testing.T) {
	t.Parallel()
	p, err := readAll(t, strings.NewReader("phone\n912345678\n+5511999990001\n"), 10, importer.Options{DefaultCountry: "PT"})
	if err != nil {
		t.Fatal(err)
	}
	if got := phones(p.rows); !reflect.DeepEqual(got, []string{"351912345678", "5511999990001"}) {
		t.Fatalf("phones = %q", got)
	}
}

// TestStreams proves the reader never needs the whole file: a file far
// larger than any buffer is read through a reader that hands out a few
// bytes at a time, and the bytes consumed track the batches.
func TestStreams(t *testing.T) {
	t.Parallel()
	const rows = 12000
	var buf bytes.Buffer
	buf.WriteString("phone,name\n")
	for i := range rows {
		fmt.Fprintf(&buf, "+55 11 9%08d,Name\n", i)
	}
	total := int64(buf.Len())
	r, err := importer.NewReader(&trickle{r: &buf}, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.ReadBatch(1000)
	if err != nil || len(b.Rows) != 1000 {
		t.Fatalf("first batch: %d rows, %d rejects, %v", len(b.Rows), len(b.Rejects), err)
	}
	// What was read is the batch plus the fixed buffers (the header peek
	// of 64 KiB, the decoder's 16 KiB, csv's 4 KiB), not the file.
	if read, bound := r.BytesRead(), int64(1000*len("+55 11 900000000,Name\n")+96<<10); read > bound || read >= total/2 {
		t.Fatalf("after 1000 of %d rows %d of %d bytes were read; want at most %d", rows, read, total, bound)
	}
	n := len(b.Rows)
	for {
		b, err := r.ReadBatch(1000)
		n += len(b.Rows)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != rows || r.BytesRead() != total {
		t.Fatalf("read %d rows, %d bytes; want %d, %d", n, r.BytesRead(), rows, total)
	}
}

// trickle returns at most 61 bytes per Read, so reads end mid-record.
type trickle struct{ r io.Reader }

func (t *trickle) Read(p []byte) (int, error) {
	if len(p) > 61 {
		p = p[:61]
	}
	return t.r.Read(p)
}

var e164 = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

// FuzzParse: any input either fails as a whole or yields rows whose phones
// are valid E.164 digits, and never panics.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"utf8.csv", "bom.csv", "latin1.csv", "semicolon.csv", "tab.tsv", "quoted-newlines.csv", "bad-phones.csv", "duplicates.csv", "utf16.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readAll(t, bytes.NewReader(data), 7, importer.Options{DefaultCountry: "BR", MaxRecordBytes: 1024})
		if err != nil {
			return
		}
		for _, r := range p.rows {
			if !e164.MatchString(r.Contact.Phone) {
				t.Fatalf("accepted phone %q from %q", r.Contact.Phone, data)
			}
			if again, _, err := phone.Normalize("+"+r.Contact.Phone, ""); err != nil || again != r.Contact.Phone {
				t.Fatalf("phone %q does not normalise again: %v", r.Contact.Phone, err)
			}
		}
		for _, rj := range p.rejects {
			if rj.Reason == "" {
				t.Fatalf("reject without a reason: %+v", rj)
			}
		}
	})
}
