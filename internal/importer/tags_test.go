package importer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
)

// TestTagsColumn: a tags column is not an attribute; '|' separates tags,
// which are trimmed and de-duplicated; a cell breaking the bounds rejects
// its row.
func TestTagsColumn(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("t|", 10)
	for i := range 51 {
		many += fmt.Sprintf("u%d|", i)
	}
	csv := "phone;name;Tags;city\n" +
		"11999990001;Ana; vip | sp |vip;SP\n" +
		"11999990002;Bia;;RJ\n" +
		"11999990003;Caio;" + many + ";BH\n" +
		"11999990004;Duda;" + strings.Repeat("x", 65) + ";BH\n"
	p, err := readAll(t, strings.NewReader(csv), 10, importer.Options{DefaultCountry: "BR"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.rows) != 2 || len(p.rejects) != 2 {
		t.Fatalf("rows %d, rejects %d; want 2 and 2", len(p.rows), len(p.rejects))
	}
	ana, bia := p.rows[0].Contact, p.rows[1].Contact
	if fmt.Sprint(ana.Tags) != "[vip sp]" || fmt.Sprint(ana.Attributes) != "map[city:SP]" || bia.Tags != nil {
		t.Fatalf("ana = %+v, bia = %+v", ana, bia)
	}
	for _, r := range p.rejects {
		if r.Reason != importer.ReasonInvalidTags {
			t.Fatalf("reject %+v; want %s", r, importer.ReasonInvalidTags)
		}
	}
}
