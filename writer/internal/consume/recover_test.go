package consume

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otlp-arrow/otlp-arrow/writer/internal/journal"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/segment"
)

func TestRecover(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "traces")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	name := func(id string, seq int) segment.Name {
		return segment.Name{Signal: "traces", Start: now, WriterID: id, Seq: seq}
	}
	write := func(n string, size int) {
		if err := os.WriteFile(filepath.Join(dir, n), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(name("w1", 3).String(), 10)   // finished earlier
	write(name("w1", 4).Partial(), 100) // journaled at 40
	write(name("w1", 5).Partial(), 10)  // journaled at 50: shorter, damaged
	write(name("w1", 6).Partial(), 10)  // not journaled
	write(name("w2", 9).Partial(), 10)  // another writer's
	write("notes.txt", 1)

	j, err := journal.Open(JournalPath(root, "w1"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, r := range []journal.Record{
		{File: "traces/" + name("w1", 4).String(), Offset: 40, Stream: "OTLP_TRACES", Seqs: []uint64{1}},
		{File: "traces/" + name("w1", 5).String(), Offset: 50, Stream: "OTLP_TRACES", Seqs: []uint64{2}},
		{File: "traces/" + name("w1", 2).String(), Offset: 50, Stream: "OTLP_TRACES", Seqs: []uint64{3}}, // already renamed
	} {
		if err := j.Commit(r); err != nil {
			t.Fatal(err)
		}
	}

	log := slog.New(slog.DiscardHandler)
	next, err := Recover(root, "w1", []string{"traces", "logs"}, j, log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := next["traces"], 7; got != want {
		t.Fatalf("next traces seq = %d, want %d", got, want)
	}
	if got, want := next["logs"], 1; got != want {
		t.Fatalf("next logs seq = %d, want %d", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, name("w1", 4).String()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Size(), int64(48); got != want {
		t.Fatalf("repaired size = %d, want %d (offset + end-of-stream)", got, want)
	}
	for _, gone := range []string{name("w1", 4).Partial(), name("w1", 5).Partial(), name("w1", 6).Partial()} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there: %v", gone, err)
		}
	}
	for _, kept := range []string{name("w1", 3).String(), name("w1", 5).Partial() + damagedExt, name("w2", 9).Partial(), "notes.txt"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
	if len(j.Files()) != 0 {
		t.Fatalf("journal files after recovery = %v, want none", j.Files())
	}
	if !j.Has("OTLP_TRACES", 1) {
		t.Fatal("recovery forgot journaled sequences")
	}
	// Recovering again changes nothing.
	if _, err := Recover(root, "w1", []string{"traces"}, j, log); err != nil {
		t.Fatal(err)
	}
}
