package segment

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Ext is the extension of a finished Arrow IPC stream file.
const Ext = ".arrows"

// ParquetExt is the extension of a finished Parquet file.
const ParquetExt = ".parquet"

// Format is the file format of an output file.
type Format uint8

const (
	// Arrow is an Arrow IPC stream file (the default).
	Arrow Format = iota
	// Parquet is an Apache Parquet file holding the Arrow schema.
	Parquet
)

// Ext returns the extension of a finished file of format f.
func (f Format) Ext() string {
	if f == Parquet {
		return ParquetExt
	}
	return Ext
}

// PartialExt is appended to the name of a file that is still open.
const PartialExt = ".partial"

// timeLayout is the UTC start time in a file name, always 26 characters, for
// example 20261125T060102.123456789Z.
const timeLayout = "20060102T150405.000000000Z"

// seqDigits is the minimum width of the sequence number in a file name.
const seqDigits = 6

// Name identifies one output file.
type Name struct {
	Signal   string    // signal, the first part of the name and the directory
	Start    time.Time // when the file was opened, rendered in UTC
	WriterID string    // the id of the writer that owns the file
	Seq      int       // per signal and writer, counts up from 1
	Format   Format    // the file format, which gives the extension
}

// String returns the final file name (with [Ext], without a directory).
func (n Name) String() string {
	return fmt.Sprintf("%s-%s-%s-%0*d%s", n.Signal, n.Start.UTC().Format(timeLayout), n.WriterID, seqDigits, n.Seq, n.Format.Ext())
}

// Partial returns the name of the file while it is open.
func (n Name) Partial() string { return n.String() + PartialExt }

// ParseName parses a base file name of the form String or Partial returns.
// ok is false for any other name.
func ParseName(base string) (n Name, partial bool, ok bool) {
	rest := base
	if strings.HasSuffix(rest, PartialExt) {
		partial = true
		rest = strings.TrimSuffix(rest, PartialExt)
	}
	format := Arrow
	switch {
	case strings.HasSuffix(rest, Ext):
		rest = strings.TrimSuffix(rest, Ext)
	case strings.HasSuffix(rest, ParquetExt):
		rest = strings.TrimSuffix(rest, ParquetExt)
		format = Parquet
	default:
		return Name{}, false, false
	}
	sig, rest, found := strings.Cut(rest, "-")
	if !found || sig == "" || len(rest) < len(timeLayout)+1 || rest[len(timeLayout)] != '-' {
		return Name{}, false, false
	}
	start, err := time.Parse(timeLayout, rest[:len(timeLayout)])
	if err != nil {
		return Name{}, false, false
	}
	rest = rest[len(timeLayout)+1:]
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 || len(rest)-i-1 < seqDigits {
		return Name{}, false, false
	}
	digits := rest[i+1:]
	if strings.TrimLeft(digits, "0123456789") != "" {
		return Name{}, false, false
	}
	seq, err := strconv.Atoi(digits)
	if err != nil {
		return Name{}, false, false
	}
	return Name{Signal: sig, Start: start, WriterID: rest[:i], Seq: seq, Format: format}, partial, true
}
