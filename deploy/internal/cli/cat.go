package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// cmdCat prints every row of the given Arrow IPC stream files (or Parquet
// files, by their .parquet extension) as one JSON object per line: ids in
// hex, times in RFC 3339 with nanoseconds, maps as objects, bytes in base64.
func cmdCat(_ context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: otlp-arrow cat FILE...")
	}
	out := bufio.NewWriter(env.stdout)
	defer out.Flush()
	var errs []error
	for _, path := range args {
		if err := catFile(out, path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func catFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cat: %w", err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".parquet") || strings.HasSuffix(path, ".parquet.partial") {
		return catParquet(w, f, path)
	}
	r, err := ipc.NewReader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("cat %s: %w", path, err)
	}
	defer r.Release()
	for r.Next() {
		// A v2 file (docs/schema.md) prints as its v1 rows.
		rec, err := schema.FromV2(memory.DefaultAllocator, r.RecordBatch())
		if err == nil {
			err = writeRows(w, rec)
			rec.Release()
		}
		if err != nil {
			return fmt.Errorf("cat %s: %w", path, err)
		}
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cat %s: %w", path, err)
	}
	return nil
}

// catParquet writes the rows of a Parquet file, a row group at a time.
func catParquet(w io.Writer, f *os.File, path string) error {
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("cat %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("cat %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("cat %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := writeRows(w, rr.RecordBatch()); err != nil {
			return fmt.Errorf("cat %s: %w", path, err)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cat %s: %w", path, err)
	}
	return nil
}

// writeRows writes one JSON object per row of rec.
func writeRows(w io.Writer, rec arrow.RecordBatch) error {
	fields := rec.Schema().Fields()
	for i := range int(rec.NumRows()) {
		var b []byte
		b = append(b, '{')
		n := 0
		for c, f := range fields {
			col := rec.Column(c)
			if col.IsNull(i) {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = strconv.AppendQuote(b, f.Name)
			b = append(b, ':')
			b = appendValue(b, col, i)
		}
		b = append(b, '}', '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func appendJSONString(b []byte, s string) []byte {
	js, _ := json.Marshal(s)
	return append(b, js...)
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendQuote(b, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendValue renders row i of a as JSON.
func appendValue(b []byte, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return append(b, "null"...)
	}
	switch a := a.(type) {
	case *array.String:
		return appendJSONString(b, a.Value(i))
	case *array.Binary:
		return strconv.AppendQuote(b, base64.StdEncoding.EncodeToString(a.Value(i)))
	case *array.FixedSizeBinary:
		return strconv.AppendQuote(b, hex.EncodeToString(a.Value(i)))
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i))
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10)
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(i), 10)
	case *array.Float64:
		return appendFloat(b, a.Value(i))
	case *array.Timestamp:
		t := time.Unix(0, int64(a.Value(i))).UTC()
		return strconv.AppendQuote(b, t.Format(time.RFC3339Nano))
	case *array.Dictionary:
		return appendValue(b, a.Dictionary(), a.GetValueIndex(i))
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		b = append(b, '{')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				b = append(b, ',')
			}
			b = appendJSONString(b, keyString(keys, j))
			b = append(b, ':')
			b = appendValue(b, items, j)
		}
		return append(b, '}')
	case *array.List:
		start, end := a.ValueOffsets(i)
		vals := a.ListValues()
		b = append(b, '[')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				b = append(b, ',')
			}
			b = appendValue(b, vals, j)
		}
		return append(b, ']')
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		b = append(b, '{')
		n := 0
		for f := range st.Fields() {
			if a.Field(f).IsNull(i) {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = strconv.AppendQuote(b, st.Field(f).Name)
			b = append(b, ':')
			b = appendValue(b, a.Field(f), i)
		}
		return append(b, '}')
	default:
		return appendJSONString(b, a.ValueStr(i))
	}
}

func keyString(keys arrow.Array, j int) string {
	if s, ok := keys.(*array.String); ok {
		return s.Value(j)
	}
	return keys.ValueStr(j)
}
