// Package local runs the project's Lambda functions on one machine as AWS
// runs them: the real bootstrap binaries under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie), an HTTP gateway that speaks API
// Gateway's payload format 2.0, pollers that act as the SQS event source
// mappings, a ticker for the schedules, and an AWS emulator (kumo,
// in-process, or any endpoint such as LocalStack) provisioned from the SAM
// template.
//
// Everything comes from template.yaml through package samtpl: there is no
// second list of queues or functions. What it does not do: IAM, API Gateway
// throttling and authorizers, Lambda reserved concurrency, EventBridge cron
// expressions, and S3 to Lambda notifications (the template uses S3 to SQS).
// docs/local-platform.md explains each piece and the emulator quirks it works
// around.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// Platform is a running local stack. Close stops it.
type Platform struct {
	// APIURL is the gateway's base URL, e.g. http://127.0.0.1:8080.
	APIURL string
	// AWSEndpointURL is the AWS endpoint the functions use: the embedded
	// emulator or Config.AWSEndpointURL.
	AWSEndpointURL string
	// Resources are the provisioned queues and buckets.
	Resources *Resources
	// Template is the parsed template.
	Template *samtpl.Template
	// MetricsToken is the bearer token GET /metrics requires: the
	// MetricsToken parameter, or one made up for this run.
	MetricsToken string

	cfg    Config
	log    *slog.Logger
	aws    AWSClients
	apiL   net.Listener // until the gateway serves it
	emuL   net.Listener // until the emulator serves it
	emu    *emulator
	api    *http.Server
	pools  map[string]*pool
	cancel context.CancelFunc
	wg     sync.WaitGroup // pollers, tickers and their invocations

	closeOnce sync.Once
	done      chan struct{}
	errMu     sync.Mutex
	err       error
}

// Start checks everything it needs, then starts the platform: it applies
// the database migrations, starts or reaches the AWS emulator, provisions
// the template's resources, starts Config.Concurrency instances of every
// function and serves the API. Any failure stops what was started and
// returns an error whose text is one line saying what is wrong and how to
// fix it. The platform runs until Close is called or ctx ends.
func Start(ctx context.Context, cfg Config) (*Platform, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	tpl, err := samtpl.Load(cfg.TemplatePath)
	if err != nil {
		return nil, fmt.Errorf("template %s is not usable: %s", cfg.TemplatePath, oneLine(unwrapRead(err)))
	}
	p := &Platform{Template: tpl, cfg: cfg, log: cfg.Logger, pools: map[string]*pool{}, done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			p.stop()
		}
	}()
	if err := p.checkFunctions(); err != nil {
		return nil, err
	}
	rie, err := resolveRIE(ctx, cfg)
	if err != nil {
		return nil, err
	}

	if p.apiL, err = listen(cfg.APIAddr, "API", "API_ADDR"); err != nil {
		return nil, err
	}
	p.APIURL = "http://" + p.apiL.Addr().String()
	if cfg.AWSEndpointURL == "" {
		if p.emuL, err = listen(cfg.EmulatorAddr, "AWS emulator", "AWS_EMULATOR_ADDR"); err != nil {
			return nil, err
		}
	}
	params := p.parameters()
	if err := checkParameters(tpl, params); err != nil {
		return nil, err
	}
	if err := p.checkDependencies(ctx); err != nil {
		return nil, err
	}
	if err := migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}

	p.AWSEndpointURL = cfg.AWSEndpointURL
	if p.emuL != nil {
		p.emu = startEmulator(p.emuL, p.log)
		p.emuL = nil
		p.AWSEndpointURL = p.emu.url
	}
	p.aws = NewAWSClients(p.AWSEndpointURL, cfg.Region)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	p.Resources, err = Provision(pctx, tpl, p.aws, cfg.StackName, cfg.Region, params)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("provision %s on %s: %s", cfg.TemplatePath, p.AWSEndpointURL, oneLine(err))
	}
	if err := p.startFunctions(ctx, tpl, params, rie); err != nil {
		return nil, err
	}
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancelRun
	if err := p.startGateway(); err != nil {
		return nil, err
	}
	if err := p.startEventSources(runCtx, tpl); err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			p.fail(nil)
		case <-p.done:
		}
	}()
	ok = true
	p.log.Info("local platform started", "api", p.APIURL, "aws_endpoint", p.AWSEndpointURL, "stack", cfg.StackName)
	return p, nil
}

