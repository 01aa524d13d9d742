package app

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// Run is a function's whole main: read the environment, open the shared
// clients, build the handler with build, and serve invocations until the
// runtime stops the process (closing the clients on SIGTERM). A failure
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
	lambda.StartWithOptions(handler, lambda.WithEnableSIGTERM(func() { _ = deps.Close() }))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "init failed: %v\n", err)
	os.Exit(1)
}
