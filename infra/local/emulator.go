package local

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sivchari/kumo"
)

// emulator is the embedded AWS emulator (kumo, in-process) exposed on a
// fixed address through a reverse proxy: kumo's own server listens on a
// random port, while the functions, the aws CLI and S3's callbacks want one
// known address.
type emulator struct {
	server *http.Server
	url    string
	done   chan struct{}
}

// processKumo is the one kumo server of this process. kumo keeps its state
// in package globals (two servers share it anyway) and its constructor writes
// them without a lock, so platforms started at once in one process (parallel
// tests) share one server, started on first use and kept until exit.
var processKumo = sync.OnceValue(kumo.NewServer)

// startEmulator serves kumo on l.
func startEmulator(l net.Listener, log *slog.Logger) *emulator {
	k := processKumo()
	target := &url.URL{Scheme: "http", Host: strings.TrimPrefix(k.URL, "http://")}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() == nil { // a canceled long poll is no error
			log.Warn("AWS emulator proxy", "path", r.URL.Path, "err", err)
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	e := &emulator{
		server: &http.Server{Handler: withBucketCORS(proxy), ReadHeaderTimeout: 10 * time.Second},
		url:    "http://" + l.Addr().String(),
		done:   make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		if err := e.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve the AWS emulator", "addr", l.Addr().String(), "err", err)
		}
	}()
	return e
}

func (e *emulator) close(ctx context.Context) {
	_ = e.server.Shutdown(ctx)
	<-e.done
}
