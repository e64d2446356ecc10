package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// Record is one journal entry. File and Offset say that the output file File
// (a path relative to the output root, final name without .partial) is
// durable up to Offset bytes. Stream and Seqs list the stream sequences of
// messages whose rows are durable. Either part may be empty.
type Record struct {
	File   string   `json:"file,omitempty"`
	Offset int64    `json:"off,omitempty"`
	Stream string   `json:"stream,omitempty"`
	Seqs   []uint64 `json:"seqs,omitempty"`
}

// State is what a journal says: the durable offset of each open file and the
// durable sequences per stream.
type State struct {
	Files map[string]int64
	Seqs  map[string]map[uint64]struct{}
}

func newState() State {
	return State{Files: map[string]int64{}, Seqs: map[string]map[uint64]struct{}{}}
}

func (s State) apply(r Record) {
	if r.File != "" {
		s.Files[r.File] = r.Offset
	}
	if r.Stream != "" && len(r.Seqs) > 0 {
		m := s.Seqs[r.Stream]
		if m == nil {
			m = map[uint64]struct{}{}
			s.Seqs[r.Stream] = m
		}
		for _, q := range r.Seqs {
			m[q] = struct{}{}
		}
	}
}

// Has reports whether seq of stream is durable according to s.
func (s State) Has(stream string, seq uint64) bool {
	_, ok := s.Seqs[stream][seq]
	return ok
}

// seqsPerLine bounds the size of one compacted record.
const seqsPerLine = 4096

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Journal is an open journal file. It is safe for concurrent use.
type Journal struct {
	mu    sync.Mutex
	path  string
	f     *os.File
	size  int64
	state State
	// dirty is set when a Commit failed: the file may or may not hold the
	// failed record, so it must be rewritten from memory before anything
	// else relies on it.
	dirty bool
}

// Open opens (or creates) the journal at path, creating its directory, and
// loads its records. A torn or corrupt tail is cut off. The caller must Close
// the journal.
func Open(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	st, good, err := read(f)
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path)) // a new journal's name must be durable
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return &Journal{path: path, f: f, size: good, state: st}, nil
}

// Read loads the journal at path without changing it. A missing file is an
// empty state. Use it to look at another writer's journal.
func Read(path string) (State, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read journal %s: %w", path, err)
	}
	defer f.Close()
	st, _, err := read(f)
	if err != nil {
		return State{}, fmt.Errorf("read journal %s: %w", path, err)
	}
	return st, nil
}

// read returns the state and the length of the valid prefix.
func read(r io.Reader) (State, int64, error) {
	st := newState()
	br := bufio.NewReader(r)
	var good int64
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return st, good, nil // a line without newline is torn
		}
		if err != nil {
			return st, good, err
		}
		rec, ok := decode(line)
		if !ok {
			return st, good, nil
		}
		st.apply(rec)
		good += int64(len(line))
	}
}

func decode(line []byte) (Record, bool) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	sum, body, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(sum) != 8 {
		return Record{}, false
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || uint32(want) != crc32.Checksum(body, castagnoli) {
		return Record{}, false
	}
	var rec Record
	if err := json.Unmarshal(body, &rec); err != nil {
		return Record{}, false
	}
	return rec, true
}

func encode(buf []byte, rec Record) ([]byte, error) {
	body, err := json.Marshal(rec)
	if err != nil {
		return buf, err
	}
	buf = fmt.Appendf(buf, "%08x ", crc32.Checksum(body, castagnoli))
	buf = append(buf, body...)
	return append(buf, '\n'), nil
}

// Files returns a copy of the durable offset of every file the journal
// considers open.
func (j *Journal) Files() map[string]int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make(map[string]int64, len(j.state.Files))
	for k, v := range j.state.Files {
		out[k] = v
	}
	return out
}

// Has reports whether the message seq of stream is durable.
func (j *Journal) Has(stream string, seq uint64) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state.Has(stream, seq)
}

// Size returns the current size of the journal file in bytes.
func (j *Journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// Commit appends rec and fsyncs the journal. Only when it returns nil are
// the record's file offset and sequences durable. After an error the
// in-memory state is unchanged and the journal is marked dirty: whether the
// file holds the record is unknown until [Journal.Clean] (or the next Commit)
// rewrites it from memory.
func (j *Journal) Commit(rec Record) error {
	line, err := encode(nil, rec)
	if err != nil {
		return fmt.Errorf("commit journal %s: %w", j.path, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("commit journal %s: %w", j.path, os.ErrClosed)
	}
	if j.dirty {
		if err := j.compactLocked(); err != nil {
			return err
		}
	}
	n, err := j.f.WriteAt(line, j.size)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		j.dirty = true
		return fmt.Errorf("commit journal %s: %w", j.path, err)
	}
	j.size += int64(n)
	j.state.apply(rec)
	return nil
}

// Closed forgets the file (it was finalized and renamed). The next Compact
// drops it.
func (j *Journal) Closed(file string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.state.Files, file)
}

// Forget drops the sequences of stream at or below floor: the consumer's ack
// floor has passed them, so they are never redelivered. The next Compact
// drops them from the file.
func (j *Journal) Forget(stream string, floor uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for q := range j.state.Seqs[stream] {
		if q <= floor {
			delete(j.state.Seqs[stream], q)
		}
	}
}

// Clean makes sure the journal file holds exactly the in-memory state after
// a failed Commit, by compacting it. It does nothing when no Commit failed.
func (j *Journal) Clean() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.dirty {
		return nil
	}
	return j.compactLocked()
}

// Compact rewrites the journal from the in-memory state through a temporary
// file, fsync and rename, then syncs the directory.
func (j *Journal) Compact() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.compactLocked()
}

func (j *Journal) compactLocked() error {
	if j.f == nil {
		return fmt.Errorf("compact journal %s: %w", j.path, os.ErrClosed)
	}
	var buf []byte
	var err error
	for _, file := range sortedKeys(j.state.Files) {
		if buf, err = encode(buf, Record{File: file, Offset: j.state.Files[file]}); err != nil {
			return fmt.Errorf("compact journal %s: %w", j.path, err)
		}
	}
	for _, stream := range sortedKeys(j.state.Seqs) {
		seqs := sortedKeys(j.state.Seqs[stream])
		for len(seqs) > 0 {
			n := min(len(seqs), seqsPerLine)
			if buf, err = encode(buf, Record{Stream: stream, Seqs: seqs[:n]}); err != nil {
				return fmt.Errorf("compact journal %s: %w", j.path, err)
			}
			seqs = seqs[n:]
		}
	}
	tmp := j.path + ".tmp"
	if err := writeSync(tmp, buf); err != nil {
		return fmt.Errorf("compact journal %s: %w", j.path, err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("compact journal %s: %w", j.path, err)
	}
	// From here on the open descriptor points at the replaced file: until a
	// compaction completes, Commit must not append through it.
	if err := syncDir(filepath.Dir(j.path)); err != nil {
		j.dirty = true
		return fmt.Errorf("compact journal %s: %w", j.path, err)
	}
	f, err := os.OpenFile(j.path, os.O_RDWR, 0)
	if err != nil {
		j.dirty = true
		return fmt.Errorf("compact journal %s: %w", j.path, err)
	}
	_ = j.f.Close()
	j.f = f
	j.size = int64(len(buf))
	j.dirty = false
	return nil
}

// Close closes the journal file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if err != nil {
		return fmt.Errorf("close journal %s: %w", j.path, err)
	}
	return nil
}

func writeSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func sortedKeys[K string | uint64, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
