package httpapi

import (
	"context"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// Presigner hands out URLs clients use without credentials (blob.Store).
type Presigner interface {
	PresignPut(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (blob.Presigned, error)
	PresignGet(ctx context.Context, key string, ttl time.Duration) (blob.Presigned, error)
}

// Upload and download URL lifetimes: an upload starts right after the
// import is created; a rejected rows link is for a person to click.
const (
	uploadTTL   = 15 * time.Minute
	downloadTTL = time.Hour
	// uploadContentType is signed into the PUT: the client sends exactly it.
	uploadContentType = "text/csv"
)

type createImportData struct {
	ImportID  string            `json:"importId"`
	UploadURL string            `json:"uploadUrl"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
	MaxBytes  int64             `json:"maxBytes"`
}

func (s *Server) maxImportBytes() int64 {
	if s.opts.ImportMaxBytes > 0 {
		return s.opts.ImportMaxBytes
	}
	return importer.DefaultMaxBytes
}

func (s *Server) uploads() (Presigner, error) {
	if s.opts.Uploads == nil {
		return nil, errcode.New(errcode.Unavailable, "imports are not configured")
	}
	return s.opts.Uploads, nil
}

func (s *Server) createImport(w http.ResponseWriter, r *http.Request) error {
	up, err := s.uploads()
	if err != nil {
		return err
	}
	var in struct {
		FileName string `json:"fileName"`
	}
	// The body is optional: no body means no file name.
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	var v errcode.Validator
	v.Check(utf8.RuneCountInString(in.FileName) <= 255, "fileName", "too_long", "fileName must be at most 255 characters")
	if err := v.Err(); err != nil {
		return err
	}
	t := tenantFrom(r.Context())
	im, err := s.opts.DB.CreateImport(r.Context(), t.ID, in.FileName)
	if err != nil {
		return err
	}
	p, err := up.PresignPut(r.Context(), im.ObjectKey, uploadContentType, 0, uploadTTL)
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, createImportData{
		ImportID: im.ID, UploadURL: p.URL, Method: p.Method, Headers: p.Headers,
		ExpiresAt: p.ExpiresAt.UTC(), MaxBytes: s.maxImportBytes(),
	})
	return nil
}

type importData struct {
	ID              string     `json:"id"`
	FileName        string     `json:"fileName"`
	Status          string     `json:"status"`
	RowsTotal       int        `json:"rowsTotal"`
	Imported        int        `json:"imported"`
	Updated         int        `json:"updated"`
	Rejected        int        `json:"rejected"`
	Progress        int        `json:"progress"`
	Error           *string    `json:"error"`
	RejectedRowsURL *string    `json:"rejectedRowsUrl,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	StartedAt       *time.Time `json:"startedAt"`
	FinishedAt      *time.Time `json:"finishedAt"`
}

func (s *Server) importOut(ctx context.Context, up Presigner, im postgres.Import) (importData, error) {
	out := importData{
		ID: im.ID, FileName: im.FileName, Status: im.Status, RowsTotal: im.RowsTotal, Imported: im.Imported,
		Updated: im.Updated, Rejected: im.Rejected, Progress: im.Progress(), Error: im.Error,
		CreatedAt: im.CreatedAt.UTC(), StartedAt: utc(im.StartedAt), FinishedAt: utc(im.FinishedAt),
	}
	if im.Rejected > 0 && im.RejectedObjectKey != nil {
		p, err := up.PresignGet(ctx, *im.RejectedObjectKey, downloadTTL)
		if err != nil {
			return out, err
		}
		out.RejectedRowsURL = &p.URL
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request) error {
	return getUpload(s, w, r, "import", s.opts.DB.Import, s.importOut)
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request) error {
	return listUploads(s, w, r, s.opts.DB.Imports, s.importOut, func(d importData) string { return d.ID })
}

// getUpload answers one of the tenant's uploads (an import or a media file)
// by the id in the path, with its presigned addresses.
func getUpload[T, D any](s *Server, w http.ResponseWriter, r *http.Request, what string,
	load func(ctx context.Context, tenantID, id string) (T, error),
	out func(ctx context.Context, up Presigner, v T) (D, error),
) error {
	up, err := s.uploads()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id", what)
	if err != nil {
		return err
	}
	v, err := load(r.Context(), tenantFrom(r.Context()).ID, id)
	if err != nil {
		return err
	}
	d, err := out(r.Context(), up, v)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, d)
	return nil
}

// listUploads answers a page of the tenant's uploads, newest first.
func listUploads[T, D any](s *Server, w http.ResponseWriter, r *http.Request,
	load func(ctx context.Context, tenantID, after string, limit int) ([]T, error),
	out func(ctx context.Context, up Presigner, v T) (D, error),
	idOf func(D) string,
) error {
	up, err := s.uploads()
	if err != nil {
		return err
	}
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	list, err := load(r.Context(), tenantFrom(r.Context()).ID, page.After, page.Limit)
	if err != nil {
		return err
	}
	items := make([]D, len(list))
	for i, v := range list {
		if items[i], err = out(r.Context(), up, v); err != nil {
			return err
		}
	}
	writeList(w, page, items, idOf)
	return nil
}
