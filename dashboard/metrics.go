package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// metricInfo is one metric of /api/metrics.
type metricInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Unit        string   `json:"unit"`
	Description string   `json:"description"`
	Monotonic   bool     `json:"monotonic"`
	Temporality string   `json:"temporality"`
	Services    []string `json:"services"`
	Points      int64    `json:"points"`
}

// temporalityName names aggregation_temporality.
func temporalityName(c *array.Int32, i int) string {
	if c == nil || c.IsNull(i) {
		return "unspecified"
	}
	switch c.Value(i) {
	case 1:
		return "delta"
	case 2:
		return "cumulative"
	}
	return "unspecified"
}

// metricCols are the description columns of a metrics batch.
type metricCols struct {
	name, typ, unit, desc, service strCol
	temporality                    *array.Int32
	monotonic                      *array.Boolean
	time, start                    *array.Timestamp
}

func newMetricCols(rec arrow.RecordBatch) metricCols {
	return metricCols{
		name: strColumn(rec, "metric_name"), typ: strColumn(rec, "metric_type"), unit: strColumn(rec, "metric_unit"),
		desc: strColumn(rec, "metric_description"), service: strColumn(rec, "service_name"),
		temporality: col[*array.Int32](rec, "aggregation_temporality"), monotonic: col[*array.Boolean](rec, "is_monotonic"),
		time: col[*array.Timestamp](rec, "time"), start: col[*array.Timestamp](rec, "start_time"),
	}
}

func (m metricCols) info(i int) metricInfo {
	return metricInfo{
		Name: m.name.str(i), Type: m.typ.str(i), Unit: m.unit.str(i), Description: m.desc.str(i),
		Monotonic: m.monotonic != nil && m.monotonic.IsValid(i) && m.monotonic.Value(i), Temporality: temporalityName(m.temporality, i),
	}
}

func (d *Dashboard) handleMetrics(w http.ResponseWriter, r *http.Request) {
	win, err := parseWindow(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	out, err := d.listMetrics(r.Context(), win)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"metrics": out})
}

func (d *Dashboard) listMetrics(ctx context.Context, win window) ([]metricInfo, error) {
	type infoKey struct {
		name, typ, unit, desc, temporality string
		monotonic                          bool
	}
	byKey := map[infoKey]*metricInfo{}
	_, err := d.scan(ctx, "metrics", win, func(_ fileindex.File, rec arrow.RecordBatch) error {
		m := newMetricCols(rec)
		for i := range int(rec.NumRows()) {
			if !win.contains(tsNanos(m.time, i)) {
				continue
			}
			info := m.info(i)
			k := infoKey{info.Name, info.Type, info.Unit, info.Description, info.Temporality, info.Monotonic}
			mi := byKey[k]
			if mi == nil {
				mi = &info
				byKey[k] = mi
			}
			mi.Points++
			if svc := m.service.str(i); svc != "" && !slices.Contains(mi.Services, svc) {
				mi.Services = append(mi.Services, svc)
			}
		}
		return nil
	})
	out := make([]metricInfo, 0, len(byKey))
	for _, mi := range byKey {
		if mi.Services == nil {
			mi.Services = []string{}
		}
		slices.Sort(mi.Services)
		out = append(out, *mi)
	}
	slices.SortFunc(out, func(a, b metricInfo) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
	return out, err
}

// rawPoint is one data point of a series as stored.
type rawPoint struct {
	t, start   int64
	value      float64
	hasValue   bool
	count      float64
	sum        float64
	hasSum     bool
	min, max   float64
	hasMin     bool
	hasMax     bool
	buckets    []float64 // explicit or exponential (positive) bucket counts
	bounds     []float64 // upper bounds of buckets[:len-1] (exponential: computed)
	quantiles  map[string]float64
	cumulative bool
}

// rawSeries is the points of one attribute set.
type rawSeries struct {
	label  string
	attrs  map[string]string
	points []rawPoint
}

// pt is a chart point [t_ms, v].
type pt [2]jsonFloat

type seriesJSON struct {
	Label      string            `json:"label"`
	Attributes map[string]string `json:"attributes"`
	Points     []pt              `json:"points"`
	Count      []pt              `json:"count,omitempty"`
	Sum        []pt              `json:"sum,omitempty"`
	Quantiles  map[string][]pt   `json:"quantiles,omitempty"`
}

type heatmapJSON struct {
	Bounds []float64   `json:"bounds"`
	Times  []float64   `json:"times_ms"`
	Counts [][]float64 `json:"counts"`
}

type exemplarJSON struct {
	TimeMs  float64   `json:"time_ms"`
	Value   jsonFloat `json:"value"`
	TraceID string    `json:"trace_id"`
	SpanID  string    `json:"span_id"`
}

type seriesResult struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Unit        string         `json:"unit"`
	Description string         `json:"description"`
	Display     string         `json:"display"`
	Series      []seriesJSON   `json:"series"`
	Heatmap     *heatmapJSON   `json:"heatmap"`
	Exemplars   []exemplarJSON `json:"exemplars"`
}

