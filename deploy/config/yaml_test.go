package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Bad values in a file are reported with their line, the key's full name,
// what the key takes and an example.
func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		yaml string
		want string // the whole message, less "config: invalid: "
	}{
		{"writer:\n  write_interval: 5\n", "line 2: writer.write_interval: 5 is not a duration; write it like 5s"},
		{"bus:\n  ack_wait: soon\n", "line 2: bus.ack_wait: soon is not a duration; write it like 1m"},
		{"bus:\n  stream_max_age: '1 day'\n", "line 2: bus.stream_max_age: 1 day is not a duration; write it like 24h"},
		{"janitor:\n  trace_retention: [1]\n", "line 2: janitor.trace_retention: a list is not a duration; write it like 10m"},
		{"writer:\n  max_file_bytes: 256MiB\n", "line 2: writer.max_file_bytes: 256MiB is not a number of bytes; write it like 268435456"},
		{"janitor:\n  min_free_bytes: 1.5 GB\n", "line 2: janitor.min_free_bytes: 1.5 GB is not a number of bytes; write it like 1500000000"},
		{"memory_limit: lots\n", "line 1: memory_limit: lots is not a number of bytes; write it like 1073741824 (1 GiB)"},
		{"ingest_grpc:\n  max_request_bytes: 1.5\n", "line 2: ingest_grpc.max_request_bytes: 1.5 is not a number of bytes; write it like 16777216 (16 MiB)"},
		{"bus:\n  port: http\n", "line 2: bus.port: http is not a whole number; write it like 4222"},
		{"forwarder:\n  retry:\n    multiplier: double\n", "line 3: forwarder.retry.multiplier: double is not a number; write it like 2"},
		{"janitor:\n  enabled: maybe\n", "line 2: janitor.enabled: maybe is not true or false; write it like true"},
		{"log:\n  level: loud\n", "line 2: log.level: loud is not one of debug, info, warn or error; write it like info"},
		{"log:\n  format: xml\n", "line 2: log.format: xml is not text or json; write it like text"},
		{"writer:\n  compression: gzip\n", "line 2: writer.compression: gzip is not one of zstd, lz4 or none; write it like zstd"},
		{"bus:\n  sync_interval: sometimes\n", "line 2: bus.sync_interval: sometimes is not always or a duration such as 2m; write it like always"},
		{"forwarder:\n  signals: [traces, spans]\n", "line 2: forwarder.signals[1]: spans is not one of traces, metrics or logs; write it like traces"},
		{"ingest_grpc:\n  auth_tokens: abc\n", "line 2: ingest_grpc.auth_tokens: abc is not a list; write it like [first, second]"},
		{"forwarder:\n  headers: [a]\n", "line 2: forwarder.headers: a list is not a section of names and values; write it like {name: value}"},
		{"writer: 5\n", "line 1: writer: 5 is not a section; write its keys under it, indented (see config.example.yaml)"},
		{"writer:\n  compresion: zstd\n", "line 2: writer.compresion: no such key; did you mean writer.compression?"},
		{"writer:\n  colour: red\n", "line 2: writer.colour: no such key (config.example.yaml lists every key)"},
		{"templates: &b\n  level: loud\nlog: *b\n", "line 1: templates: no such key (config.example.yaml lists every key)\n" +
			"config: invalid: line 2: log.level: loud is not one of debug, info, warn or error; write it like info"},
		{"log:\n  format: xml\nwriter:\n\n  max_file_age: 1\n",
			"line 2: log.format: xml is not text or json; write it like text\nconfig: invalid: line 5: writer.max_file_age: 1 is not a duration; write it like 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			c := Default()
			err := Parse(strings.NewReader(tt.yaml), &c)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if got, want := err.Error(), "config: invalid: "+tt.want; got != want {
				t.Errorf("message\n got %s\nwant %s", got, want)
			}
		})
	}
}

// A good file passes the check unchanged: every kind of value decodes.
func TestYAMLGoodValues(t *testing.T) {
	y := "memory_limit: 1e9\nbus:\n  sync_interval: 2m\n  ack_wait: 90s\nwriter:\n  max_file_bytes: 0x1000\n" +
		"forwarder:\n  signals: [logs]\n  headers: {x-a: b}\n  retry: {multiplier: 3}\ningest_grpc:\n  auth_tokens: [t1]\n"
	c := Default()
	if err := Parse(strings.NewReader(y), &c); err != nil {
		t.Fatal(err)
	}
	if c.MemoryLimit != 1e9 || c.Writer.MaxFileBytes != 4096 || c.Forwarder.Retry.Multiplier != 3 {
		t.Errorf("decoded %d %d %v", c.MemoryLimit, c.Writer.MaxFileBytes, c.Forwarder.Retry.Multiplier)
	}
}

