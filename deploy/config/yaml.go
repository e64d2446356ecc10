package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	forward "github.com/otlp-arrow/otlp-arrow/forwarder"
	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// enum is the set of values a string key takes.
type enum struct {
	values []string
	// orDuration also takes a duration (bus.sync_interval).
	orDuration bool
}

// Enums are the keys whose value is one of a few words, by full key (a
// list's elements by the list's key). Validate checks the same sets.
var enums = map[string]enum{
	"log.level":               {values: []string{"debug", "info", "warn", "error"}},
	"log.format":              {values: []string{"text", "json"}},
	"bus.sync_interval":       {values: []string{"always"}, orDuration: true},
	"bus.payload_compression": {values: []string{"none", "lz4", "zstd"}},
	"writer.compression":      {values: []string{"zstd", "lz4", "none"}},
	"writer.format":           {values: []string{"arrow", "parquet"}},
	"writer.traces_schema":    {values: []string{"v1", "v2"}},
	"forwarder.protocol": {values: []string{forward.ProtocolGRPC, forward.ProtocolHTTP, forward.ProtocolProtobuf,
		forward.ProtocolArrowFlight}},
	"forwarder.compression": {values: []string{"gzip", "none"}},
	"forwarder.signals":     {values: []string{string(schema.Traces), string(schema.Metrics), string(schema.Logs)}},
}

// valid reports whether v is one of e's values.
func (e enum) valid(v string) bool {
	if slices.Contains(e.values, v) || e.orDuration && v == "" {
		return true
	}
	d, err := time.ParseDuration(v)
	return e.orDuration && err == nil && d > 0
}

// want says what e takes: "zstd, lz4 or none".
func (e enum) want() string {
	vs := e.values
	if e.orDuration {
		vs = append(slices.Clip(vs), "a duration such as 2m")
	}
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// durationType is the type of every duration field.
var durationType = reflect.TypeFor[time.Duration]()

// isSize says whether a field holds a number of bytes: its key ends in
// _bytes or it is tagged unit:"bytes".
func isSize(f reflect.StructField, key string) bool {
	return f.Tag.Get("unit") == "bytes" || strings.HasSuffix(key, "_bytes")
}

// checkYAML walks the YAML document beside the Config type and reports, for
// each value the decoder would refuse or an enum key does not take, the
// line, the key's full name and what to write instead. Values it passes
// decode as they are.
func checkYAML(doc *yaml.Node) error {
	var errs []error
	c := checker{report: func(n *yaml.Node, key, msg string) {
		errs = append(errs, fmt.Errorf("%w: line %d: %s: %s", ErrInvalid, n.Line, key, msg))
	}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		c.value(doc.Content[0], reflect.ValueOf(Default()), reflect.StructField{}, "")
	}
	return errors.Join(errs...)
}

type checker struct {
	report func(n *yaml.Node, key, msg string)
}

// value checks node against def, the default value at key (its type says
// what the node must hold; its value serves as the example); f is the
// field holding it.
func (c checker) value(n *yaml.Node, def reflect.Value, f reflect.StructField, key string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.ShortTag() == "!!null" {
		return // the key's zero value, which Validate judges
	}
	t := def.Type()
	if t.Kind() == reflect.Struct {
		c.section(n, def, key)
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil || fraction(n, t) {
		c.report(n, key, fmt.Sprintf("%s is not %s; write it like %s", shown(n), kind(t, f, key), example(n, def, f, key)))
		return
	}
	switch t.Kind() {
	case reflect.Slice:
		for i, el := range n.Content {
			var zero reflect.Value
			if def.Len() > 0 {
				zero = def.Index(0)
			} else {
				zero = reflect.New(t.Elem()).Elem()
			}
			c.enum(el, zero, key, fmt.Sprintf("%s[%d]", key, i))
		}
	case reflect.String:
		c.enum(n, def, key, key)
	}
}

// enum checks a string value of an enum key (shown as name).
func (c checker) enum(n *yaml.Node, def reflect.Value, key, name string) {
	e, ok := enums[key]
	if !ok || n.Kind != yaml.ScalarNode || e.valid(n.Value) {
		return
	}
	msg := fmt.Sprintf("%s is not %s", shown(n), e.want())
	if len(e.values) > 2 {
		msg = fmt.Sprintf("%s is not one of %s", shown(n), e.want())
	}
	like := def.String()
	if like == "" || !e.valid(like) {
		like = e.values[0]
	}
	c.report(n, name, msg+"; write it like "+like)
}

// section checks a mapping against the struct def.
func (c checker) section(n *yaml.Node, def reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		c.report(n, orTop(key), fmt.Sprintf("%s is not a section; write its keys under it, indented (see config.example.yaml)", shown(n)))
		return
	}
	t := def.Type()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" {
			continue // a merge key: the decoder judges it
		}
		idx, names := -1, make([]string, 0, t.NumField())
		for j := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(j).Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			names = append(names, name)
			if name == k.Value {
				idx = j
			}
		}
		full := join(key, k.Value)
		if idx < 0 {
			msg := "no such key"
			if near := nearest(k.Value, names); near != "" {
				msg += "; did you mean " + join(key, near) + "?"
			} else {
				msg += " (config.example.yaml lists every key)"
			}
			c.report(k, full, msg)
			continue
		}
		c.value(v, def.Field(idx), t.Field(idx), full)
	}
}

