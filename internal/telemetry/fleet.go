package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
)

// Fleet-wide metrics.
//
// Lambda instances are many and short-lived, so no instance's registry
// holds the fleet's totals. Instead every invocation ends with one Redis
// pipeline (Flusher.Flush) that adds the counter and histogram deltas since
// the instance's previous flush to one hash per metric (HINCRBYFLOAT), and
// GET /metrics renders those hashes (Fleet.Registry) with the names, labels
// and buckets of metrics.go. Gauges are not summed: their one writer (the
// scheduler) sets them with SetGauges, stamped, and a value older than
// GaugeTTL is left out. The same pipeline adds the HTTP request, 5xx and
// latency-bucket deltas to a per-minute window hash, and the instance's
// peak memory to a per-minute sorted set, which the alerts read
// (Fleet.Window).
//
// Limits: a flush that fails (Redis down) keeps its deltas for the next
// one, so counts are late, not lost, unless the instance dies first. Label
// sets are never deleted; tenant_id makes http_requests_total grow with the
// number of tenants, a deliberate choice.

// DefaultPrefix starts every Redis key of the fleet metrics.
const DefaultPrefix = "wm:metrics:"

// GaugeTTL is how long a gauge value set by SetGauges stays visible.
const GaugeTTL = 10 * time.Minute

// windowTTL keeps per-minute windows a little longer than any alert reads.
const windowTTL = 15 * time.Minute

func familyNamed(name string) (family, bool) {
	for _, f := range families {
		if f.name == name {
			return f, true
		}
	}
	return family{}, false
}

// Fleet is the Redis store of the whole fleet's metrics.
type Fleet struct {
	Redis  redis.UniversalClient
	Prefix string           // DefaultPrefix when empty
	Now    func() time.Time // time.Now when nil
}

func (f *Fleet) key(parts ...string) string {
	p := f.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return p + strings.Join(parts, ":")
}

func (f *Fleet) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fleet) windowKey(minute time.Time) string {
	return f.key("window", strconv.FormatInt(minute.Unix(), 10))
}

func (f *Fleet) memoryKey(minute time.Time) string {
	return f.key("memory", strconv.FormatInt(minute.Unix(), 10))
}

// labelsField encodes label values as a hash field: a JSON array, so any
// value (quotes, separators) survives.
func labelsField(values []string) string {
	b, _ := json.Marshal(values) // strings always marshal
	return string(b)
}

// Flusher moves one instance's metric deltas into the fleet store.
type Flusher struct {
	fleet    *Fleet
	metrics  *Metrics
	function string
	// memory reports the instance's peak memory as a fraction of its
	// limit; nil or ok=false: not reported.
	memory func() (ratio float64, ok bool)

	mu   sync.Mutex
	last map[string]float64 // hash key + "\x00" + field → value at the last flush
	// Interval, when positive, is the least time between two flushes that
	// Due lets through; the deltas wait in the registry meanwhile.
	Interval time.Duration
	flushed  time.Time // the last successful flush
}

// Due is Flush at most once per Interval: the end-of-invocation flush.
// With Interval 0 every call flushes. Counts are then up to Interval late
// in the fleet's totals and land in the minute they are flushed in; Close
// flushes whatever is left (Flush).
func (fl *Flusher) Due(ctx context.Context) error {
	if !fl.Pending() {
		return nil
	}
	return fl.Flush(ctx)
}

// Pending reports whether Due would flush now: always with Interval 0, else
// before the first successful flush and once Interval has passed since the
// last.
func (fl *Flusher) Pending() bool {
	if fl.Interval <= 0 {
		return true
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.flushed.IsZero() || fl.fleet.now().Sub(fl.flushed) >= fl.Interval
}

// NewFlusher returns a Flusher of m for the named function. memory, when
// set, reports the peak memory ratio (MemoryRatio does so on Lambda).
func (f *Fleet) NewFlusher(m *Metrics, function string, memory func() (float64, bool)) *Flusher {
	return &Flusher{fleet: f, metrics: m, function: function, memory: memory, last: map[string]float64{}}
}

// incr is one HINCRBYFLOAT of a flush.
type incr struct {
	key, field string
	delta      float64
	cur        float64
}

// Flush adds what the instance counted since its previous successful flush
// to the fleet's totals and the current minute's window, in one pipeline.
// Nothing counted and no memory to report: no round trip.
func (fl *Flusher) Flush(ctx context.Context) error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	mfs, err := fl.metrics.Registry.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	d := deltas{last: fl.last, window: map[string]float64{}}
	for _, mf := range mfs {
		d.family(fl.fleet, mf)
	}
	ratio, hasMemory := 0.0, false
	if fl.memory != nil {
		ratio, hasMemory = fl.memory()
	}
	if len(d.incrs) == 0 && !hasMemory {
		return nil
	}
	if err := fl.write(ctx, d, ratio, hasMemory); err != nil {
		return err
	}
	for _, in := range d.incrs {
		fl.last[in.key+"\x00"+in.field] = in.cur
	}
	fl.flushed = fl.fleet.now()
	return nil
}

