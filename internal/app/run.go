package app

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/lambdaruntime"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Start serves handler's invocations until the runtime stops the process,
// closing d on SIGTERM. Every invocation is one server span (when tracing
// is on) and ends by flushing spans and the fleet metrics, before Lambda
// freezes the process.
func Start(d *Deps, handler any) {
	lambdaruntime.Start(wrap(d, handler), lambdaruntime.Options{
		API:       config.RuntimeAPI(),
		OnSIGTERM: func() { _ = d.Close() },
		Logger: func(doc []byte) {
			d.Logger.Error("invocation failed", "error", json.RawMessage(doc))
		},
	})
}

// wrap is handler as Start serves it, without the runtime API around it.
func wrap(d *Deps, handler any) lambdaruntime.Handler {
	return telemetry.Wrap(handler, telemetry.Invocations{
		Function: d.Config.FunctionName, Tracing: d.Tracing, Flush: d.Flusher.Due, Pending: d.Flusher.Pending, Logger: d.Logger,
	})
}

// Must stops the process when err, a failure before serving, is not nil:
// one line on stderr, the error reported to the Runtime API as the init
// error (Runtime.InitError; nothing outside Lambda), and exit status 1.
func Must(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "init failed: %v\n", err)
		if rerr := lambdaruntime.ReportInitError(config.RuntimeAPI(), "Runtime.InitError", err); rerr != nil {
			fmt.Fprintf(os.Stderr, "%v\n", rerr)
		}
		os.Exit(1)
	}
}
