package dashboard

import (
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// pointCols are the value columns of a metrics batch.
type pointCols struct {
	attrs           attrCols
	vDouble         *array.Float64
	vInt            *array.Int64
	count           *array.Uint64
	sum, min, max   *array.Float64
	buckets, bounds *array.List
	scale           *array.Int32
	zeroCount       *array.Uint64
	posOffset       *array.Int32
	posBuckets      *array.List
	quantiles       *array.List
	exList          *array.List
	exTime          *array.Timestamp
	exDouble        *array.Float64
	exInt           *array.Int64
	exTrace, exSpan *array.FixedSizeBinary
}

func newPointCols(rec arrow.RecordBatch) *pointCols {
	pc := &pointCols{
		attrs:   attrColumns(rec, "attributes"),
		vDouble: col[*array.Float64](rec, "value_double"), vInt: col[*array.Int64](rec, "value_int"),
		count: col[*array.Uint64](rec, "count"), sum: col[*array.Float64](rec, "sum"),
		min: col[*array.Float64](rec, "min"), max: col[*array.Float64](rec, "max"),
		buckets: col[*array.List](rec, "bucket_counts"), bounds: col[*array.List](rec, "explicit_bounds"),
		scale: col[*array.Int32](rec, "scale"), zeroCount: col[*array.Uint64](rec, "zero_count"),
		posOffset: col[*array.Int32](rec, "positive_offset"), posBuckets: col[*array.List](rec, "positive_bucket_counts"),
		quantiles: col[*array.List](rec, "quantile_values"), exList: col[*array.List](rec, "exemplars"),
	}
	if st, ok := listStruct(pc.exList); ok {
		stt := st.DataType().(*arrow.StructType)
		field := func(name string) arrow.Array {
			if idx, ok := stt.FieldIdx(name); ok {
				return st.Field(idx)
			}
			return nil
		}
		pc.exTime, _ = field("time").(*array.Timestamp)
		pc.exDouble, _ = field("value_double").(*array.Float64)
		pc.exInt, _ = field("value_int").(*array.Int64)
		pc.exTrace, _ = field("trace_id").(*array.FixedSizeBinary)
		pc.exSpan, _ = field("span_id").(*array.FixedSizeBinary)
	}
	return pc
}

// listFloats returns row i of a list of float64 or uint64.
func listFloats(l *array.List, i int) []float64 {
	if l == nil || l.IsNull(i) {
		return nil
	}
	s, e := l.ValueOffsets(i)
	out := make([]float64, 0, e-s)
	switch v := l.ListValues().(type) {
	case *array.Uint64:
		for j := s; j < e; j++ {
			out = append(out, float64(v.Value(int(j))))
		}
	case *array.Float64:
		for j := s; j < e; j++ {
			out = append(out, v.Value(int(j)))
		}
	}
	return out
}

func optFloat(c *array.Float64, i int) (float64, bool) {
	if c == nil || c.IsNull(i) {
		return 0, false
	}
	return c.Value(i), true
}

// point reads row i.
func (pc *pointCols) point(i int, m metricCols) rawPoint {
	p := rawPoint{t: tsNanos(m.time, i), start: tsNanos(m.start, i),
		cumulative: m.temporality != nil && m.temporality.IsValid(i) && m.temporality.Value(i) == 2}
	if v, ok := optFloat(pc.vDouble, i); ok {
		p.value, p.hasValue = v, true
	} else if pc.vInt != nil && pc.vInt.IsValid(i) {
		p.value, p.hasValue = float64(pc.vInt.Value(i)), true
	}
	if pc.count != nil && pc.count.IsValid(i) {
		p.count = float64(pc.count.Value(i))
	}
	p.sum, p.hasSum = optFloat(pc.sum, i)
	p.min, p.hasMin = optFloat(pc.min, i)
	p.max, p.hasMax = optFloat(pc.max, i)
	switch m.typ.str(i) {
	case "histogram":
		p.buckets, p.bounds = listFloats(pc.buckets, i), listFloats(pc.bounds, i)
	case "exponential_histogram":
		p.buckets = listFloats(pc.posBuckets, i)
		if len(p.buckets) > 0 && pc.scale != nil && pc.scale.IsValid(i) {
			offset := int32(0)
			if pc.posOffset != nil && pc.posOffset.IsValid(i) {
				offset = pc.posOffset.Value(i)
			}
			base := math.Exp2(math.Exp2(-float64(pc.scale.Value(i))))
			// Bucket k covers (base^(offset+k), base^(offset+k+1)]; the
			// zero bucket goes first, below the lowest bound.
			zero := 0.0
			if pc.zeroCount != nil && pc.zeroCount.IsValid(i) {
				zero = float64(pc.zeroCount.Value(i))
			}
			p.bounds = make([]float64, 0, len(p.buckets))
			p.bounds = append(p.bounds, math.Pow(base, float64(offset)))
			for k := range p.buckets {
				p.bounds = append(p.bounds, math.Pow(base, float64(int(offset)+k+1)))
			}
			p.bounds = p.bounds[:len(p.buckets)]
			p.buckets = append([]float64{zero}, p.buckets...)
		}
	case "summary":
		if st, ok := listStruct(pc.quantiles); ok && pc.quantiles.IsValid(i) {
			stt := st.DataType().(*arrow.StructType)
			qi, ok1 := stt.FieldIdx("quantile")
			vi, ok2 := stt.FieldIdx("value")
			q, _ := st.Field(qi).(*array.Float64)
			v, _ := st.Field(vi).(*array.Float64)
			if ok1 && ok2 && q != nil && v != nil {
				p.quantiles = map[string]float64{}
				s, e := pc.quantiles.ValueOffsets(i)
				for j := int(s); j < int(e); j++ {
					p.quantiles[quantileName(q.Value(j))] = v.Value(j)
				}
			}
		}
	}
	return p
}

// quantileName names a quantile: 0.5 -> p50, 0.999 -> p99.9.
func quantileName(q float64) string {
	return "p" + strconv.FormatFloat(q*100, 'f', -1, 64)
}

// exemplars reads row i's exemplars.
func (pc *pointCols) exemplars(i int) []exemplarJSON {
	if pc.exList == nil || pc.exList.IsNull(i) {
		return nil
	}
	s, e := pc.exList.ValueOffsets(i)
	var out []exemplarJSON
	for j := int(s); j < int(e); j++ {
		ex := exemplarJSON{TimeMs: ms(tsNanos(pc.exTime, j)), TraceID: hexID(pc.exTrace, j), SpanID: hexID(pc.exSpan, j)}
		if v, ok := optFloat(pc.exDouble, j); ok {
			ex.Value = jsonFloat(v)
		} else if pc.exInt != nil && pc.exInt.IsValid(j) {
			ex.Value = jsonFloat(pc.exInt.Value(j))
		}
		out = append(out, ex)
	}
	return out
}

// The quantiles estimated from histogram buckets.
var estimated = []struct {
	name string
	q    float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}

// render derives the displayed values of every series and downsamples them.
func render(res *seriesResult, all []*rawSeries, maxPoints int) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range all {
		for _, p := range s.points {
			lo, hi = min(lo, p.t), max(hi, p.t)
		}
	}
	ds := downsampler{lo: lo, hi: hi, n: maxPoints}
	var heat *heatmapJSON
	if res.Type == "histogram" {
		heat = &heatmapJSON{}
	}
	for _, s := range all {
		out := seriesJSON{Label: s.label, Attributes: s.attrs, Points: []pt{}}
		switch res.Display {
		case "rate":
			out.Points = ds.apply(rates(s.points))
		case "value":
			var vs []tv
			for _, p := range s.points {
				if p.hasValue {
					vs = append(vs, tv{p.t, p.value})
				}
			}
			out.Points = ds.apply(vs)
		case "histogram":
			out.Count, out.Sum, out.Quantiles = histogramSeries(s.points, ds, heat)
			out.Points = out.Count
		}
		res.Series = append(res.Series, out)
	}
	if res.Series == nil {
		res.Series = []seriesJSON{}
	}
	if heat != nil && len(heat.Bounds) > 0 {
		res.Heatmap = heat
	}
}

