// Command provision creates on an AWS endpoint (LocalStack, kumo, ...) the
// queues, dead-letter redrives, buckets and bucket notifications that
// template.yaml declares, by the same code the local platform runs at start
// (local.Provision). It is idempotent. LocalStack's init hook runs it:
//
//	AWS_ENDPOINT_URL=http://localhost:4566 go run ./infra/local/cmd/provision
//
// It prints the physical names and URLs, one resource a line, and on
// failure one line and exit status 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "provision: "+strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	tplPath := fs.String("template", local.DefaultTemplatePath, "SAM template to provision")
	stack := fs.String("stack", firstNonEmpty(getenv("STACK_NAME"), local.DefaultStackName), "stack name that prefixes physical names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	endpoint := getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		return fmt.Errorf("AWS_ENDPOINT_URL is not set: point it at the emulator, e.g. http://localhost:4566")
	}
	region := firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), local.DefaultRegion)
	tpl, err := samtpl.Load(*tplPath)
	if err != nil {
		return fmt.Errorf("template %s is not usable: %w", *tplPath, err)
	}
	// Names may use parameters; take each from its environment twin.
	params := map[string]string{}
	for _, p := range tpl.Parameters {
		if v := getenv(samtpl.EnvName(p.Name)); v != "" {
			params[p.Name] = v
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := local.Provision(ctx, tpl, local.NewAWSClients(endpoint, region), *stack, region, params)
	if err != nil {
		return fmt.Errorf("provision %s on %s: %w", *tplPath, endpoint, err)
	}
	var lines []string
	for id, q := range r.Queues {
		lines = append(lines, fmt.Sprintf("queue  %-16s %s", id, q.URL))
	}
	for id, b := range r.Buckets {
		lines = append(lines, fmt.Sprintf("bucket %-16s %s", id, b.Name))
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
