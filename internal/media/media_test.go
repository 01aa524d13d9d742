package media_test

import (
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	jpeg := []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00")
	cases := []struct {
		name, contentType string
		declared, size    int64
		head              []byte
		want              string // "" or a part of the reason
	}{
		{"jpeg", "image/jpeg", 100, 100, jpeg, ""},
		{"jpeg with parameters and case", "Image/JPEG; q=1", 100, 100, jpeg, ""},
		{"png declared, jpeg inside", "image/png", 100, 100, jpeg, "image/jpeg, not image/png"},
		{"webp", "image/webp", 20, 20, []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), ""},
		{"mp4", "video/mp4", 20, 20, []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), ""},
		{"ogg", "audio/ogg", 10, 10, []byte("OggS\x00\x02\x00\x00\x00\x00"), ""},
		{"mp3 frame without id3", "audio/mpeg", 10, 10, []byte("\xFF\xFB\x90\x64\x00\x00\x00\x00\x00\x00"), ""},
		{"legacy word", "application/msword", 10, 10, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), ""},
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 10, 10, []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00"), ""},
		{"html as pdf", "application/pdf", 20, 20, []byte("<html><body>x</body>"), "text/html"},
		{"exe as docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 10, 10, []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), "not application/vnd"},
		{"gif not allowed", "image/gif", 10, 10, []byte("GIF89a...."), "not an allowed type"},
		{"image over 5 MB", "image/jpeg", 100, media.MaxImageBytes + 1, jpeg, "the limit for image/jpeg is 5000000 bytes"},
		{"document over 100 MB", "application/pdf", 100, media.MaxDocumentBytes + 1, []byte("%PDF-1.4"), "limit"},
		{"shorter than declared", "image/jpeg", 100, 99, jpeg, "not the 100 bytes declared"},
		{"empty", "image/jpeg", 0, 0, nil, "empty"},
	}
	for _, c := range cases {
		got := media.Check(c.contentType, c.declared, c.size, c.head)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: Check(%q, %d, %d) = %q; want %q", c.name, c.contentType, c.declared, c.size, got, c.want)
		}
	}
}

func TestLimitsAreWhatsApps(t *testing.T) {
	t.Parallel()
	want := map[string]int64{"image/jpeg": 5_000_000, "image/png": 5_000_000, "image/webp": 5_000_000,
		"video/mp4": 16_000_000, "audio/ogg": 16_000_000, "audio/mpeg": 16_000_000, "application/pdf": 100_000_000}
	for ct, max := range want {
		if _, typ, ok := media.Lookup(ct); !ok || typ.MaxBytes != max {
			t.Errorf("%s: allowed %v, limit %d; want %d", ct, ok, typ.MaxBytes, max)
		}
	}
}
