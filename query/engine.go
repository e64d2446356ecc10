//go:build cgo && !nosql

package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/otlp-arrow/otlp-arrow/proto/fileindex"
)

// Available reports whether this build carries the SQL engine.
const Available = true

// Engine runs SQL over an output directory. It is safe for concurrent use.
type Engine struct {
	opts    Options
	dir     string // absolute output directory
	tmp     string // private scratch directory (converted Arrow batches)
	ix      *fileindex.Index
	db      *sql.DB
	loader  *sql.Conn // the connection that loads files; guarded by mu
	mu      sync.Mutex
	files   map[string]*loaded // by path without .partial
	nextID  int64
	closeMu sync.Once
}

// Open sets up an engine over opts.OutputDir: the tables are created
// (empty), DuckDB is locked down, and the files are loaded on the first
// query.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	dir, err := filepath.Abs(opts.OutputDir)
	if err != nil {
		return nil, fmt.Errorf("output dir %q: %w", opts.OutputDir, err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("output dir %q is not a directory (set --output-dir, output_dir or OTLP_OUTPUT_DIR)", opts.OutputDir)
	}
	// DuckDB compares allowed directories as strings: resolve links.
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	tmp, err := os.MkdirTemp("", "otlp-arrow-sql-")
	if err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	if d, err := filepath.EvalSymlinks(tmp); err == nil {
		tmp = d
	}
	ix := opts.Index
	if ix == nil {
		ix = fileindex.New(dir)
	}
	e := &Engine{opts: opts, dir: dir, tmp: tmp, ix: ix, files: map[string]*loaded{}}
	if err := e.setup(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// setup opens DuckDB in memory, restricts it, and creates the tables.
func (e *Engine) setup(ctx context.Context) error {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return fmt.Errorf("open duckdb: %w", err)
	}
	e.db = sql.OpenDB(connector)
	e.loader, err = e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open duckdb: %w", err)
	}
	stmts := []string{
		"SET GLOBAL TimeZone = 'UTC'",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET temp_directory = " + quote(filepath.Join(e.tmp, "spill")),
		// The data files and the private scratch directory. DuckDB
		// resolves links before it checks a path, so a link planted in
		// the output directory leads nowhere else.
		"SET allowed_directories = [" + quote(filepath.Join(e.dir, "otlp")+string(filepath.Separator)) + ", " + quote(e.tmp+string(filepath.Separator)) + "]",
		"SET enable_external_access = false",
	}
	for _, sig := range Tables {
		empty, err := writeEmpty(e.tmp, sig)
		if err != nil {
			return err
		}
		extra := ""
		if sig == "traces" {
			extra = ", NULL::DOUBLE AS duration_ms"
		}
		var casts []string
		for _, c := range timeColumns[sig] {
			casts = append(casts, fmt.Sprintf("%s::TIMESTAMPTZ AS %s", c, c))
		}
		stmts = append(stmts,
			fmt.Sprintf("CREATE TABLE _%s AS SELECT * REPLACE (%s)%s, 0::BIGINT AS _file FROM read_parquet(%s) WITH NO DATA",
				sig, strings.Join(casts, ", "), extra, quote(empty)),
			fmt.Sprintf("CREATE VIEW %s AS SELECT * EXCLUDE (_file) FROM _%s%s", sig, sig, e.window(sig)))
	}
	stmts = append(stmts, "SET lock_configuration = true")
	for _, s := range stmts {
		if _, err := e.loader.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("set up duckdb (%s): %w", s, err)
		}
	}
	return nil
}

// timeColumns are the top-level times of each table. DuckDB reads them as
// TIMESTAMPTZ_NS, which few of its functions take (date_trunc, comparisons
// with now()): the tables hold them as TIMESTAMPTZ (microseconds, UTC).
// traces.duration_ms is computed from the nanoseconds.
var timeColumns = map[string][]string{
	"traces":  {"start_time", "end_time"},
	"metrics": {"start_time", "time"},
	"logs":    {"time", "observed_time"},
}

