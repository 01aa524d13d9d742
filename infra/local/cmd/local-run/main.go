// Command local-run is `make run`: it starts the local platform (package
// infra/local) with settings from the environment and flags, prints where
// the API is, and runs until Ctrl-C or SIGTERM.
//
// Every template parameter can be set through its environment variable
// twin (DatabaseUrl from DATABASE_URL, ...). A failure prints one line and
// exits with status 1.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

// localDefaults are the local values of settings whose template default is
// meant for AWS, or that have none.
var localDefaults = map[string]string{
	"DATABASE_URL":           "postgres://postgres@127.0.0.1:5432/wuzapi_manager?sslmode=disable",
	"REDIS_URL":              "redis://127.0.0.1:6379/0",
	"API_ADDR":               local.DefaultAPIAddr,
	"ALLOW_PRIVATE_WUZAPI":   "true",
	"DEPLOYMENT_ENVIRONMENT": "local",
}

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "local-run: "+strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, generatedKey, err := configure(f, getenv, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := local.Start(ctx, cfg)
	if err != nil {
		return err
	}
	printRunning(stdout, p, f.web != "", generatedKey, getenv("METRICS_TOKEN") != "")
	<-p.Done()
	stop()
	err = p.Close()
	fmt.Fprintln(stdout, "stopped")
	return err
}

// flags are local-run's command line.
type flags struct {
	bin      string // directory holding <function>/bootstrap
	template string // the SAM template
	web      string // the dashboard build; empty: API only
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("local-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.bin, "bin", ".build/local", "directory holding <function>/bootstrap host binaries")
	fs.StringVar(&f.template, "template", local.DefaultTemplatePath, "SAM template to run")
	fs.StringVar(&f.web, "web", "", "dashboard build (web/dist) to serve beside the API; empty: API only")
	return f, fs.Parse(args)
}

// configure builds the platform's configuration from the flags and the
// environment (localDefaults filling what it leaves empty). generatedKey is
// the admin key made up for this run when ADMIN_API_KEY is unset.
func configure(f flags, getenv func(string) string, stderr io.Writer) (cfg local.Config, generatedKey string, err error) {
	env := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return localDefaults[name]
	}
	level := slog.LevelInfo
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return cfg, "", fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", v)
		}
	}
	tpl, err := samtpl.Load(f.template)
	if err != nil {
		return cfg, "", fmt.Errorf("template %s is not usable: %w", f.template, err)
	}
	params, generatedKey, err := parameters(tpl, env)
	if err != nil {
		return cfg, "", err
	}
	if getenv("PUBLIC_BASE_URL") == "" {
		delete(params, local.ParamPublicBaseURL) // the platform fills in its API URL
	}
	concurrency := local.DefaultConcurrency
	if v := getenv("FUNCTION_CONCURRENCY"); v != "" {
		if concurrency, err = strconv.Atoi(v); err != nil || concurrency < 1 {
			return cfg, "", fmt.Errorf("FUNCTION_CONCURRENCY %q: want a whole number of at least 1", v)
		}
	}
	return local.Config{
		TemplatePath:   f.template,
		BinDir:         f.bin,
		StackName:      env("STACK_NAME"),
		DatabaseURL:    env("DATABASE_URL"),
		RedisURL:       env("REDIS_URL"),
		APIAddr:        env("API_ADDR"),
		AWSEndpointURL: getenv("AWS_ENDPOINT_URL"),
		EmulatorAddr:   getenv("AWS_EMULATOR_ADDR"),
		Region:         getenv("AWS_REGION"),
		Concurrency:    concurrency,
		Parameters:     params,
		Logger:         slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		DashboardDir:   f.web,
	}, generatedKey, nil
}

// parameters are the template parameters set in the environment, each from
// its twin variable; AdminApiKey, when unset, is generated (generatedKey).
func parameters(tpl *samtpl.Template, env func(string) string) (params map[string]string, generatedKey string, err error) {
	params = map[string]string{}
	for _, p := range tpl.Parameters {
		v := env(samtpl.EnvName(p.Name))
		if v == "" && p.Name == "AdminApiKey" {
			if generatedKey, err = newKey(); err != nil {
				return nil, "", err
			}
			v = generatedKey
		}
		if v != "" {
			params[p.Name] = v
		}
	}
	return params, generatedKey, nil
}

// printRunning tells the user where the platform is.
func printRunning(stdout io.Writer, p *local.Platform, dashboard bool, generatedKey string, metricsTokenSet bool) {
	fmt.Fprintf(stdout, "\nwuzapi-manager is running\n  API:           %s  (try: curl %s/health)\n  AWS endpoint:  %s  (aws --endpoint-url %s sqs list-queues)\n", p.APIURL, p.APIURL, p.AWSEndpointURL, p.AWSEndpointURL)
	if dashboard {
		fmt.Fprintf(stdout, "  Dashboard:     %s/\n", p.APIURL)
	}
	if generatedKey != "" {
		fmt.Fprintf(stdout, "  ADMIN_API_KEY: %s  (generated for this run; set ADMIN_API_KEY to keep one)\n", generatedKey)
	}
	fmt.Fprintf(stdout, "  Metrics:       curl -H 'Authorization: Bearer %s' %s/metrics\n", p.MetricsToken, p.APIURL)
	if !metricsTokenSet {
		fmt.Fprintln(stdout, "  METRICS_TOKEN: the token above was generated for this run; set METRICS_TOKEN to keep one")
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
}

// newKey returns a random admin key: 32 bytes, hex.
func newKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate ADMIN_API_KEY: %w", err)
	}
	return "adm_" + hex.EncodeToString(b), nil
}
