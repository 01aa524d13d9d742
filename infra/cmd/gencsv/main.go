// Command gencsv writes a generated contact CSV (see internal/importer/csvgen)
// to stdout: `go run ./infra/cmd/gencsv -rows 1000000 > contacts.csv`.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer/csvgen"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "data rows to write")
	offset := flag.Int("offset", 0, "first row number (different offsets give different phones)")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	if _, err := io.Copy(w, csvgen.Reader(*rows, *offset)); err != nil {
		fmt.Fprintln(os.Stderr, "gencsv:", err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gencsv:", err)
		os.Exit(1)
	}
}