// maxExemplars bounds the exemplars of one answer (the newest are kept).
const maxExemplars = 500

func (d *Dashboard) handleSeries(w http.ResponseWriter, r *http.Request) {
	win, err := parseWindow(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	name, service := r.URL.Query().Get("name"), r.URL.Query().Get("service")
	if name == "" {
		writeError(w, http.StatusBadRequest, "parameter name: the metric's name is required")
		return
	}
	maxPoints, err := parseInt(r, "max_points", 300, 2, 10000)
	if err != nil {
		badRequest(w, err)
		return
	}
	res, err := d.series(r.Context(), win, name, service, maxPoints)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if res == nil {
		writeError(w, http.StatusNotFound, "no data points of metric "+name+" in the window")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// series gathers a metric's points per attribute set and renders them.
func (d *Dashboard) series(ctx context.Context, win window, name, service string, maxPoints int) (*seriesResult, error) {
	var res *seriesResult
	byKey := map[string]*rawSeries{}
	var exemplars []exemplarJSON
	_, err := d.scan(ctx, "metrics", win, func(_ fileindex.File, rec arrow.RecordBatch) error {
		m := newMetricCols(rec)
		var pc *pointCols
		for i := range int(rec.NumRows()) {
			if m.name.str(i) != name || (service != "" && m.service.str(i) != service) || !win.contains(tsNanos(m.time, i)) {
				continue
			}
			if pc == nil {
				pc = newPointCols(rec)
			}
			if res == nil {
				info := m.info(i)
				res = &seriesResult{Name: info.Name, Type: info.Type, Unit: info.Unit, Description: info.Description,
					Display: displayOf(info)}
			}
			svc := m.service.str(i)
			attrs := pc.attrs.textMap(i)
			key, label := seriesKey(svc, attrs)
			s := byKey[key]
			if s == nil {
				s = &rawSeries{label: label, attrs: attrs}
				byKey[key] = s
			}
			p := pc.point(i, m)
			s.points = append(s.points, p)
			exemplars = append(exemplars, pc.exemplars(i)...)
		}
		return nil
	})
	if err != nil || res == nil {
		return nil, err
	}
	all := make([]*rawSeries, 0, len(byKey))
	for _, s := range byKey {
		slices.SortStableFunc(s.points, func(a, b rawPoint) int { return cmp.Compare(a.t, b.t) })
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *rawSeries) int { return strings.Compare(a.label, b.label) })
	render(res, all, maxPoints)
	slices.SortFunc(exemplars, func(a, b exemplarJSON) int { return cmp.Compare(b.TimeMs, a.TimeMs) })
	res.Exemplars = exemplars[:min(len(exemplars), maxExemplars)]
	if res.Exemplars == nil {
		res.Exemplars = []exemplarJSON{}
	}
	return res, nil
}

// displayOf says how a metric is charted.
func displayOf(m metricInfo) string {
	switch m.Type {
	case "sum":
		if m.Monotonic {
			return "rate"
		}
	case "histogram", "exponential_histogram", "summary":
		return "histogram"
	}
	return "value"
}

// seriesKey returns the key and label of an attribute set.
func seriesKey(service string, attrs map[string]string) (key, label string) {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(attrs[k])
	}
	label = b.String()
	if service != "" {
		if label == "" {
			label = service
		} else {
			label = service + ": " + label
		}
	}
	if label == "" {
		label = "(no attributes)"
	}
	return service + "\x00" + b.String(), label
}
