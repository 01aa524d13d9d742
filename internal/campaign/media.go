package campaign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// MediaSender sends a campaign's media through an instance, with caption
// and our message id; failures sort as wuzapi's do.
type MediaSender interface {
	SendMedia(ctx context.Context, inst Instance, phone string, m Media, caption, id string) error
}

// MediaFiles hands the worker a media's file: a URL WuzAPI fetches itself
// (a presigned GET), or the bytes of the checked object for a data URL.
type MediaFiles interface {
	URL(ctx context.Context, key string) (string, error)
	// Read returns the object at key while its ETag is etag, at most max
	// bytes; ErrMediaGone when it is missing or was replaced.
	Read(ctx context.Context, key, etag string, max int64) ([]byte, error)
}

// ErrMediaGone means a media's file is no longer there as checked: the
// bucket's lifecycle rule deleted it, or it was replaced.
var ErrMediaGone = errors.New("the media file is gone (expired or replaced)")

// bigDataURL is the size above which a media sent as a data URL goes one
// send at a time: each send's JSON body holds the whole file in base64.
const bigDataURL = 5 << 20

// viaURL reports whether WuzAPI fetches the kind from an http(s) URL
// (images and videos); the other kinds travel as data URLs.
func viaURL(kind string) bool { return kind == media.KindImage || kind == media.KindVideo }

// sendsOneAtATime reports whether a campaign's media is large enough that
// its sends must not run in parallel (see bigDataURL).
func sendsOneAtATime(m *Media) bool {
	return m != nil && !viaURL(m.Kind) && m.Size > bigDataURL
}

// mediaFailure is a media problem no retry fixes: the recipient fails.
func mediaFailure(kind, text string) error {
	return &wuzapi.Error{Op: "send " + kind, Kind: wuzapi.KindRejected, Class: wuzapi.Permanent, Text: text}
}

// MediaMessenger sends media through each instance's WuzAPI: images and
// videos as presigned URLs, audio and documents as data URLs built once
// per file and kept for the next sends.
type MediaMessenger struct {
	HTTP  *http.Client
	Files MediaFiles

	mu       sync.Mutex
	cacheKey string // object key and ETag of cached
	cached   string
}

// SendMedia implements MediaSender.
func (s *MediaMessenger) SendMedia(ctx context.Context, inst Instance, phone string, m Media, caption, id string) error {
	if m.Status != media.StatusReady {
		return mediaFailure(m.Kind, "the media is "+m.Status+", not ready")
	}
	data, err := s.data(ctx, m)
	if errors.Is(err, ErrMediaGone) {
		return mediaFailure(m.Kind, err.Error())
	}
	if err != nil {
		return fmt.Errorf("media %s for %s: %w", m.ID, phone, err) // transient: retried
	}
	_, err = wuzapi.New(inst.BaseURL, inst.Token, s.HTTP).SendMedia(ctx, phone, wuzapi.Media{
		Kind: wuzapi.MediaKind(m.Kind), Data: data, Caption: caption, FileName: m.FileName, MimeType: m.ContentType,
	}, id)
	return err
}

// data is the file as WuzAPI takes it for its kind.
func (s *MediaMessenger) data(ctx context.Context, m Media) (string, error) {
	if viaURL(m.Kind) {
		return s.Files.URL(ctx, m.ObjectKey)
	}
	key := m.ObjectKey + "\x00" + m.ETag
	s.mu.Lock()
	defer s.mu.Unlock() // one read at a time: a second send waits for the first's file
	if s.cacheKey == key {
		return s.cached, nil
	}
	b, err := s.Files.Read(ctx, m.ObjectKey, m.ETag, media.MaxDocumentBytes)
	if err != nil {
		return "", err
	}
	s.cacheKey, s.cached = key, wuzapi.DataURL(wuzapi.MediaKind(m.Kind), m.ContentType, b)
	return s.cached, nil
}