// window returns the WHERE clause of a table's view for Since/Until.
func (e *Engine) window(sig string) string {
	col := map[string]string{"traces": "start_time", "metrics": "time", "logs": "coalesce(time, observed_time)"}[sig]
	var conds []string
	if !e.opts.Since.IsZero() {
		conds = append(conds, fmt.Sprintf("epoch_ns(%s) >= %d", col, e.opts.Since.UnixNano()))
	}
	if !e.opts.Until.IsZero() {
		conds = append(conds, fmt.Sprintf("epoch_ns(%s) < %d", col, e.opts.Until.UnixNano()))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Close releases DuckDB and the scratch directory.
func (e *Engine) Close() error {
	var err error
	e.closeMu.Do(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, l := range e.files {
			l.close()
		}
		if e.loader != nil {
			err = errors.Join(err, e.loader.Close())
		}
		if e.db != nil {
			err = errors.Join(err, e.db.Close())
		}
		err = errors.Join(err, os.RemoveAll(e.tmp))
	})
	return err
}

// Schema returns the columns of table (traces, metrics or logs).
func (e *Engine) Schema(table string) ([]Column, error) {
	if !slices.Contains(Tables, table) {
		return nil, fmt.Errorf("%w: unknown table %q: want traces, metrics or logs", ErrBadQuery, table)
	}
	rows, err := e.db.Query("SELECT column_name, column_type FROM (DESCRIBE " + table + ")")
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []Column
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, fmt.Errorf("schema of %s: %w", table, err)
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// allowed are the statement types a query may be: read-only ones.
// (EXPLAIN ANALYZE would run the statement it explains, whatever it is.)
var allowed = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_SELECT: true,
}

// Query brings the tables up to date and runs one read-only statement. On
// the time limit it returns ErrTimeout; past the row cap the first MaxRows
// rows with Truncated set and ErrTooManyRows.
func (e *Engine) Query(ctx context.Context, query string) (*Result, error) {
	start := time.Now()
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%w: empty query", ErrBadQuery)
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, e.queryErr(ctx, ctx, err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error { return check(dc.(driver.Conn), query) }); err != nil {
		return nil, e.queryErr(ctx, ctx, err)
	}
	// Only the tables the query names are brought up to date: the first
	// query over traces does not wait for the logs to load.
	if tables := e.tablesOf(conn, query); len(tables) > 0 {
		if err := e.sync(ctx, tables); err != nil {
			return nil, err
		}
	}
	qctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	res := &Result{}
	err = conn.Raw(func(dc any) error {
		return e.run(qctx, cancel, dc.(driver.Conn), query, res)
	})
	res.Elapsed = time.Since(start)
	if err != nil {
		if errors.Is(err, ErrTooManyRows) {
			return res, err
		}
		return nil, e.queryErr(ctx, qctx, err)
	}
	return res, nil
}

// tablesOf returns the tables of ours that query reads; all of them when
// DuckDB cannot tell (the query's own error comes later).
func (e *Engine) tablesOf(conn *sql.Conn, query string) []string {
	names, err := duckdb.GetTableNames(conn, query, false)
	if err != nil {
		return Tables
	}
	var out []string
	for _, n := range names {
		n = strings.TrimPrefix(strings.ToLower(n), "_")
		if slices.Contains(Tables, n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// prepare prepares query on dc after checking it is one read-only
// statement without parameters.
func prepare(dc driver.Conn, query string) (*duckdb.Stmt, error) {
	// Prepare (not PrepareContext) refuses a string of several
	// statements instead of running all but the last.
	ds, err := dc.Prepare(query)
	if err != nil {
		if strings.Contains(err.Error(), "multi-statement") {
			return nil, fmt.Errorf("%w: one statement per query", ErrNotAllowed)
		}
		return nil, err
	}
	stmt := ds.(*duckdb.Stmt)
	typ, err := stmt.StatementType()
	switch {
	case err != nil:
	case !allowed[typ]:
		err = fmt.Errorf("%w: only SELECT statements run here; %s", ErrNotAllowed, describeStmt(query))
	case stmt.NumInput() > 0:
		err = fmt.Errorf("%w: the query has parameters ($1, ?): write the values into it", ErrBadQuery)
	}
	if err != nil {
		stmt.Close()
		return nil, err
	}
	return stmt, nil
}

// check returns the error prepare finds in query.
func check(dc driver.Conn, query string) error {
	stmt, err := prepare(dc, query)
	if err != nil {
		return err
	}
	return stmt.Close()
}

// run prepares, checks and runs query on dc, filling res.
func (e *Engine) run(ctx context.Context, cancel func(), dc driver.Conn, query string, res *Result) error {
	stmt, err := prepare(dc, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	// DuckDB computes the whole result before the first row is read: a
	// LIMIT around the query keeps a huge result from being built.
	if capped, err := dc.Prepare(fmt.Sprintf("SELECT * FROM (\n%s\n) LIMIT %d", strings.TrimRight(strings.TrimSpace(query), ";"), e.opts.MaxRows+1)); err == nil {
		defer capped.Close()
		stmt = capped.(*duckdb.Stmt)
	}
	rs, err := stmt.QueryContext(ctx, nil)
	if err != nil {
		return err
	}
	defer rs.Close()
	names := rs.Columns()
	typed, _ := rs.(driver.RowsColumnTypeDatabaseTypeName)
	for i, n := range names {
		c := Column{Name: n}
		if typed != nil {
			c.Type = typed.ColumnTypeDatabaseTypeName(i)
		}
		res.Columns = append(res.Columns, c)
	}
	res.Rows = [][]any{}
	for {
		vals := make([]driver.Value, len(names))
		if err := rs.Next(vals); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(res.Rows) == e.opts.MaxRows {
			res.Truncated = true
			cancel() // interrupt the rest of the query
			return fmt.Errorf("%w: the result has more than %d rows; add a LIMIT or aggregate (the first %d are shown)", ErrTooManyRows, e.opts.MaxRows, e.opts.MaxRows)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = normalize(v)
		}
		res.Rows = append(res.Rows, row)
	}
}

// describeStmt names the statement's first keyword for an error.
func describeStmt(q string) string {
	f := strings.Fields(strings.TrimLeft(q, " \t\r\n("))
	if len(f) == 0 {
		return "this is no statement"
	}
	return fmt.Sprintf("this is %s", strings.ToUpper(f[0]))
}

// queryErr classifies an error of running a query.
func (e *Engine) queryErr(parent, qctx context.Context, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("%w", parent.Err())
	}
	if errors.Is(qctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: the query ran longer than %s and was cancelled; narrow it (a WHERE on the time, a LIMIT)", ErrTimeout, e.opts.Timeout)
	}
	if errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrBadQuery) {
		return fmt.Errorf("%w", err)
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		switch de.Type {
		case duckdb.ErrorTypePermission:
			return fmt.Errorf("%w: queries read the tables traces, metrics and logs and the files of the output directory, nothing else: %s", ErrNotAllowed, de.Msg)
		case duckdb.ErrorTypeInterrupt:
			return fmt.Errorf("%w: the query ran longer than %s and was cancelled", ErrTimeout, e.opts.Timeout)
		case duckdb.ErrorTypeCatalog:
			return fmt.Errorf("%w: %s\n(the tables are traces, metrics and logs: otlp-arrow query --schema TABLE lists their columns)", ErrBadQuery, strings.TrimSpace(de.Msg))
		case duckdb.ErrorTypeInvalidInput:
			if strings.Contains(de.Msg, "configuration has been locked") {
				return fmt.Errorf("%w: settings cannot be changed: %s", ErrNotAllowed, de.Msg)
			}
		}
		return fmt.Errorf("%w: %s", ErrBadQuery, strings.TrimSpace(de.Msg))
	}
	return fmt.Errorf("%w: %v", ErrBadQuery, err)
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
