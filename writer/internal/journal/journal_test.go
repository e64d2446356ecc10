package journal

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCommitReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".writer", "w1.journal")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{
		{File: "traces/a.arrows", Offset: 100, Stream: "OTLP_TRACES", Seqs: []uint64{1, 2}},
		{File: "traces/a.arrows", Offset: 250, Stream: "OTLP_TRACES", Seqs: []uint64{3}},
		{File: "logs/b.arrows", Offset: 40, Stream: "OTLP_LOGS", Seqs: []uint64{9}},
	}
	for _, r := range recs {
		if err := j.Commit(r); err != nil {
			t.Fatal(err)
		}
	}
	if !j.Has("OTLP_TRACES", 3) || j.Has("OTLP_TRACES", 9) || !j.Has("OTLP_LOGS", 9) {
		t.Fatal("Has mismatch after commits")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// Append a torn record (no newline) and reopen.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`00000000 {"file":"traces/a.arrows","off":999`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	j, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if got, want := j.Files(), map[string]int64{"traces/a.arrows": 250, "logs/b.arrows": 40}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Files() = %v, want %v", got, want)
	}
	// The torn tail was cut: a new commit reads back.
	if err := j.Commit(Record{File: "logs/b.arrows", Offset: 80, Stream: "OTLP_LOGS", Seqs: []uint64{10}}); err != nil {
		t.Fatal(err)
	}
	st, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Files["logs/b.arrows"], int64(80); got != want {
		t.Fatalf("offset after reopen commit = %d, want %d", got, want)
	}
	if !st.Has("OTLP_LOGS", 10) || !st.Has("OTLP_TRACES", 1) {
		t.Fatal("Read lost sequences")
	}
}

func TestCorruptLineStopsReading(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.journal")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(Record{File: "x", Offset: 1, Stream: "S", Seqs: []uint64{1}}); err != nil {
		t.Fatal(err)
	}
	size := j.Size()
	if err := j.Commit(Record{File: "x", Offset: 2, Stream: "S", Seqs: []uint64{2}}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[size+12] ^= 0x01 // flip a bit in the second record's body
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Files["x"], int64(1); got != want {
		t.Fatalf("offset = %d, want %d", got, want)
	}
	if st.Has("S", 2) {
		t.Fatal("corrupt record was applied")
	}
}

func TestForgetCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.journal")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var seqs []uint64
	for i := uint64(1); i <= 10000; i++ {
		seqs = append(seqs, i)
	}
	if err := j.Commit(Record{File: "t/a", Offset: 10, Stream: "S", Seqs: seqs}); err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(Record{File: "t/b", Offset: 20, Stream: "T", Seqs: []uint64{5}}); err != nil {
		t.Fatal(err)
	}
	before := j.Size()
	j.Closed("t/a")
	j.Forget("S", 9990)
	if err := j.Compact(); err != nil {
		t.Fatal(err)
	}
	if j.Size() >= before {
		t.Fatalf("size after compact %d, before %d", j.Size(), before)
	}
	if err := j.Commit(Record{Stream: "S", Seqs: []uint64{20000}}); err != nil {
		t.Fatal(err)
	}
	st, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Files, map[string]int64{"t/b": 20}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
	if got, want := len(st.Seqs["S"]), 11; got != want {
		t.Fatalf("len(Seqs[S]) = %d, want %d", got, want)
	}
	if st.Has("S", 9990) || !st.Has("S", 9991) || !st.Has("S", 20000) || !st.Has("T", 5) {
		t.Fatal("wrong sequences after compact")
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("tmp file left: %v", err)
	}
}

func TestReadMissing(t *testing.T) {
	st, err := Read(filepath.Join(t.TempDir(), "nope.journal"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 0 || len(st.Seqs) != 0 {
		t.Fatalf("state = %+v, want empty", st)
	}
}

func TestFailedCommitIsCleaned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.journal")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Commit(Record{File: "f", Offset: 10, Stream: "S", Seqs: []uint64{1}}); err != nil {
		t.Fatal(err)
	}
	// Break the descriptor behind the journal's back, as a failing disk would.
	j.f.Close()
	if err := j.Commit(Record{File: "f", Offset: 20, Stream: "S", Seqs: []uint64{2}}); err == nil {
		t.Fatal("Commit on a broken descriptor succeeded")
	}
	if j.Has("S", 2) {
		t.Fatal("failed commit changed the state")
	}
	if err := j.Clean(); err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(Record{File: "f", Offset: 30, Stream: "S", Seqs: []uint64{3}}); err != nil {
		t.Fatal(err)
	}
	st, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Has("S", 2) || !st.Has("S", 1) || !st.Has("S", 3) || st.Files["f"] != 30 {
		t.Fatalf("state after clean = %+v", st)
	}
}
