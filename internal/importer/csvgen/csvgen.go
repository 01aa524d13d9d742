// Package csvgen generates contact CSVs for benchmarks and load tests,
// streamed: a file of any size costs a few bytes of memory.
//
// Row i (0-based) is a valid Brazilian mobile number in a rotating format,
// except rows 99, 199, ... (a too-short number) and rows 49, 149, ... (a
// repeat of the row before), so an import of n rows rejects 1 % and counts
// 1 % as updated. Rows are about 50 bytes: 1,000,000 rows are ~50 MB.
package csvgen

import (
	"fmt"
	"io"
)

// Header is the first line of every generated file.
const Header = "phone,name,city,plan\n"

// Reader returns the CSV of rows data rows starting at number offset
// (different offsets give disjoint phones).
func Reader(rows, offset int) io.Reader {
	return &reader{rows: rows, offset: offset, buf: []byte(Header)}
}

type reader struct {
	rows, offset, i int
	buf             []byte
}

var cities = []string{"São Paulo", "Rio de Janeiro", "Belo Horizonte", "Porto Alegre", "Recife"}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.rows {
		r.buf = Row(r.buf, r.offset+r.i)
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// Row appends row number n to b.
func Row(b []byte, n int) []byte {
	switch {
	case n%100 == 99:
		return fmt.Appendf(b, "%d,Invalid %d,%s,free\n", n%1000, n, cities[n%len(cities)])
	case n%100 == 49:
		n-- // the same phone as the row before: counts as updated
	}
	num := n % 100_000_000
	area := 11 + (n/100_000_000)%80
	switch n % 3 {
	case 0:
		return fmt.Appendf(b, "+55 %d 9%04d-%04d,Contact %d,%s,pro\n", area, num/10000, num%10000, n, cities[n%len(cities)])
	case 1:
		return fmt.Appendf(b, "(%d) 9%04d-%04d,Contact %d,%s,free\n", area, num/10000, num%10000, n, cities[n%len(cities)])
	default:
		return fmt.Appendf(b, "55%d9%08d,\"Contact, %d\",%s,enterprise\n", area, num, n, cities[n%len(cities)])
	}
}