// tv is a time (ns) and a value.
type tv struct {
	t int64
	v float64
}

// rates turns a monotonic sum's points into per-second rates: between
// consecutive cumulative points (a drop or a new start time is a reset,
// counted from the start time), and a delta point over its own interval.
func rates(points []rawPoint) []tv {
	var out []tv
	for k, p := range points {
		if !p.hasValue {
			continue
		}
		if !p.cumulative {
			if p.start > 0 && p.t > p.start {
				out = append(out, tv{p.t, p.value / (float64(p.t-p.start) / 1e9)})
			} else if k > 0 && p.t > points[k-1].t {
				out = append(out, tv{p.t, p.value / (float64(p.t-points[k-1].t) / 1e9)})
			}
			continue
		}
		if k > 0 {
			prev := points[k-1]
			if prev.hasValue && p.t > prev.t && p.value >= prev.value && p.start == prev.start {
				out = append(out, tv{p.t, (p.value - prev.value) / (float64(p.t-prev.t) / 1e9)})
				continue
			}
		}
		if p.start > 0 && p.t > p.start && k > 0 {
			out = append(out, tv{p.t, p.value / (float64(p.t-p.start) / 1e9)})
		}
	}
	return out
}

// histogramSeries returns the count, sum and estimated quantiles of a
// histogram's points (cumulative buckets as the difference from the point
// before, when there is one with the same bounds), adding the buckets to
// the heatmap.
func histogramSeries(points []rawPoint, ds downsampler, heat *heatmapJSON) (count, sum []pt, quantiles map[string][]pt) {
	var cs, ss []tv
	qs := map[string][]tv{}
	for k, p := range points {
		cs = append(cs, tv{p.t, p.count})
		if p.hasSum {
			ss = append(ss, tv{p.t, p.sum})
		}
		if p.quantiles != nil {
			for name, v := range p.quantiles {
				qs[name] = append(qs[name], tv{p.t, v})
			}
			continue
		}
		buckets := p.buckets
		if p.cumulative && k > 0 && slices.Equal(points[k-1].bounds, p.bounds) && len(points[k-1].buckets) == len(p.buckets) {
			delta := make([]float64, len(buckets))
			ok := false
			for j := range buckets {
				delta[j] = buckets[j] - points[k-1].buckets[j]
				if delta[j] < 0 {
					ok = false
					break
				}
				if delta[j] > 0 {
					ok = true
				}
			}
			if ok {
				buckets = delta
			}
		}
		if len(buckets) == 0 {
			continue
		}
		lo, hi := math.NaN(), math.NaN()
		if p.hasMin {
			lo = p.min
		}
		if p.hasMax {
			hi = p.max
		}
		for _, e := range estimated {
			if v, ok := bucketQuantile(e.q, p.bounds, buckets, lo, hi); ok {
				qs[e.name] = append(qs[e.name], tv{p.t, v})
			}
		}
		if heat != nil && len(p.bounds)+1 == len(buckets) {
			ds.heat(heat, p.t, p.bounds, buckets)
		}
	}
	quantiles = map[string][]pt{}
	for name, v := range qs {
		quantiles[name] = ds.apply(v)
	}
	return ds.apply(cs), ds.apply(ss), quantiles
}