// deltas are what one flush adds: to the totals (incrs) and to the current
// minute's window of HTTP requests, 5xx and latency buckets.
type deltas struct {
	last   map[string]float64 // the Flusher's values at its previous flush
	incrs  []incr
	window map[string]float64
}

// add records cur's change since the previous flush and returns it.
func (d *deltas) add(key, field string, cur float64) float64 {
	delta := cur - d.last[key+"\x00"+field]
	if delta != 0 {
		d.incrs = append(d.incrs, incr{key: key, field: field, delta: delta, cur: cur})
	}
	return delta
}

// family adds the changes of one gathered counter or histogram family;
// gauges and unknown families are not summed.
func (d *deltas) family(fleet *Fleet, mf *dto.MetricFamily) {
	fam, ok := familyNamed(mf.GetName())
	if !ok || fam.kind == dto.MetricType_GAUGE {
		return
	}
	key := fleet.key("total", fam.name)
	for _, m := range mf.GetMetric() {
		values := labelValues(fam, m)
		lf := labelsField(values)
		switch fam.kind {
		case dto.MetricType_COUNTER:
			delta := d.add(key, lf, m.GetCounter().GetValue())
			if fam.name == famHTTPRequests.name && delta != 0 {
				d.window["requests"] += delta
				if strings.HasPrefix(values[2], "5") {
					d.window["errors"] += delta
				}
			}
		case dto.MetricType_HISTOGRAM:
			d.histogram(key, lf, fam.name == famHTTPDuration.name, m.GetHistogram())
		}
	}
}

// histogram adds one histogram series' buckets, sum and count; the HTTP
// latency histogram also feeds the minute's window.
func (d *deltas) histogram(key, lf string, http bool, h *dto.Histogram) {
	for _, b := range h.GetBucket() {
		le := formatFloat(b.GetUpperBound())
		if delta := d.add(key, lf+"\x00le="+le, float64(b.GetCumulativeCount())); delta != 0 && http {
			d.window["le="+le] += delta
		}
	}
	d.add(key, lf+"\x00sum", h.GetSampleSum())
	if delta := d.add(key, lf+"\x00count", float64(h.GetSampleCount())); delta != 0 && http {
		d.window["count"] += delta
	}
}

