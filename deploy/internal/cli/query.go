package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/otlp-arrow/otlp-arrow/deploy/config"
	"github.com/otlp-arrow/otlp-arrow/query"
)

const queryUsage = `usage: otlp-arrow query [flags] "SQL"      (SQL "-": read it from standard input)
       otlp-arrow query --schema traces|metrics|logs
Tables traces, metrics and logs hold the rows of the output directory's files
(finished and being written, Arrow and Parquet); see docs/query.md.
Flags:`

// cmdQuery runs one SQL query over the output directory's files.
func cmdQuery(ctx context.Context, env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, queryUsage)
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "", "YAML configuration file (for output_dir)")
	outDir := fs.String("output-dir", "", "output directory (default: the configured output_dir)")
	since := fs.String("since", "", "only rows from this time on: RFC 3339, or a duration back from now (15m, 2h)")
	until := fs.String("until", "", "only rows before this time: RFC 3339, or a duration back from now")
	format := fs.String("format", "table", "output: table (aligned), json (one object per line), csv or arrow (an Arrow IPC stream)")
	schemaOf := fs.String("schema", "", "list the columns of a table (traces, metrics or logs) instead of running a query")
	timeout := fs.Duration("timeout", time.Minute, "time limit of the query")
	maxRows := fs.Int("max-rows", 1000000, "row cap of the result")
	// Flags may come before or after the query, and the query may start
	// with a "-- comment": an argument with a space or a line break in it
	// is SQL, one starting with "-" otherwise a flag (every flag takes a
	// value, in the next argument unless written --flag=value).
	var sqlArgs, flagArgs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-" || !strings.HasPrefix(a, "-") || strings.ContainsAny(a, " \t\r\n") {
			sqlArgs = append(sqlArgs, a)
			continue
		}
		flagArgs = append(flagArgs, a)
		if !strings.Contains(a, "=") && a != "-h" && a != "-help" && a != "--help" && i+1 < len(args) {
			i++
			flagArgs = append(flagArgs, args[i])
		}
	}
	if err := fs.Parse(flagArgs); err != nil {
		return err
	}
	sqlArgs = append(sqlArgs, fs.Args()...)
	switch *format {
	case "table", "json", "csv", "arrow":
	default:
		return fmt.Errorf("--format %q: want table, json, csv or arrow", *format)
	}
	stmt := strings.Join(sqlArgs, " ")
	if stmt == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		stmt = string(b)
	}
	if (stmt == "") == (*schemaOf == "") {
		fs.Usage()
		return errors.New("give one SQL query or --schema TABLE")
	}
	opts := query.Options{OutputDir: *outDir, Timeout: *timeout, MaxRows: *maxRows}
	if opts.OutputDir == "" {
		c, err := config.Load(*cfgPath, env.environ)
		if err != nil {
			return err
		}
		opts.OutputDir = c.OutputDir
	}
	now := time.Now()
	var err error
	if opts.Since, err = parseWhen(*since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if opts.Until, err = parseWhen(*until, now); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	e, err := query.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer e.Close()
	var res *query.Result
	var qerr error // past the row cap: the first rows are written, then the error
	if *schemaOf != "" {
		cols, err := e.Schema(*schemaOf)
		if err != nil {
			return err
		}
		res = &query.Result{Columns: []query.Column{{Name: "column", Type: "VARCHAR"}, {Name: "type", Type: "VARCHAR"}}}
		for _, c := range cols {
			res.Rows = append(res.Rows, []any{c.Name, c.Type})
		}
	} else if res, qerr = e.Query(ctx, stmt); res == nil {
		return qerr
	}
	out := bufio.NewWriter(env.stdout)
	if err := writeResult(out, *format, res); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	return qerr
}

// parseWhen parses an RFC 3339 time or a duration back from now; "" is the
// zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-03-04T05:06:00Z) or a duration (15m, 2h)", s)
}