// migrate creates the database if needed and applies the migrations.
func migrate(ctx context.Context, databaseURL string) error {
	if err := postgres.EnsureDatabase(ctx, databaseURL); err != nil {
		return fmt.Errorf("create the database of DATABASE_URL: %s", oneLine(err))
	}
	if err := postgres.Migrate(ctx, databaseURL); err != nil {
		return fmt.Errorf("apply the database migrations: %s", oneLine(err))
	}
	return nil
}

func unwrapRead(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// checkFunctions checks that every function's binary exists.
func (p *Platform) checkFunctions() error {
	if len(p.Template.Functions) == 0 {
		return fmt.Errorf("template %s declares no function", p.cfg.TemplatePath)
	}
	for _, f := range p.Template.Functions {
		if err := checkBinary(p.bootstrap(f), f.LogicalID); err != nil {
			return err
		}
	}
	return nil
}

func (p *Platform) bootstrap(f samtpl.Function) string {
	return filepath.Join(absPath(p.cfg.BinDir), f.Folder, "bootstrap")
}

// resolveRIE finds aws-lambda-rie: Config.RIEPath, or the tool pinned in
// the module that holds the template.
func resolveRIE(ctx context.Context, cfg Config) (string, error) {
	if cfg.RIEPath != "" {
		if _, err := os.Stat(cfg.RIEPath); err != nil {
			return "", fmt.Errorf("aws-lambda-rie not found at %s", cfg.RIEPath)
		}
		return cfg.RIEPath, nil
	}
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "aws-lambda-rie")
	cmd.Dir = filepath.Dir(absPath(cfg.TemplatePath))
	out, err := cmd.Output()
	if err != nil {
		detail := oneLine(err)
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			detail = strings.Join(strings.Fields(string(ee.Stderr)), " ")
		}
		return "", fmt.Errorf("cannot find aws-lambda-rie with `go tool -n aws-lambda-rie` in %s (%s): run it from the repository, or check the tool line in go.mod", cmd.Dir, detail)
	}
	return strings.TrimSpace(string(out)), nil
}

func (p *Platform) checkDependencies(ctx context.Context) error {
	var pgErr, redisErr error
	var wg sync.WaitGroup
	wg.Go(func() { pgErr = checkPostgres(ctx, p.cfg.DatabaseURL) })
	wg.Go(func() { redisErr = checkRedis(ctx, p.cfg.RedisURL) })
	wg.Wait()
	if pgErr != nil {
		return pgErr
	}
	return redisErr
}

// parameters are Config.Parameters plus the ones the platform fills.
func (p *Platform) parameters() map[string]string {
	params := p.cfg.Parameters
	fill := map[string]string{
		ParamDatabaseURL:    p.cfg.DatabaseURL,
		ParamRedisURL:       p.cfg.RedisURL,
		ParamPublicBaseURL:  p.APIURL,
		ParamRedisKeyPrefix: p.cfg.StackName + ":",
		ParamMetricsToken:   newToken("met_"),
	}
	for name, v := range fill {
		if _, declared := p.Template.Parameter(name); !declared {
			continue
		}
		if _, set := params[name]; !set {
			params[name] = v
		}
	}
	p.MetricsToken = params[ParamMetricsToken]
	return params
}

// newToken is prefix and 32 random bytes in hex.
func newToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return prefix + hex.EncodeToString(b)
}

