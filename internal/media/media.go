// Package media holds the rules of campaign media: which content types a
// tenant may upload, how large each may be, which WhatsApp message kind
// sends it, and the check that makes an upload ready (its size and the
// type sniffed from its first bytes match what the client declared).
//
// Limits: the check reads only the first SniffBytes of an object; a file
// whose head is a JPEG and whose rest is anything else passes (WhatsApp
// re-encodes images and refuses what it cannot decode). The S3 object is
// trusted to be the one checked only by its ETag: a replaced object is
// rejected when its notification arrives, and readers ask for the checked
// ETag.
package media

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Media states.
const (
	StatusPending  = "pending"
	StatusReady    = "ready"
	StatusRejected = "rejected"
	// StatusExpired: the file was deleted because no campaign needed it
	// for Idle; the row stays so campaigns still show what they sent.
	StatusExpired = "expired"
)

// The kinds of WhatsApp media message; each names WuzAPI's send route.
const (
	KindImage    = "image"
	KindVideo    = "video"
	KindAudio    = "audio"
	KindDocument = "document"
)

// Size limits by kind (WhatsApp's): images 5 MB, video and audio 16 MB,
// documents 100 MB. "MB" is 10^6 bytes, as WhatsApp counts.
const (
	MaxImageBytes    = 5_000_000
	MaxVideoBytes    = 16_000_000
	MaxAudioBytes    = 16_000_000
	MaxDocumentBytes = 100_000_000
)

// ObjectPrefix is where media uploads land; the bucket's notification for
// it goes to the imports queue, whose worker checks the upload, and its
// lifecycle rule expires media after Lifetime.
const ObjectPrefix = "media/"

// Idle is how long a media's file is kept once no campaign needs it: the
// scheduler deletes the file (and marks the media expired) when the media
// was announced more than Idle ago and no campaign using it is open
// (scheduled, queued, running, paused) or ended less than Idle ago. So a
// file lives as long as the campaigns that use it, plus Idle for a resend
// or a new campaign.
const Idle = 7 * 24 * time.Hour

// Lifetime is the backstop: the bucket's lifecycle rule deletes objects
// under ObjectPrefix this long after their upload whatever uses them (S3
// rules count only from an object's creation). It bounds storage if the
// scheduler stops, and how far ahead a campaign may take a media (MinLifeLeft).
const Lifetime = 90 * 24 * time.Hour

// MinLifeLeft is how long a media must still be kept by the lifecycle rule
// after a campaign's start for the campaign to take it: a campaign sends
// within this time unless it is paused for longer.
const MinLifeLeft = 7 * 24 * time.Hour

// SniffBytes is how much of an upload the check reads.
const SniffBytes = 512

// ObjectKey is where the upload of media id of a tenant goes.
func ObjectKey(tenantID, id string) string {
	return ObjectPrefix + tenantID + "/" + id
}

// Type is an allowed content type: its message kind, its size limit and
// the types http.DetectContentType (or the extra signatures of sniff) may
// name for its bytes.
type Type struct {
	Kind     string
	MaxBytes int64
	sniffed  []string
}

// office types are sniffed as their container: OOXML is a zip, the legacy
// formats an OLE2 compound file.
var (
	ooxml = []string{"application/zip"}
	ole2  = []string{"application/x-ole-storage"}
)

// Types are the content types a tenant may upload.
var Types = map[string]Type{
	"image/jpeg":                    {KindImage, MaxImageBytes, []string{"image/jpeg"}},
	"image/png":                     {KindImage, MaxImageBytes, []string{"image/png"}},
	"image/webp":                    {KindImage, MaxImageBytes, []string{"image/webp"}},
	"video/mp4":                     {KindVideo, MaxVideoBytes, []string{"video/mp4"}},
	"audio/ogg":                     {KindAudio, MaxAudioBytes, []string{"application/ogg", "audio/ogg"}},
	"audio/mpeg":                    {KindAudio, MaxAudioBytes, []string{"audio/mpeg"}},
	"application/pdf":               {KindDocument, MaxDocumentBytes, []string{"application/pdf"}},
	"application/msword":            {KindDocument, MaxDocumentBytes, ole2},
	"application/vnd.ms-excel":      {KindDocument, MaxDocumentBytes, ole2},
	"application/vnd.ms-powerpoint": {KindDocument, MaxDocumentBytes, ole2},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   {KindDocument, MaxDocumentBytes, ooxml},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         {KindDocument, MaxDocumentBytes, ooxml},
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": {KindDocument, MaxDocumentBytes, ooxml},
}

// Lookup returns the allowed type of contentType (parameters such as
// "; charset=" ignored, case-insensitive); false when it is not allowed.
func Lookup(contentType string) (string, Type, bool) {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	t, ok := Types[ct]
	return ct, t, ok
}

// sniff names the type of a file's first bytes: http.DetectContentType's
// answer, plus the signatures it lacks (OLE2 documents, MP3 without an ID3
// tag).
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return "application/x-ole-storage"
	case len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0 && head[1]&0x06 != 0:
		return "audio/mpeg" // an MPEG audio frame header (layer bits set)
	}
	ct := http.DetectContentType(head)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return ct
}

// Check judges an upload of a media declared as contentType of
// declaredSize bytes, whose object is size bytes and starts with head. It
// returns "" when the media may become ready, else why not (for a person).
func Check(contentType string, declaredSize, size int64, head []byte) string {
	ct, t, ok := Lookup(contentType)
	switch {
	case !ok:
		return fmt.Sprintf("%s is not an allowed type", contentType)
	case size > t.MaxBytes:
		return fmt.Sprintf("the file is %d bytes; the limit for %s is %d bytes", size, ct, t.MaxBytes)
	case size != declaredSize:
		return fmt.Sprintf("the file is %d bytes, not the %d bytes declared", size, declaredSize)
	case size == 0:
		return "the file is empty"
	}
	got := sniff(head)
	for _, s := range t.sniffed {
		if got == s {
			return ""
		}
	}
	return fmt.Sprintf("the file's content is %s, not %s", got, ct)
}
