// Package query runs SQL over the files of an otlp-arrow output directory.
//
// An [Engine] exposes three tables, traces, metrics and logs, with the
// columns of the files (docs/schema.md) plus traces.duration_ms. They hold
// the rows of every finished file and what the .partial Arrow files hold so
// far, Arrow and Parquet alike, and are brought up to date before each
// query. Loaded files are cached: a finished file is read once, a growing
// .partial file from where the last read stopped.
//
// The engine is DuckDB (cgo). Builds without cgo, or with the tag nosql,
// carry a stub whose Open returns [ErrUnavailable].
//
// Queries are read-only and reach nothing outside the output directory:
// one SELECT per call, DuckDB's external access disabled but for the data
// files (otlp/ in the output directory) and a private scratch directory,
// extensions neither installed nor loaded, and the configuration locked
// once the tables are set up. Each
// query has a time limit and a row cap.
package query

import (
	"errors"
	"time"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// Options configure an [Engine].
type Options struct {
	// OutputDir is the writer's output directory (it holds otlp/<signal>/).
	OutputDir string
	// Timeout bounds one query's execution; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxRows caps the rows of one result; 0 means DefaultMaxRows.
	MaxRows int
	// Since and Until restrict the tables to the rows of a time window
	// (span start, data point time, log time); zero is unbounded. Only the
	// files that overlap the window are read.
	Since, Until time.Time
	// Index is an index of OutputDir kept by the caller (the dashboard's);
	// nil: the engine keeps its own. Either way the engine refreshes it
	// before each query.
	Index *fileindex.Index
}

// Defaults for [Options].
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxRows = 10000
)

// Result is the answer to one query.
type Result struct {
	Columns []Column
	// Rows hold nil, bool, int64, uint64, float64, string, time.Time
	// (UTC), []any and map[string]any values. BLOBs (ids) are lower-case
	// hex strings; integers beyond 64 bits, decimals, intervals and UUIDs
	// are strings.
	Rows [][]any
	// Truncated is set, with an [ErrTooManyRows] error, when the query had
	// more rows than the cap: Rows holds the first MaxRows.
	Truncated bool
	Elapsed   time.Duration
}

// Column names one result column and gives its DuckDB type, for example
// VARCHAR, BIGINT, DOUBLE, TIMESTAMP_NS, MAP(VARCHAR, VARCHAR).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Tables are the tables every engine has, one per signal.
var Tables = []string{"traces", "metrics", "logs"}

// Errors a query can return, to be matched with errors.Is. The error text
// says what happened and what to do.
var (
	// ErrUnavailable: the binary was built without SQL (no cgo, or -tags nosql).
	ErrUnavailable = errors.New("built without SQL: rebuild with CGO_ENABLED=1 and without -tags nosql")
	// ErrBadQuery: the statement does not parse or bind (an unknown table
	// or column, a type error).
	ErrBadQuery = errors.New("bad query")
	// ErrNotAllowed: the statement is not one read-only SELECT, or it
	// reaches outside the output directory.
	ErrNotAllowed = errors.New("not allowed")
	// ErrTimeout: the query ran longer than the time limit and was cancelled.
	ErrTimeout = errors.New("time limit exceeded")
	// ErrTooManyRows: the result has more rows than the row cap; the query
	// was cancelled.
	ErrTooManyRows = errors.New("row cap exceeded")
)