func checkParameters(tpl *samtpl.Template, params map[string]string) error {
	err := tpl.CheckParameters(params)
	if err == nil {
		return nil
	}
	var msgs []string
	for _, e := range unjoin(err) {
		var pe *samtpl.ParameterError
		if errors.As(e, &pe) {
			msgs = append(msgs, fmt.Sprintf("%v (set %s)", pe, samtpl.EnvName(pe.Name)))
			continue
		}
		msgs = append(msgs, e.Error())
	}
	return fmt.Errorf("template parameters: %s", strings.Join(msgs, "; "))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// startFunctions starts every function's instances.
func (p *Platform) startFunctions(ctx context.Context, tpl *samtpl.Template, params map[string]string, rie string) error {
	scope := p.Resources.Scope(tpl, params)
	type result struct {
		id   string
		pool *pool
		err  error
	}
	results := make(chan result, len(tpl.Functions))
	for _, f := range tpl.Functions {
		env, err := p.environment(tpl, f, scope)
		if err != nil {
			return fmt.Errorf("environment of %s: %s", f.LogicalID, oneLine(err))
		}
		fn := &function{
			logicalID: f.LogicalID,
			name:      p.Resources.FunctionName(f.LogicalID),
			bootstrap: p.bootstrap(f),
			timeout:   time.Duration(f.Timeout) * time.Second,
			env:       env,
			rie:       rie,
			grace:     p.cfg.StopGrace,
			log:       p.log.With("function", f.LogicalID),
		}
		go func() {
			pl, err := newPool(ctx, fn, p.cfg.Concurrency)
			results <- result{f.LogicalID, pl, err}
		}()
	}
	var errs []string
	for range tpl.Functions {
		r := <-results
		if r.err != nil {
			errs = append(errs, oneLine(r.err))
			continue
		}
		p.pools[r.id] = r.pool
	}
	if errs != nil {
		slices.Sort(errs)
		return fmt.Errorf("start functions: %s", strings.Join(errs, "; "))
	}
	return nil
}

// environment is a function's process environment: the template's
// variables (Globals, then the function's), Config.Environment over them,
// then what Lambda itself sets. Nothing is inherited from the runner but
// PATH, TMPDIR and locale, so a developer's AWS credentials never leak in.
func (p *Platform) environment(tpl *samtpl.Template, f samtpl.Function, scope samtpl.Scope) ([]string, error) {
	vars := map[string]string{}
	for name, v := range f.Environment {
		s, err := tpl.Eval(v, scope)
		if errors.Is(err, samtpl.ErrNoValue) {
			continue
		}
		if err != nil {
			return nil, err
		}
		vars[name] = s
	}
	for k, v := range p.cfg.Environment {
		vars[k] = v
	}
	lambda := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        p.Resources.FunctionName(f.LogicalID),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(f.Timeout),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + p.Resources.FunctionName(f.LogicalID),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      p.cfg.Region,
		"AWS_DEFAULT_REGION":              p.cfg.Region,
		"AWS_ACCESS_KEY_ID":               "test",
		"AWS_SECRET_ACCESS_KEY":           "test",
		"AWS_ENDPOINT_URL":                p.AWSEndpointURL,
		"AWS_CONFIG_FILE":                 os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":     os.DevNull,
		"LAMBDA_TASK_ROOT":                filepath.Dir(p.bootstrap(f)),
		"_HANDLER":                        f.Handler,
		"TZ":                              ":UTC",
	}
	for k, v := range lambda {
		if _, set := p.cfg.Environment[k]; !set || k == "AWS_LAMBDA_FUNCTION_NAME" {
			vars[k] = v
		}
	}
	for _, k := range []string{"PATH", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			if _, set := vars[k]; !set {
				vars[k] = v
			}
		}
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env, nil
}

// startGateway serves the API, routed to the function of the template's
// HttpApi event. A template without one serves no API.
func (p *Platform) startGateway() error {
	var target string
	for _, f := range p.Template.Functions {
		if len(f.HTTPEvents) > 0 {
			if target != "" {
				return fmt.Errorf("template: both %s and %s have HttpApi events; the local gateway routes $default to one function", target, f.LogicalID)
			}
			target = f.LogicalID
		}
	}
	l := p.apiL
	p.apiL = nil
	if target == "" {
		p.APIURL = ""
		return l.Close()
	}
	p.api = &http.Server{
		Handler:           withDashboard(p.cfg.DashboardDir, &gateway{function: target, invoke: p.pools[target].invoke, log: p.log, now: time.Now}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		if err := p.api.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.fail(fmt.Errorf("serve the API on %s: %w", l.Addr(), err))
		}
	}()
	return nil
}

// startEventSources starts a poller per SQS event and a ticker per schedule.
func (p *Platform) startEventSources(ctx context.Context, tpl *samtpl.Template) error {
	for _, f := range tpl.Functions {
		pl := p.pools[f.LogicalID]
		for _, ev := range f.SQSEvents {
			if !ev.Enabled {
				continue
			}
			q := p.Resources.Queues[ev.Queue]
			po := &poller{
				sqs:         p.aws.SQS,
				queueURL:    q.URL,
				queueARN:    q.ARN,
				region:      p.cfg.Region,
				function:    f.LogicalID,
				batchSize:   ev.BatchSize,
				window:      time.Duration(ev.MaximumBatchingWindowInSeconds) * time.Second,
				partial:     ev.ReportBatchItemFailures,
				wait:        p.cfg.PollWait,
				visibility:  p.cfg.VisibilityTimeout,
				concurrency: p.cfg.Concurrency,
				invoke:      pl.invoke,
				log:         p.log.With("function", f.LogicalID, "event", ev.Name),
			}
			p.wg.Go(func() { po.run(ctx) })
		}
		for _, s := range f.Schedules {
			if !s.Enabled || p.cfg.ScheduleInterval < 0 {
				continue
			}
			every, err := ParseRate(s.Expression)
			if err != nil {
				return fmt.Errorf("%s event %s: %v", f.LogicalID, s.Name, err)
			}
			if p.cfg.ScheduleInterval > 0 {
				every = p.cfg.ScheduleInterval
			}
			t := &ticker{
				function: f.LogicalID,
				rule:     fmt.Sprintf("arn:aws:events:%s:%s:rule/%s-%s", p.cfg.Region, p.Resources.AccountID, p.Resources.FunctionName(f.LogicalID), s.Name),
				region:   p.cfg.Region,
				account:  p.Resources.AccountID,
				every:    every,
				invoke:   pl.invoke,
				log:      p.log,
			}
			p.wg.Go(func() { t.run(ctx, &p.wg) })
		}
	}
	return nil
}

