package importer

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// Encodings reported by Reader.Encoding.
const (
	EncodingASCII       = "ascii" // nothing but 7-bit bytes (valid as any of the others)
	EncodingUTF8        = "utf-8"
	EncodingUTF8BOM     = "utf-8-bom"
	EncodingUTF16       = "utf-16" // with a byte-order mark, as Excel's "Unicode text"
	EncodingWindows1252 = "windows-1252"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decoder turns the file's bytes into UTF-8 without reading ahead more than
// a few bytes. A byte-order mark decides at once. Without one, the text is
// passed through while it is ASCII (the same bytes in every candidate); the
// first non-ASCII byte decides: the start of a valid UTF-8 sequence means
// UTF-8, anything else Windows-1252 (a superset of Latin-1's printable
// characters), for the rest of the file. Exact for files in one encoding,
// which is what spreadsheets export.
type decoder struct {
	src      *bufio.Reader
	out      io.Reader // set once decided
	encoding string
}

func newDecoder(src io.Reader) *decoder {
	d := &decoder{src: bufio.NewReaderSize(src, 16<<10), encoding: EncodingASCII}
	head, _ := d.src.Peek(3)
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		_, _ = d.src.Discard(3)
		d.encoding, d.out = EncodingUTF8BOM, d.src
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		d.encoding = EncodingUTF16
		d.out = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Reader(d.src)
	}
	return d
}

func (d *decoder) Read(p []byte) (int, error) {
	if d.out != nil {
		return d.out.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if _, err := d.src.Peek(1); err != nil {
		return 0, err
	}
	buf, _ := d.src.Peek(min(len(p), d.src.Buffered()))
	n := 0
	for n < len(buf) && buf[n] < utf8.RuneSelf {
		n++
	}
	if n > 0 {
		copy(p, buf[:n])
		_, _ = d.src.Discard(n)
		return n, nil
	}
	// buf[0] is the first non-ASCII byte of the file: decide.
	seq, _ := d.src.Peek(utf8.UTFMax)
	if r, size := utf8.DecodeRune(seq); r != utf8.RuneError || size > 1 {
		d.encoding, d.out = EncodingUTF8, d.src
	} else {
		d.encoding = EncodingWindows1252
		d.out = charmap.Windows1252.NewDecoder().Reader(d.src)
	}
	return d.out.Read(p)
}