// leaf is one key of the configuration.
type leaf struct {
	key   string
	typ   reflect.Type
	field reflect.StructField
}

// leaves walks the Config type: every key that holds a value.
func leaves(t reflect.Type, prefix string) []leaf {
	var out []leaf
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := join(prefix, name)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			out = append(out, leaves(f.Type, key)...)
			continue
		}
		out = append(out, leaf{key, f.Type, f})
	}
	return out
}

// nested writes key: value as YAML sections; the value is on the returned line.
func nested(key, value string) (string, int) {
	parts := strings.Split(key, ".")
	var b strings.Builder
	for i, p := range parts[:len(parts)-1] {
		fmt.Fprintf(&b, "%s%s:\n", strings.Repeat("  ", i), p)
	}
	fmt.Fprintf(&b, "%s%s: %s\n", strings.Repeat("  ", len(parts)-1), parts[len(parts)-1], value)
	return b.String(), len(parts)
}

// Every duration, size and enum key, found by walking the Config type, says
// so with its line and name, and its example, written instead, is taken.
func TestYAMLErrorsEveryKey(t *testing.T) {
	var durations, sizes, enumKeys int
	for _, l := range leaves(reflect.TypeFor[Config](), "") {
		var what string
		e, isEnum := enums[l.key]
		switch {
		case l.typ == durationType:
			what, durations = "a duration", durations+1
		case l.typ.Kind() >= reflect.Int && l.typ.Kind() <= reflect.Int64 && isSize(l.field, l.key):
			what, sizes = "a number of bytes", sizes+1
		case isEnum && l.typ.Kind() == reflect.String:
			what, enumKeys = e.want(), enumKeys+1
			if len(e.values) > 2 {
				what = "one of " + what
			}
		case isEnum && l.typ.Kind() == reflect.Slice:
			enumKeys++
			doc, line := nested(l.key, "[bogus]")
			c := Default()
			err := Parse(strings.NewReader(doc), &c)
			if want := fmt.Sprintf("config: invalid: line %d: %s[0]: bogus is not one of %s; write it like ", line, l.key, e.want()); err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: err = %v, want %s...", l.key, err, want)
			}
			continue
		default:
			continue
		}
		doc, line := nested(l.key, "bogus")
		c := Default()
		err := Parse(strings.NewReader(doc), &c)
		re := regexp.MustCompile(fmt.Sprintf(`^config: invalid: line %d: %s: bogus is not %s; write it like (\S+)( \(.*\))?$`,
			line, regexp.QuoteMeta(l.key), regexp.QuoteMeta(what)))
		m := re.FindStringSubmatch(fmt.Sprint(err))
		if m == nil {
			t.Errorf("%s: err = %v, want a match of %s", l.key, err, re)
			continue
		}
		doc, _ = nested(l.key, m[1])
		if err := Parse(strings.NewReader(doc), &c); err != nil {
			t.Errorf("%s: the example %s is refused: %v", l.key, m[1], err)
		}
	}
	if durations < 15 || sizes < 12 || enumKeys < 9 {
		t.Errorf("found %d durations, %d sizes, %d enums: the walk misses keys", durations, sizes, enumKeys)
	}
}

// freeForm are the string keys that take any text (paths, addresses, names,
// URLs). Every other string key is an enum: a new string key goes in one of
// enums (yaml.go) or here.
var freeForm = map[string]bool{
	"output_dir": true, "data_dir": true, "writer.writer_id": true,
	"bus.url": true, "bus.user": true, "bus.host": true, "bus.stream_placement_tags": true, "bus.cluster_name": true,
	"bus.cluster_host": true, "bus.routes": true, "bus.server_name": true, "bus.server_tags": true,
	"forwarder.endpoint": true, "forwarder.subject_filter": true, "forwarder.auth.api_key_header": true,
	"forwarder.auth.basic_user": true, "forwarder.durable": true,
}

func TestYAMLEveryStringKeyIsClassified(t *testing.T) {
	for _, l := range leaves(reflect.TypeFor[Config](), "") {
		if l.typ.Kind() != reflect.String || l.typ.Name() == "Secret" {
			continue
		}
		if _, ok := enums[l.key]; !ok && !freeForm[l.key] && !strings.HasSuffix(l.key, "_file") && !strings.HasSuffix(l.key, "addr") {
			t.Errorf("string key %s: add it to enums (yaml.go) if it takes a few words, or to freeForm (yaml_test.go)", l.key)
		}
	}
}

// Through Load, every problem of a file names the file.
func TestLoadNamesTheFileOnEveryLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("log:\n  format: xml\nwriter:\n  max_file_age: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, []string{})
	want := path + ": config: invalid: line 2: log.format: xml is not text or json; write it like text\n" +
		path + ": config: invalid: line 4: writer.max_file_age: 1 is not a duration; write it like 1s"
	if !errors.Is(err, ErrInvalid) || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}
