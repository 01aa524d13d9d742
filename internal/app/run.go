package app

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Run is a function's whole main: read the environment, open the shared
// clients, build the handler with build, and serve invocations until the
// runtime stops the process (closing the clients on SIGTERM). Every
// invocation is one server span (when tracing is on) and ends by flushing
// spans and the fleet metrics, before Lambda freezes the process. A failure
// before serving is one line on stderr and exit status 1, which Lambda
// reports as an init error.
func Run(build func(ctx context.Context, d *Deps) (any, error)) {
	ctx := context.Background()
	cfg, err := FromEnv()
	if err != nil {
		fail(err)
	}
	deps, err := Open(ctx, cfg)
	if err != nil {
		fail(err)
	}
	handler, err := build(ctx, deps)
	if err != nil {
		fail(err)
	}
	wrapped := telemetry.Wrap(handler, telemetry.Invocations{
		Function: cfg.FunctionName, Tracing: deps.Tracing, Flush: deps.Flusher.Flush, Logger: deps.Logger,
	})
	lambda.StartWithOptions(wrapped, lambda.WithEnableSIGTERM(func() { _ = deps.Close() }))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "init failed: %v\n", err)
	os.Exit(1)
}
