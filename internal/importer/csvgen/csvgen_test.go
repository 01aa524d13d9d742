package csvgen_test

import (
	"errors"
	"io"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer/csvgen"
)

func TestGeneratedFile(t *testing.T) {
	t.Parallel()
	const rows = 1000
	r, err := importer.NewReader(csvgen.Reader(rows, 0), importer.Options{DefaultCountry: "BR"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.ReadBatch(rows + 1)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("ReadBatch: %v, want the whole file and EOF", err)
	}
	phones := map[string]bool{}
	for _, row := range b.Rows {
		phones[row.Contact.Phone] = true
	}
	// Rows 99, 199, ... are invalid; rows 49, 149, ... repeat the row before.
	if len(b.Rejects) != rows/100 || len(b.Rows) != rows-rows/100 || len(phones) != rows-rows/100-rows/100 {
		t.Fatalf("%d rows (%d phones), %d rejects; want %d, %d, %d", len(b.Rows), len(phones), len(b.Rejects), rows-rows/100, rows-rows/50, rows/100)
	}
	other, _ := importer.NewReader(csvgen.Reader(10, 1000), importer.Options{})
	ob, _ := other.ReadBatch(10)
	for _, row := range ob.Rows {
		if phones[row.Contact.Phone] {
			t.Fatalf("offset 1000 repeats phone %s of offset 0", row.Contact.Phone)
		}
	}
}
