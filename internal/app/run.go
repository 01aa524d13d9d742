package app

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Start serves handler's invocations until the runtime stops the process,
// closing d on SIGTERM. Every invocation is one server span (when tracing
// is on) and ends by flushing spans and the fleet metrics, before Lambda
// freezes the process.
func Start(d *Deps, handler any) {
	lambda.StartWithOptions(wrap(d, handler), lambda.WithEnableSIGTERM(func() { _ = d.Close() }))
}

// wrap is handler as Start serves it, without the runtime API around it.
func wrap(d *Deps, handler any) lambda.Handler {
	return telemetry.Wrap(handler, telemetry.Invocations{
		Function: d.Config.FunctionName, Tracing: d.Tracing, Flush: d.Flusher.Due, Logger: d.Logger,
	})
}

// Must stops the process when err, a failure before serving, is not nil:
// one line on stderr and exit status 1, which Lambda reports as an init
// error.
func Must(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "init failed: %v\n", err)
		os.Exit(1)
	}
}
