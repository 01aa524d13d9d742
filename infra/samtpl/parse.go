package samtpl

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parse parses a template; name is used in error messages.
func Parse(name string, data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty template", name)
	}
	root := node{n: deref(doc.Content[0]), path: "template"}
	if !root.isMap() {
		return nil, root.errorf(name, "want a mapping at the top level, got %s", describe(root.n))
	}
	p := &parser{file: name, t: &Template{Name: name, resources: map[string]string{}, conditions: map[string]Value{}}}
	if err := p.parse(root); err != nil {
		return nil, err
	}
	return p.t, nil
}

type parser struct {
	file    string
	t       *Template
	globals node // Globals.Function, may be empty
}

func (p *parser) errorf(c node, format string, args ...any) error {
	return c.errorf(p.file, format, args...)
}

func (p *parser) parse(root node) error {
	res, ok := root.get("Resources")
	if !ok || !res.isMap() || len(res.pairs()) == 0 {
		return fmt.Errorf("%s: Resources: missing or empty; a template declares at least one resource", p.file)
	}
	for _, kv := range res.pairs() {
		typ, ok := kv.val.get("Type")
		s, lit := typ.literal()
		if !ok || !lit || s == "" {
			return p.errorf(kv.val, "resource has no Type")
		}
		p.t.resources[kv.key] = s
	}
	if params, ok := root.get("Parameters"); ok {
		if err := p.parameters(params); err != nil {
			return err
		}
	}
	if conds, ok := root.get("Conditions"); ok {
		for _, kv := range conds.pairs() {
			p.t.conditions[kv.key] = kv.val.value()
		}
	}
	if err := p.checkReferences(root); err != nil {
		return err
	}
	if g, ok := root.get("Globals"); ok {
		if f, ok := g.get("Function"); ok {
			p.globals = f
		}
	}
	for _, kv := range res.pairs() {
		var err error
		switch p.t.resources[kv.key] {
		case TypeFunction:
			err = p.function(kv.key, kv.val)
		case TypeHTTPAPI:
			p.t.HTTPAPIs = append(p.t.HTTPAPIs, kv.key)
		case TypeQueue:
			err = p.queue(kv.key, kv.val)
		case TypeBucket:
			err = p.bucket(kv.key, kv.val)
		case TypeAlarm:
			err = p.alarm(kv.key, kv.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) parameters(params node) error {
	for _, kv := range params.pairs() {
		prm := Parameter{Name: kv.key}
		var err error
		if prm.Type, err = p.str(kv.val, "Type", ""); err != nil {
			return err
		}
		if prm.Type == "" {
			return p.errorf(kv.val, "parameter has no Type")
		}
		if d, ok := kv.val.get("Default"); ok {
			s, lit := d.literal()
			if !lit {
				return p.errorf(d, "want a literal default, got %s", describe(d.n))
			}
			prm.Default, prm.HasDefault = s, true
		}
		if prm.NoEcho, err = p.boolean(kv.val, "NoEcho", false); err != nil {
			return err
		}
		if prm.MinLength, err = p.integer(kv.val, "MinLength", 0); err != nil {
			return err
		}
		if prm.Description, err = p.str(kv.val, "Description", ""); err != nil {
			return err
		}
		if prm.AllowedPattern, err = p.str(kv.val, "AllowedPattern", ""); err != nil {
			return err
		}
		if prm.AllowedPattern != "" {
			// CloudFormation matches the pattern against the whole value.
			if prm.pattern, err = regexp.Compile(`^(?:` + prm.AllowedPattern + `)$`); err != nil {
				ap, _ := kv.val.get("AllowedPattern")
				return p.errorf(ap, "AllowedPattern is not a regular expression: %v", err)
			}
		}
		if av, ok := kv.val.get("AllowedValues"); ok {
			for _, it := range av.items() {
				s, lit := it.literal()
				if !lit {
					return p.errorf(it, "want a literal, got %s", describe(it.n))
				}
				prm.AllowedValues = append(prm.AllowedValues, s)
			}
		}
		p.t.Parameters = append(p.t.Parameters, prm)
	}
	return nil
}

// prop looks a function property up on the function, then on Globals.
func (p *parser) prop(props node, key string) (node, bool) {
	if v, ok := props.get(key); ok {
		return v, true
	}
	return p.globals.get(key)
}

func (p *parser) function(id string, res node) error {
	f := Function{LogicalID: id, Environment: map[string]Value{}}
	folder, ok := FolderOf(id)
	if !ok {
		return p.errorf(res, "function logical id must end in \"Function\": the runner maps XyzFunction to functions/xyz")
	}
	f.Folder = folder
	props, _ := res.get("Properties")
	if md, ok := res.get("Metadata"); ok {
		var err error
		if f.BuildMethod, err = p.str(md, "BuildMethod", ""); err != nil {
			return err
		}
	}
	var err error
	for _, s := range []struct {
		key string
		dst *string
	}{{"CodeUri", &f.CodeURI}, {"Runtime", &f.Runtime}, {"Handler", &f.Handler}} {
		if v, ok := p.prop(props, s.key); ok {
			lit, isLit := v.literal()
			if !isLit {
				return p.errorf(v, "want a literal, got %s", describe(v.n))
			}
			*s.dst = lit
		}
	}
	if v, ok := p.prop(props, "Architectures"); ok {
		for _, it := range v.items() {
			s, lit := it.literal()
			if !lit {
				return p.errorf(it, "want a literal, got %s", describe(it.n))
			}
			f.Architectures = append(f.Architectures, s)
		}
	}
	if f.Timeout, err = p.propInt(props, "Timeout", 3); err != nil {
		return err
	}
	if f.MemorySize, err = p.propInt(props, "MemorySize", 128); err != nil {
		return err
	}
	if f.ReservedConcurrency, err = p.propInt(props, "ReservedConcurrentExecutions", 0); err != nil {
		return err
	}
	for _, src := range []node{p.globals, props} {
		vars, ok := src.get("Environment")
		if !ok {
			continue
		}
		vars, ok = vars.get("Variables")
		if !ok {
			continue
		}
		if !vars.isMap() {
			return p.errorf(vars, "want a mapping of variables, got %s", describe(vars.n))
		}
		for _, kv := range vars.pairs() {
			f.Environment[kv.key] = kv.val.value()
		}
	}
	if events, ok := props.get("Events"); ok {
		for _, kv := range events.pairs() {
			if err := p.event(&f, kv.key, kv.val); err != nil {
				return err
			}
		}
	}
	p.t.Functions = append(p.t.Functions, f)
	return nil
}

// event reads one entry of a function's Events by its Type; types the
// platform does not run are ignored.
func (p *parser) event(f *Function, name string, ev node) error {
	typ, err := p.str(ev, "Type", "")
	if err != nil {
		return err
	}
	props, _ := ev.get("Properties")
	switch typ {
	case "SQS":
		e, err := p.sqsEvent(name, ev, props)
		if err != nil {
			return err
		}
		f.SQSEvents = append(f.SQSEvents, e)
	case "Schedule", "ScheduleV2":
		s, err := p.schedule(name, typ, ev, props)
		if err != nil {
			return err
		}
		f.Schedules = append(f.Schedules, s)
	case "HttpApi":
		h, err := p.httpEvent(name, props)
		if err != nil {
			return err
		}
		f.HTTPEvents = append(f.HTTPEvents, h)
	case "":
		return p.errorf(ev, "event has no Type")
	}
	return nil
}

// sqsEvent reads an SQS event source mapping, with Lambda's bounds on its
// batch size and batching window.
func (p *parser) sqsEvent(name string, ev, props node) (SQSEvent, error) {
	e := SQSEvent{Name: name}
	q, ok := props.get("Queue")
	if !ok {
		return e, p.errorf(ev, "SQS event has no Queue")
	}
	var err error
	if e.Queue, err = p.queueTarget(q, "Arn"); err != nil {
		return e, err
	}
	if e.BatchSize, err = p.integer(props, "BatchSize", 10); err != nil {
		return e, err
	}
	if e.BatchSize < 1 || e.BatchSize > 10000 {
		return e, p.errorf(props, "BatchSize %d: want 1 to 10000", e.BatchSize)
	}
	if e.MaximumBatchingWindowInSeconds, err = p.integer(props, "MaximumBatchingWindowInSeconds", 0); err != nil {
		return e, err
	}
	if e.MaximumBatchingWindowInSeconds < 0 || e.MaximumBatchingWindowInSeconds > 300 {
		return e, p.errorf(props, "MaximumBatchingWindowInSeconds %d: want 0 to 300", e.MaximumBatchingWindowInSeconds)
	}
	if e.BatchSize > 10 && e.MaximumBatchingWindowInSeconds == 0 {
		return e, p.errorf(props, "BatchSize %d over 10 needs MaximumBatchingWindowInSeconds of at least 1", e.BatchSize)
	}
	if rt, ok := props.get("FunctionResponseTypes"); ok {
		for _, it := range rt.items() {
			if s, _ := it.literal(); s == "ReportBatchItemFailures" {
				e.ReportBatchItemFailures = true
			}
		}
	}
	if e.Enabled, err = p.boolean(props, "Enabled", true); err != nil {
		return e, err
	}
	if sc, ok := props.get("ScalingConfig"); ok {
		if e.MaximumConcurrency, err = p.integer(sc, "MaximumConcurrency", 0); err != nil {
			return e, err
		}
	}
	return e, nil
}

// schedule reads a Schedule (Schedule) or ScheduleV2 (ScheduleExpression,
// State) event.
func (p *parser) schedule(name, typ string, ev, props node) (Schedule, error) {
	key := "Schedule"
	if typ == "ScheduleV2" {
		key = "ScheduleExpression"
	}
	s := Schedule{Name: name}
	var err error
	if s.Expression, err = p.str(props, key, ""); err != nil {
		return s, err
	}
	if s.Expression == "" {
		return s, p.errorf(ev, "%s event has no %s", typ, key)
	}
	def := true
	if st, ok := props.get("State"); ok {
		v, _ := st.literal()
		def = v != "DISABLED"
	}
	if s.Enabled, err = p.boolean(props, "Enabled", def); err != nil {
		return s, err
	}
	return s, nil
}

// httpEvent reads an HttpApi event: its API (a !Ref of an HTTP API in the
// template), path, method and payload format.
func (p *parser) httpEvent(name string, props node) (HTTPEvent, error) {
	h := HTTPEvent{Name: name, PayloadFormatVersion: "2.0"}
	if api, ok := props.get("ApiId"); ok {
		id, _, ok := api.value().Target()
		if !ok || p.t.resources[id] != TypeHTTPAPI {
			return h, p.errorf(api, "want !Ref of an %s, got %s", TypeHTTPAPI, describe(api.n))
		}
		h.API = id
	}
	var err error
	if h.Path, err = p.str(props, "Path", ""); err != nil {
		return h, err
	}
	if h.Method, err = p.str(props, "Method", ""); err != nil {
		return h, err
	}
	if h.PayloadFormatVersion, err = p.str(props, "PayloadFormatVersion", "2.0"); err != nil {
		return h, err
	}
	return h, nil
}

// queueTarget resolves a !GetAtt Queue.<attr> or !Ref Queue to the queue's
// logical id.
func (p *parser) queueTarget(c node, attr string) (string, error) {
	id, a, ok := c.value().Target()
	if !ok || p.t.resources[id] != TypeQueue || (a != "" && a != attr) {
		return "", p.errorf(c, "want !GetAtt <Queue>.%s of an %s, got %s", attr, TypeQueue, describe(c.n))
	}
	return id, nil
}

func (p *parser) queue(id string, res node) error {
	q := Queue{LogicalID: id}
	props, _ := res.get("Properties")
	if v, ok := props.get("QueueName"); ok {
		q.QueueName = v.value()
	}
	var err error
	for _, f := range []struct {
		key string
		def int
		dst *int
	}{
		{"VisibilityTimeout", 30, &q.VisibilityTimeout},
		{"MessageRetentionPeriod", 0, &q.MessageRetentionPeriod},
		{"DelaySeconds", 0, &q.DelaySeconds},
		{"ReceiveMessageWaitTimeSeconds", 0, &q.ReceiveMessageWaitTimeSeconds},
	} {
		if *f.dst, err = p.integer(props, f.key, f.def); err != nil {
			return err
		}
	}
	if rp, ok := props.get("RedrivePolicy"); ok {
		tgt, ok := rp.get("deadLetterTargetArn")
		if !ok {
			return p.errorf(rp, "RedrivePolicy has no deadLetterTargetArn")
		}
		r := &Redrive{}
		if r.Queue, err = p.queueTarget(tgt, "Arn"); err != nil {
			return err
		}
		if r.MaxReceiveCount, err = p.integer(rp, "maxReceiveCount", 0); err != nil {
			return err
		}
		if r.MaxReceiveCount < 1 {
			return p.errorf(rp, "RedrivePolicy has no maxReceiveCount of at least 1")
		}
		q.DeadLetter = r
	}
	p.t.Queues = append(p.t.Queues, q)
	return nil
}

// expirations reads the lifecycle rules that expire objects by prefix.
func (p *parser) expirations(b *Bucket, props node) error {
	lc, _ := props.get("LifecycleConfiguration")
	rules, _ := lc.get("Rules")
	for _, r := range rules.items() {
		days, err := p.integer(r, "ExpirationInDays", 0)
		if err != nil || days == 0 {
			continue // not an expiration rule (or not a literal): nothing to record
		}
		e := Expiration{Days: days}
		if e.ID, err = p.str(r, "Id", ""); err != nil {
			return err
		}
		if e.Prefix, err = p.str(r, "Prefix", ""); err != nil {
			return err
		}
		b.Expirations = append(b.Expirations, e)
	}
	return nil
}

func (p *parser) bucket(id string, res node) error {
	b := Bucket{LogicalID: id}
	props, _ := res.get("Properties")
	if v, ok := props.get("BucketName"); ok {
		b.BucketName = v.value()
	}
	if err := p.expirations(&b, props); err != nil {
		return err
	}
	if nc, ok := props.get("NotificationConfiguration"); ok {
		qcs, _ := nc.get("QueueConfigurations")
		for _, qc := range qcs.items() {
			n := QueueNotification{}
			var err error
			if n.Event, err = p.str(qc, "Event", ""); err != nil {
				return err
			}
			if n.Event == "" {
				return p.errorf(qc, "queue configuration has no Event")
			}
			qn, ok := qc.get("Queue")
			if !ok {
				return p.errorf(qc, "queue configuration has no Queue")
			}
			if n.Queue, err = p.queueTarget(qn, "Arn"); err != nil {
				return err
			}
			filter, _ := qc.get("Filter")
			key, _ := filter.get("S3Key")
			rules, _ := key.get("Rules")
			for _, r := range rules.items() {
				name, err := p.str(r, "Name", "")
				if err != nil {
					return err
				}
				val, err := p.str(r, "Value", "")
				if err != nil {
					return err
				}
				switch strings.ToLower(name) {
				case "prefix":
					n.Prefix = val
				case "suffix":
					n.Suffix = val
				default:
					return p.errorf(r, "filter rule %q: want prefix or suffix", name)
				}
			}
			b.Notifications = append(b.Notifications, n)
		}
	}
	p.t.Buckets = append(p.t.Buckets, b)
	return nil
}

func (p *parser) alarm(id string, res node) error {
	a := Alarm{LogicalID: id}
	props, _ := res.get("Properties")
	var err error
	for _, s := range []struct {
		key string
		dst *string
	}{{"Namespace", &a.Namespace}, {"MetricName", &a.MetricName}, {"Statistic", &a.Statistic}, {"ComparisonOperator", &a.ComparisonOperator}} {
		if *s.dst, err = p.str(props, s.key, ""); err != nil {
			return err
		}
	}
	if a.Period, err = p.integer(props, "Period", 0); err != nil {
		return err
	}
	if a.EvaluationPeriods, err = p.integer(props, "EvaluationPeriods", 0); err != nil {
		return err
	}
	if th, ok := props.get("Threshold"); ok {
		s, _ := th.literal()
		if a.Threshold, err = strconv.ParseFloat(s, 64); err != nil {
			return p.errorf(th, "want a number, got %s", describe(th.n))
		}
	}
	dims, _ := props.get("Dimensions")
	for _, d := range dims.items() {
		if name, _ := p.str(d, "Name", ""); name != "QueueName" {
			continue
		}
		v, _ := d.get("Value")
		if a.Queue, err = p.queueTarget(v, "QueueName"); err != nil {
			return err
		}
	}
	p.t.Alarms = append(p.t.Alarms, a)
	return nil
}

// str reads an optional literal string property.
func (p *parser) str(c node, key, def string) (string, error) {
	v, ok := c.get(key)
	if !ok {
		return def, nil
	}
	s, lit := v.literal()
	if !lit || v.n.Kind != yaml.ScalarNode {
		return "", p.errorf(v, "want a literal string, got %s", describe(v.n))
	}
	return s, nil
}

func (p *parser) integer(c node, key string, def int) (int, error) {
	v, ok := c.get(key)
	if !ok {
		return def, nil
	}
	return p.intOf(v)
}

func (p *parser) propInt(props node, key string, def int) (int, error) {
	v, ok := p.prop(props, key)
	if !ok {
		return def, nil
	}
	return p.intOf(v)
}

func (p *parser) intOf(v node) (int, error) {
	s, lit := v.literal()
	n, err := strconv.Atoi(s)
	if !lit || err != nil {
		return 0, p.errorf(v, "want an integer literal, got %s", describe(v.n))
	}
	return n, nil
}

func (p *parser) boolean(c node, key string, def bool) (bool, error) {
	v, ok := c.get(key)
	if !ok {
		return def, nil
	}
	s, lit := v.literal()
	b, err := strconv.ParseBool(s)
	if !lit || err != nil {
		return false, p.errorf(v, "want true or false, got %s", describe(v.n))
	}
	return b, nil
}

// pseudoParameters are the AWS:: names a Ref or ${} may use.
var pseudoParameters = []string{
	"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
	"AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}

// supported lists the intrinsic functions Eval understands.
var supported = []string{
	"Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::If",
	"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or",
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// checkReferences walks the whole template: every intrinsic must be
// supported and every name it uses declared.
func (p *parser) checkReferences(root node) error {
	for _, section := range []string{"Conditions", "Globals", "Resources", "Outputs"} {
		if s, ok := root.get(section); ok {
			if err := p.walkReferences(s, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkReferences checks c and everything under it; locals are the names
// an enclosing Fn::Sub declares.
func (p *parser) walkReferences(c node, locals map[string]bool) error {
	if c.n == nil {
		return nil
	}
	if name, arg, ok := intrinsic(c.n); ok {
		return p.checkIntrinsic(c, name, arg, locals)
	}
	switch c.n.Kind {
	case yaml.MappingNode:
		for _, kv := range c.pairs() {
			if kv.key == "DependsOn" && c.path != "template.Resources" {
				if err := p.checkDependsOn(kv.val); err != nil {
					return err
				}
				continue
			}
			if err := p.walkReferences(kv.val, locals); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, it := range c.items() {
			if err := p.walkReferences(it, locals); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkIntrinsic checks the intrinsic function c (name, its argument arg)
// and what it holds.
func (p *parser) checkIntrinsic(c node, name string, arg *yaml.Node, locals map[string]bool) error {
	if !slices.Contains(supported, name) {
		return p.errorf(c, "unsupported intrinsic function %s (supported: %s)", name, strings.Join(supported, ", "))
	}
	argc := node{n: arg, path: c.path}
	switch name {
	case "Ref":
		if arg.Kind != yaml.ScalarNode {
			return p.errorf(c, "Ref: want a name, got %s", describe(arg))
		}
		if !p.declared(arg.Value, locals) {
			return p.errorf(c, "Ref %s: no such parameter or resource", arg.Value)
		}
		return nil
	case "Condition":
		if _, ok := p.t.conditions[arg.Value]; !ok {
			return p.errorf(c, "condition %s is not declared under Conditions", arg.Value)
		}
		return nil
	case "Fn::GetAtt":
		id, _, err := getAttArgs(arg)
		if err != nil {
			return p.errorf(c, "%v", err)
		}
		if _, ok := p.t.resources[id]; !ok {
			return p.errorf(c, "Fn::GetAtt %s: no such resource", id)
		}
		return nil
	case "Fn::If":
		items := argc.items()
		if len(items) != 3 {
			return p.errorf(c, "Fn::If: want [condition, value if true, value if false]")
		}
		cond, _ := items[0].literal()
		if _, ok := p.t.conditions[cond]; !ok {
			return p.errorf(c, "Fn::If: condition %q is not declared under Conditions", cond)
		}
		if err := p.walkReferences(items[1], locals); err != nil {
			return err
		}
		return p.walkReferences(items[2], locals)
	case "Fn::Sub":
		return p.checkSub(argc, locals, p.walkReferences)
	}
	return p.walkReferences(argc, locals)
}

// checkDependsOn checks that a resource's DependsOn (one name or a list)
// names resources of the template.
func (p *parser) checkDependsOn(v node) error {
	deps := v.items()
	if v.n.Kind == yaml.ScalarNode {
		deps = []node{v}
	}
	for _, d := range deps {
		if _, ok := p.t.resources[d.n.Value]; !ok {
			return p.errorf(d, "DependsOn %s: no such resource", d.n.Value)
		}
	}
	return nil
}

func (p *parser) checkSub(c node, locals map[string]bool, walk func(node, map[string]bool) error) error {
	str := c
	if c.n.Kind == yaml.SequenceNode {
		items := c.items()
		if len(items) != 2 || !items[1].isMap() {
			return p.errorf(c, "Fn::Sub: want a string or [string, {Var: value}]")
		}
		str = items[0]
		locals = map[string]bool{}
		for _, kv := range items[1].pairs() {
			if err := walk(kv.val, nil); err != nil {
				return err
			}
			locals[kv.key] = true
		}
	}
	s, lit := str.literal()
	if !lit {
		return p.errorf(c, "Fn::Sub: want a literal string, got %s", describe(str.n))
	}
	for _, m := range subVar.FindAllStringSubmatch(s, -1) {
		id, _, isAttr := strings.Cut(m[1], ".")
		if isAttr {
			if _, ok := p.t.resources[id]; !ok {
				return p.errorf(c, "Fn::Sub ${%s}: no such resource", m[1])
			}
			continue
		}
		if !p.declared(m[1], locals) {
			return p.errorf(c, "Fn::Sub ${%s}: no such parameter, resource or variable", m[1])
		}
	}
	return nil
}

func (p *parser) declared(name string, locals map[string]bool) bool {
	if locals[name] || slices.Contains(pseudoParameters, name) {
		return true
	}
	if _, ok := p.t.resources[name]; ok {
		return true
	}
	_, ok := p.t.Parameter(name)
	return ok
}