func writeResult(w io.Writer, format string, res *query.Result) error {
	switch format {
	case "json":
		return writeJSONLines(w, res)
	case "csv":
		return writeCSV(w, res)
	case "arrow":
		return writeArrow(w, res)
	}
	return writeTable(w, res)
}

// cell renders a value for the table and CSV formats.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []any, map[string]any:
		b, _ := json.Marshal(query.JSONSafe(v))
		return string(b)
	}
	return fmt.Sprint(v)
}

func numeric(v any) bool {
	switch v.(type) {
	case int64, uint64, float64:
		return true
	}
	return false
}

// maxCell bounds a table cell; longer ones end in "…".
const maxCell = 80

func writeTable(w io.Writer, res *query.Result) error {
	cells := make([][]string, len(res.Rows))
	width := make([]int, len(res.Columns))
	for i, c := range res.Columns {
		width[i] = utf8.RuneCountInString(c.Name)
	}
	for r, row := range res.Rows {
		cells[r] = make([]string, len(row))
		for i, v := range row {
			s := strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(cell(v))
			if v == nil {
				s = "NULL"
			}
			if utf8.RuneCountInString(s) > maxCell {
				s = string([]rune(s)[:maxCell-1]) + "…"
			}
			cells[r][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string, right func(int) bool, between string) {
		var b strings.Builder
		for i, s := range vals {
			if i > 0 {
				b.WriteString(between)
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			if right(i) {
				b.WriteString(pad + s)
			} else if i < len(vals)-1 {
				b.WriteString(s + pad)
			} else {
				b.WriteString(s)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	names := make([]string, len(res.Columns))
	seps := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		names[i] = c.Name
		seps[i] = strings.Repeat("-", width[i])
	}
	left := func(int) bool { return false }
	line(names, left, " | ")
	line(seps, left, "-+-")
	for r, row := range cells {
		line(row, func(i int) bool { return numeric(res.Rows[r][i]) }, " | ")
	}
	n := "rows"
	if len(res.Rows) == 1 {
		n = "row"
	}
	_, err := fmt.Fprintf(w, "(%d %s)\n", len(res.Rows), n)
	return err
}

func writeJSONLines(w io.Writer, res *query.Result) error {
	for _, row := range res.Rows {
		var b []byte
		b = append(b, '{')
		for i, v := range row {
			if i > 0 {
				b = append(b, ',')
			}
			k, _ := json.Marshal(res.Columns[i].Name)
			b = append(b, k...)
			b = append(b, ':')
			val, err := json.Marshal(query.JSONSafe(v))
			if err != nil {
				return err
			}
			b = append(b, val...)
		}
		b = append(b, '}', '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(w io.Writer, res *query.Result) error {
	cw := csv.NewWriter(w)
	rec := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, row := range res.Rows {
		for i, v := range row {
			rec[i] = cell(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// arrowType maps a DuckDB column type to the Arrow type of the arrow
// format; nested values travel as their JSON text.
func arrowType(duck string) arrow.DataType {
	switch duck {
	case "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER":
		return arrow.PrimitiveTypes.Int64
	case "UBIGINT":
		return arrow.PrimitiveTypes.Uint64
	case "FLOAT", "DOUBLE":
		return arrow.PrimitiveTypes.Float64
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE":
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	}
	if strings.HasPrefix(duck, "DECIMAL") {
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.BinaryTypes.String
}

func writeArrow(w io.Writer, res *query.Result) error {
	fields := make([]arrow.Field, len(res.Columns))
	for i, c := range res.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c.Type), Nullable: true}
	}
	sch := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	for _, row := range res.Rows {
		for i, v := range row {
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Uint64Builder:
				fb.Append(v.(uint64))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(time.Time).UnixNano()))
			case *array.StringBuilder:
				fb.Append(cell(v))
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	iw := ipc.NewWriter(w, ipc.WithSchema(sch))
	if err := iw.Write(rec); err != nil {
		return err
	}
	return iw.Close()
}