// fraction reports a number with a fraction for an integer key, which the
// decoder would truncate (1.5 bytes becomes 1).
func fraction(n *yaml.Node, t reflect.Type) bool {
	if t == durationType || t.Kind() < reflect.Int || t.Kind() > reflect.Uint64 || n.ShortTag() != "!!float" {
		return false
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	return err == nil && f != math.Trunc(f)
}

// kind names what a key of type t holds, for "X is not <kind>".
func kind(t reflect.Type, f reflect.StructField, key string) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 && isSize(f, key):
		return "a number of bytes"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Map:
		return "a section of names and values"
	}
	return "a single value"
}

// example is a value to write instead of n: the user's number made a
// duration or the user's size in bytes when n reads as one, else the
// key's default.
func example(n *yaml.Node, def reflect.Value, f reflect.StructField, key string) string {
	t := def.Type()
	switch {
	case t == durationType:
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil && n.Kind == yaml.ScalarNode {
			return n.Value + "s"
		}
		d := time.Duration(def.Int())
		if d <= 0 {
			d = 30 * time.Second
		}
		return shortDuration(d)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64 && isSize(f, key):
		if b, ok := parseSize(n.Value); ok && n.Kind == yaml.ScalarNode {
			return strconv.FormatInt(b, 10)
		}
		b := def.Int()
		if b <= 0 {
			b = 1 << 30
		}
		return fmt.Sprintf("%d (%s)", b, humanSize(b))
	case t.Kind() == reflect.Bool:
		return strconv.FormatBool(def.Bool())
	case t.Kind() == reflect.Slice:
		if e, ok := enums[key]; ok {
			return "[" + strings.Join(e.values, ", ") + "]"
		}
		return "[first, second]"
	case t.Kind() == reflect.Map:
		return "{name: value}"
	case t.Kind() == reflect.String:
		if s := def.String(); s != "" {
			return s
		}
		return `""`
	}
	return fmt.Sprint(def.Interface())
}

// shown is the node as the user wrote it, for messages.
func shown(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a section"
	}
	if n.Value == "" {
		return `""`
	}
	return n.Value
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func orTop(key string) string {
	if key == "" {
		return "the file"
	}
	return key
}

// shortDuration writes d without zero units: 24h, 1m, 1m30s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// sizeUnits are the suffixes parseSize reads.
var sizeUnits = []struct {
	suffix string
	n      int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

// parseSize reads a size with a unit (256MiB, 1.5 GB, 64Ki), to suggest
// its number of bytes.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || f < 0 || f*float64(u.n) > 1<<62 {
				return 0, false
			}
			return int64(f * float64(u.n)), true
		}
	}
	return 0, false
}

// humanSize writes b in the largest binary unit that divides it.
func humanSize(b int64) string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b%u.n == 0 {
			return fmt.Sprintf("%d %s", b/u.n, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", b)
}

// nearest returns the name within two edits of s, if one is.
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
