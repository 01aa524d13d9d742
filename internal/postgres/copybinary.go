package postgres

import (
	"encoding/binary"
	"io"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
)

// newContactsCopy is the statement newContactsReader's rows are for;
// stageCopy the one for its rows when it is staging.
const (
	newContactsCopy = "COPY contacts (id, tenant_id, phone, name, attributes, tags, import_id, opted_out_at) FROM STDIN (FORMAT binary)"
	stageCopy       = "COPY contact_stage (id, phone, name, attributes, tags) FROM STDIN (FORMAT binary)"
)

// newContactsReader streams new contacts as COPY's binary format for
// newContactsCopy, encoded by hand a row at a time as COPY reads: pgx's
// CopyFrom looked up an encode plan for every value and boxed each one,
// half of the import worker's CPU with the id and JSON it was handed.
type newContactsReader struct {
	contacts []importer.Contact
	// stage writes stageCopy's columns; tenant, importID and suppressed
	// are then unused.
	stage      bool
	tenant     uuid.UUID
	importID   pgtype.UUID // NULL when not Valid
	suppressed map[string]pgtype.Timestamptz
	i          int
	buf        []byte
	err        error // from making an id; ends the stream
}

// copyHeader is the binary COPY signature, flags and header extension length.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

func (r *newContactsReader) Read(p []byte) (int, error) {
	if r.i == 0 && r.buf == nil {
		r.buf = append(make([]byte, 0, 64<<10), copyHeader...)
	}
	for len(r.buf) < len(p) && r.i <= len(r.contacts) && r.err == nil {
		if r.i == len(r.contacts) {
			r.buf = binary.BigEndian.AppendUint16(r.buf, 0xffff) // the trailer: -1 fields
			r.i++
			break
		}
		r.buf, r.err = r.appendRow(r.buf, r.contacts[r.i])
		r.i++
	}
	if len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

func (r *newContactsReader) appendRow(b []byte, c importer.Contact) ([]byte, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return b, err
	}
	if r.stage {
		b = binary.BigEndian.AppendUint16(b, 5)
		b = appendCopyBytes(b, id[:])
	} else {
		b = binary.BigEndian.AppendUint16(b, 8)
		b = appendCopyBytes(b, id[:])
		b = appendCopyBytes(b, r.tenant[:])
	}
	b = appendCopyText(b, c.Phone)
	b = appendCopyText(b, c.Name)
	// jsonb: a version byte, then the JSON text.
	at := len(b)
	b = append(b, 0, 0, 0, 0, 1)
	b = appendJSONObject(b, c.Attributes)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	b = appendCopyTextArray(b, c.Tags)
	if r.stage {
		return b, nil
	}
	if r.importID.Valid {
		b = appendCopyBytes(b, r.importID.Bytes[:])
	} else {
		b = appendCopyNull(b)
	}
	return appendCopyTimestamptz(b, r.suppressed[c.Phone]), nil
}

func appendCopyNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, math.MaxUint32) }

func appendCopyBytes(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendCopyText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// textOID is the element type of a text[] in its binary form.
const textOID = 25

// appendCopyTextArray appends tags as a one-dimensional text[] (no NULL
// elements), or an empty one.
func appendCopyTextArray(b []byte, tags []string) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	if len(tags) == 0 {
		b = binary.BigEndian.AppendUint32(b, 0) // dimensions
		b = binary.BigEndian.AppendUint32(b, 0) // has NULLs
		b = binary.BigEndian.AppendUint32(b, textOID)
	} else {
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, textOID)
		b = binary.BigEndian.AppendUint32(b, uint32(len(tags))) // length
		b = binary.BigEndian.AppendUint32(b, 1)                 // lower bound
		for _, t := range tags {
			b = appendCopyText(b, t)
		}
	}
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// postgresEpoch is where timestamptz's microseconds count from, 2000-01-01
// 00:00 UTC, in Unix seconds.
const postgresEpoch = 946_684_800

func appendCopyTimestamptz(b []byte, t pgtype.Timestamptz) []byte {
	if !t.Valid {
		return appendCopyNull(b)
	}
	var us int64
	switch t.InfinityModifier {
	case pgtype.Infinity:
		us = math.MaxInt64
	case pgtype.NegativeInfinity:
		us = math.MinInt64
	default:
		us = (t.Time.Unix()-postgresEpoch)*1_000_000 + int64(t.Time.Nanosecond()/1000)
	}
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(us))
}