// Invoke invokes a function of the template by logical id with an event,
// as the Lambda Invoke API does, and returns its response payload. A
// function error is a *FunctionError; a timeout ErrFunctionTimeout.
func (p *Platform) Invoke(ctx context.Context, logicalID string, event []byte) ([]byte, error) {
	pl, ok := p.pools[logicalID]
	if !ok {
		return nil, fmt.Errorf("no function %s in %s", logicalID, p.cfg.TemplatePath)
	}
	return pl.invoke(ctx, event)
}

// Process returns how the platform runs a function of the template (by
// logical id): its bootstrap binary and its process environment, without
// AWS_LAMBDA_RUNTIME_API (which aws-lambda-rie adds). Benchmarks use it to
// time a function's start-up on its own.
func (p *Platform) Process(logicalID string) (bootstrap string, env []string, ok bool) {
	pl, ok := p.pools[logicalID]
	if !ok {
		return "", nil, false
	}
	return pl.fn.bootstrap, slices.Clone(pl.fn.env), true
}

// AWS returns SDK clients for the platform's AWS endpoint.
func (p *Platform) AWS() AWSClients { return p.aws }

// Done is closed once the platform has stopped: after Close, after ctx of
// Start ended, or after a fatal error (see Err).
func (p *Platform) Done() <-chan struct{} { return p.done }

// Err returns the fatal error that stopped the platform, if any.
func (p *Platform) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// Close stops the platform: the gateway stops accepting requests and
// finishes those in flight, pollers and tickers stop, every function
// process is stopped (SIGTERM, then SIGKILL after Config.StopGrace) and the
// emulator is shut down. Messages of unfinished batches stay in their
// queues. It is safe to call more than once; it returns Err.
func (p *Platform) Close() error {
	p.fail(nil)
	<-p.done
	return p.Err()
}

// fail stops the platform once, recording err.
func (p *Platform) fail(err error) {
	p.closeOnce.Do(func() {
		if err != nil {
			p.errMu.Lock()
			p.err = err
			p.errMu.Unlock()
			p.log.Error("local platform failed", "err", err)
		}
		go func() {
			p.stop()
		}()
	})
}

// stop tears down whatever has been started; it closes done.
func (p *Platform) stop() {
	defer close(p.done)
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.StopGrace+5*time.Second)
	defer cancel()
	for _, l := range []net.Listener{p.apiL, p.emuL} {
		if l != nil {
			l.Close()
		}
	}
	if p.api != nil {
		_ = p.api.Shutdown(ctx)
	}
	if p.cancel != nil {
		p.cancel()
	}
	var wg sync.WaitGroup
	for _, pl := range p.pools {
		wg.Go(pl.close)
	}
	wg.Wait()
	p.wg.Wait()
	if p.emu != nil {
		p.emu.close(ctx)
	}
}

// pids returns the processes of every function instance.
func (p *Platform) pids() []int {
	var out []int
	for _, pl := range p.pools {
		out = append(out, pl.pids()...)
	}
	return out
}

// KillFunction SIGKILLs the running processes of a function (not the
// aws-lambda-rie around them), as when Lambda's sandbox dies: an invocation
// running on a killed process fails (Runtime.ExitError) and its instance is
// replaced; an idle killed instance is replaced before its next invocation,
// as Lambda replaces a sandbox whose runtime died between invocations
// (without it, RIE fails that next invocation and its batch would wait out
// the queue's visibility timeout). It returns how many processes it
// killed. Fault tests and `make faults` use it.
func (p *Platform) KillFunction(logicalID string) (int, error) {
	pl, ok := p.pools[logicalID]
	if !ok {
		return 0, fmt.Errorf("no function %s", logicalID)
	}
	return pl.kill(), nil
}