// write sends one flush's deltas and the memory ratio in one pipeline.
func (fl *Flusher) write(ctx context.Context, d deltas, ratio float64, hasMemory bool) error {
	minute := fl.fleet.now().Truncate(time.Minute)
	_, err := fl.fleet.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, in := range d.incrs {
			p.HIncrByFloat(ctx, in.key, in.field, in.delta)
		}
		if len(d.window) > 0 {
			wk := fl.fleet.windowKey(minute)
			for field, delta := range d.window {
				p.HIncrByFloat(ctx, wk, field, delta)
			}
			p.Expire(ctx, wk, windowTTL)
		}
		if hasMemory {
			mk := fl.fleet.memoryKey(minute)
			p.ZAddArgs(ctx, mk, redis.ZAddArgs{GT: true, Members: []redis.Z{{Score: ratio, Member: fl.function}}})
			p.Expire(ctx, mk, windowTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("flush metrics to redis: %w", err)
	}
	return nil
}

// labelValues returns m's label values in fam's label order.
func labelValues(fam family, m *dto.Metric) []string {
	values := make([]string, len(fam.labels))
	for _, lp := range m.GetLabel() {
		for i, n := range fam.labels {
			if lp.GetName() == n {
				values[i] = lp.GetValue()
			}
		}
	}
	return values
}

func formatFloat(v float64) string {
	if math.IsInf(v, +1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Gauge is one gauge series to set fleet-wide.
type Gauge struct {
	Name   string   // a gauge family: active_sessions_total, queue_jobs_total
	Labels []string // values in the family's label order
	Value  float64
}

// gaugeValue is a stamped gauge value in the gauges hash.
type gaugeValue struct {
	V float64 `json:"v"`
	T int64   `json:"t"` // unix milliseconds
}

// SetGauges sets gauge series fleet-wide, stamped with the current time, in
// one round trip. Unknown names and wrong label counts are errors.
func (f *Fleet) SetGauges(ctx context.Context, gauges ...Gauge) error {
	if len(gauges) == 0 {
		return nil
	}
	now := f.now().UnixMilli()
	values := make([]any, 0, 2*len(gauges))
	for _, g := range gauges {
		fam, ok := familyNamed(g.Name)
		if !ok || fam.kind != dto.MetricType_GAUGE {
			return fmt.Errorf("set gauge %q: not a gauge family", g.Name)
		}
		if len(g.Labels) != len(fam.labels) {
			return fmt.Errorf("set gauge %s: %d label values, want %d", g.Name, len(g.Labels), len(fam.labels))
		}
		b, _ := json.Marshal(gaugeValue{V: g.Value, T: now})
		values = append(values, g.Name+"\x00"+labelsField(g.Labels), string(b))
	}
	if err := f.Redis.HSet(ctx, f.key("gauges"), values...).Err(); err != nil {
		return fmt.Errorf("set gauges: %w", err)
	}
	return nil
}

// Registry reads the fleet's totals from Redis (one pipeline) into a fresh
// registry holding them as constant metrics, ready for promhttp.
func (f *Fleet) Registry(ctx context.Context) (*prometheus.Registry, error) {
	cmds := map[string]*redis.MapStringStringCmd{}
	var gauges *redis.MapStringStringCmd
	_, err := f.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, fam := range families {
			if fam.kind != dto.MetricType_GAUGE {
				cmds[fam.name] = p.HGetAll(ctx, f.key("total", fam.name))
			}
		}
		gauges = p.HGetAll(ctx, f.key("gauges"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read fleet metrics: %w", err)
	}
	c := &constCollector{}
	for _, fam := range families {
		desc := prometheus.NewDesc(fam.name, fam.help, fam.labels, nil)
		c.descs = append(c.descs, desc)
		switch fam.kind {
		case dto.MetricType_COUNTER:
			for field, v := range cmds[fam.name].Val() {
				values, err := decodeLabels(field, fam)
				if err != nil {
					return nil, err
				}
				c.metrics = append(c.metrics, prometheus.MustNewConstMetric(desc, prometheus.CounterValue, parse(v), values...))
			}
		case dto.MetricType_HISTOGRAM:
			ms, err := histograms(desc, fam, cmds[fam.name].Val())
			if err != nil {
				return nil, err
			}
			c.metrics = append(c.metrics, ms...)
		}
	}
	cutoff := f.now().Add(-GaugeTTL).UnixMilli()
	for field, raw := range gauges.Val() {
		name, lf, _ := strings.Cut(field, "\x00")
		fam, ok := familyNamed(name)
		if !ok {
			continue
		}
		var g gaugeValue
		if json.Unmarshal([]byte(raw), &g) != nil || g.T < cutoff {
			continue
		}
		values, err := decodeLabels(lf, fam)
		if err != nil {
			return nil, err
		}
		desc := prometheus.NewDesc(fam.name, fam.help, fam.labels, nil)
		c.metrics = append(c.metrics, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, g.V, values...))
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("register fleet metrics: %w", err)
	}
	return reg, nil
}

func histograms(desc *prometheus.Desc, fam family, fields map[string]string) ([]prometheus.Metric, error) {
	type acc struct {
		count   uint64
		sum     float64
		buckets map[float64]uint64
	}
	series := map[string]*acc{}
	for field, v := range fields {
		lf, part, ok := strings.Cut(field, "\x00")
		if !ok {
			continue
		}
		a := series[lf]
		if a == nil {
			a = &acc{buckets: map[float64]uint64{}}
			series[lf] = a
		}
		switch {
		case part == "sum":
			a.sum = parse(v)
		case part == "count":
			a.count = uint64(parse(v))
		case strings.HasPrefix(part, "le="):
			le, err := strconv.ParseFloat(strings.TrimPrefix(part, "le="), 64)
			if err != nil || math.IsInf(le, +1) {
				continue
			}
			a.buckets[le] = uint64(parse(v))
		}
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]prometheus.Metric, 0, len(keys))
	for _, lf := range keys {
		values, err := decodeLabels(lf, fam)
		if err != nil {
			return nil, err
		}
		a := series[lf]
		for _, b := range HTTPBuckets { // every bucket shown, even one never reached
			if _, ok := a.buckets[b]; !ok {
				a.buckets[b] = 0
			}
		}
		m, err := prometheus.NewConstHistogram(desc, a.count, a.sum, a.buckets, values...)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", fam.name, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func decodeLabels(field string, fam family) ([]string, error) {
	var values []string
	if err := json.Unmarshal([]byte(field), &values); err != nil || len(values) != len(fam.labels) {
		return nil, fmt.Errorf("fleet metric %s: bad label field %q", fam.name, field)
	}
	return values, nil
}

func parse(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// constCollector serves metrics read once from Redis.
type constCollector struct {
	descs   []*prometheus.Desc
	metrics []prometheus.Metric
}

func (c *constCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics {
		ch <- m
	}
}

// Window is what the fleet's HTTP requests and memory did over a span of
// whole minutes, for the alerts.
type Window struct {
	Requests float64 // HTTP requests answered
	Errors   float64 // of which 5xx
	// Buckets are cumulative latency counts per HTTPBuckets bound; Count is
	// every observation (the +Inf bucket).
	Buckets []float64
	Count   float64
	// Memory is each function's peak memory use as a fraction of its
	// Lambda memory size.
	Memory map[string]float64
}

// Window sums the per-minute windows of the last d before now (the current
// minute included), in one pipeline.
func (f *Fleet) Window(ctx context.Context, now time.Time, d time.Duration) (Window, error) {
	minutes := int(d / time.Minute)
	if minutes < 1 {
		minutes = 1
	}
	cur := now.Truncate(time.Minute)
	var hashes []*redis.MapStringStringCmd
	var mems []*redis.ZSliceCmd
	_, err := f.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range minutes {
			m := cur.Add(-time.Duration(i) * time.Minute)
			hashes = append(hashes, p.HGetAll(ctx, f.windowKey(m)))
			mems = append(mems, p.ZRangeWithScores(ctx, f.memoryKey(m), 0, -1))
		}
		return nil
	})
	if err != nil {
		return Window{}, fmt.Errorf("read metrics window: %w", err)
	}
	w := Window{Buckets: make([]float64, len(HTTPBuckets)), Memory: map[string]float64{}}
	for _, h := range hashes {
		for field, v := range h.Val() {
			x := parse(v)
			switch field {
			case "requests":
				w.Requests += x
			case "errors":
				w.Errors += x
			case "count":
				w.Count += x
			default:
				le, err := strconv.ParseFloat(strings.TrimPrefix(field, "le="), 64)
				if err != nil {
					continue
				}
				for i, b := range HTTPBuckets {
					if b == le {
						w.Buckets[i] += x
					}
				}
			}
		}
	}
	for _, z := range mems {
		for _, m := range z.Val() {
			name, _ := m.Member.(string)
			w.Memory[name] = max(w.Memory[name], m.Score)
		}
	}
	return w, nil
}

// ErrorRate is the fraction of requests answered 5xx; 0 without requests.
func (w Window) ErrorRate() float64 {
	if w.Requests == 0 {
		return 0
	}
	return w.Errors / w.Requests
}

// Quantile estimates the q-quantile of the request latency the way
// Prometheus's histogram_quantile does (linear within a bucket), except
// that a rank beyond the last bound (5 s) is +Inf: above every bound, which
// is what the 5 s threshold needs to know. ok is false without requests.
func (w Window) Quantile(q float64) (seconds float64, ok bool) {
	if w.Count == 0 {
		return 0, false
	}
	rank := q * w.Count
	lower, below := 0.0, 0.0
	for i, b := range HTTPBuckets {
		if w.Buckets[i] >= rank {
			inBucket := w.Buckets[i] - below
			if inBucket <= 0 {
				return b, true
			}
			return lower + (b-lower)*(rank-below)/inBucket, true
		}
		lower, below = b, w.Buckets[i]
	}
	return math.Inf(1), true
}