// bucketQuantile estimates quantile q from bucket counts: bucket j covers
// (bounds[j-1], bounds[j]], the first is bounded below by the minimum (or
// its upper bound) and the last above by the maximum (or its lower bound);
// the value is interpolated linearly within the bucket.
func bucketQuantile(q float64, bounds, counts []float64, lo, hi float64) (float64, bool) {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(counts) != len(bounds)+1 {
		return 0, false
	}
	rank := q * total
	seen := 0.0
	for j, c := range counts {
		if seen+c < rank || c == 0 {
			seen += c
			continue
		}
		var low, high float64
		switch {
		case len(bounds) == 0:
			low, high = lo, hi
		case j == 0:
			low, high = bounds[0], bounds[0]
			if !math.IsNaN(lo) {
				low = min(lo, bounds[0])
			}
		case j == len(bounds):
			low, high = bounds[j-1], bounds[j-1]
			if !math.IsNaN(hi) {
				high = max(hi, bounds[j-1])
			}
		default:
			low, high = bounds[j-1], bounds[j]
		}
		if math.IsNaN(low) || math.IsNaN(high) {
			return 0, false
		}
		return low + (high-low)*(rank-seen)/c, true
	}
	return 0, false
}

// downsampler folds points into at most n buckets over [lo, hi].
type downsampler struct {
	lo, hi int64
	n      int
}

func (d downsampler) bucket(t int64) int {
	if d.hi <= d.lo {
		return 0
	}
	b := int(float64(t-d.lo) / float64(d.hi-d.lo) * float64(d.n))
	return min(max(b, 0), d.n-1)
}

// apply averages the points of each bucket (time and value) when there are
// more than n; fewer are returned as they are.
func (d downsampler) apply(vs []tv) []pt {
	out := make([]pt, 0, min(len(vs), d.n))
	if len(vs) <= d.n {
		for _, v := range vs {
			out = append(out, pt{jsonFloat(ms(v.t)), jsonFloat(v.v)})
		}
		return out
	}
	cur, n := -1, 0
	var st, sv float64
	flush := func() {
		if n > 0 {
			out = append(out, pt{jsonFloat(st / float64(n) / 1e6), jsonFloat(sv / float64(n))})
		}
	}
	for _, v := range vs {
		b := d.bucket(v.t)
		if b != cur {
			flush()
			cur, n, st, sv = b, 0, 0, 0
		}
		n++
		st += float64(v.t)
		sv += v.v
	}
	flush()
	return out
}

// heat adds one point's buckets to the heatmap column of its time bucket.
func (d downsampler) heat(h *heatmapJSON, t int64, bounds, counts []float64) {
	if len(h.Bounds) == 0 {
		h.Bounds = slices.Clone(bounds)
		n := d.n
		if d.hi <= d.lo {
			n = 1
		}
		h.Times = make([]float64, n)
		h.Counts = make([][]float64, n)
		for b := range n {
			h.Times[b] = ms(d.lo + int64(float64(d.hi-d.lo)*(float64(b)+0.5)/float64(n)))
			h.Counts[b] = make([]float64, len(bounds)+1)
		}
	}
	if !slices.Equal(h.Bounds, bounds) {
		return
	}
	b := min(d.bucket(t), len(h.Counts)-1)
	for j, c := range counts {
		h.Counts[b][j] += c
	}
}
