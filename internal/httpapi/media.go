package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
)

type createMediaIn struct {
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Size        *int64 `json:"size"`
}

type createMediaData struct {
	MediaID   string            `json:"mediaId"`
	UploadURL string            `json:"uploadUrl"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
	MaxBytes  int64             `json:"maxBytes"`
}

// mediaData is a media as the API shows it; URL (a presigned GET valid for
// downloadTTL) only once it is ready.
type mediaData struct {
	media.Media
	URL *string `json:"url,omitempty"`
}

// validateMedia checks a media announcement: a file name, an allowed type
// and a size within that type's limit.
func validateMedia(in createMediaIn) (string, media.Type, error) {
	var v errcode.Validator
	name := strings.TrimSpace(in.FileName)
	v.Check(name != "", "fileName", "required", "fileName is required")
	v.Check(utf8.RuneCountInString(name) <= 255, "fileName", "too_long", "fileName must be at most 255 characters")
	ct, t, ok := media.Lookup(in.ContentType)
	v.Check(ok, "contentType", "type_not_allowed", "contentType must be one of image/jpeg, image/png, image/webp, "+
		"video/mp4, audio/ogg, audio/mpeg, application/pdf or an office document type")
	switch {
	case in.Size == nil:
		v.Add("size", "required", "size (the file's length in bytes) is required")
	case *in.Size <= 0:
		v.Add("size", "out_of_range", "size must be more than 0")
	case ok && *in.Size > t.MaxBytes:
		v.Add("size", "too_large", fmt.Sprintf("a %s file may be at most %d bytes", ct, t.MaxBytes))
	}
	return ct, t, v.Err()
}

func (s *Server) createMedia(w http.ResponseWriter, r *http.Request) error {
	up, err := s.uploads()
	if err != nil {
		return err
	}
	var in createMediaIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ct, typ, err := validateMedia(in)
	if err != nil {
		return err
	}
	m, err := s.opts.DB.CreateMedia(r.Context(), media.Media{TenantID: tenantFrom(r.Context()).ID,
		FileName: strings.TrimSpace(in.FileName), ContentType: ct, Kind: typ.Kind, Size: *in.Size}, s.now())
	if err != nil {
		return err
	}
	p, err := up.PresignPut(r.Context(), m.ObjectKey, ct, m.Size, uploadTTL)
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, createMediaData{MediaID: m.ID, UploadURL: p.URL, Method: p.Method,
		Headers: p.Headers, ExpiresAt: p.ExpiresAt.UTC(), MaxBytes: typ.MaxBytes})
	return nil
}

func (s *Server) mediaOut(ctx context.Context, up Presigner, m media.Media) (mediaData, error) {
	m.CreatedAt, m.ExpiresAt, m.CheckedAt = m.CreatedAt.UTC(), m.ExpiresAt.UTC(), utc(m.CheckedAt)
	out := mediaData{Media: m}
	if m.Status == media.StatusReady && s.now().Before(m.ExpiresAt) {
		p, err := up.PresignGet(ctx, m.ObjectKey, downloadTTL)
		if err != nil {
			return out, err
		}
		out.URL = &p.URL
	}
	return out, nil
}

func (s *Server) getMedia(w http.ResponseWriter, r *http.Request) error {
	return getUpload(s, w, r, "media", s.opts.DB.Media, s.mediaOut)
}

func (s *Server) listMedia(w http.ResponseWriter, r *http.Request) error {
	return listUploads(s, w, r, s.opts.DB.MediaList, s.mediaOut, func(d mediaData) string { return d.ID })
}
