package consume

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/otlp-arrow/otlp-arrow/writer/internal/journal"
	"github.com/otlp-arrow/otlp-arrow/writer/internal/segment"
)

// JournalDir is the directory under the output root holding every writer's
// journal.
const JournalDir = ".writer"

const journalExt = ".journal"

// damagedExt is appended to a leftover file that is shorter than its
// journaled offset (the file system lost synced data); it is kept for a
// human to look at.
const damagedExt = ".damaged"

// JournalPath returns the journal file of writerID under root.
func JournalPath(root, writerID string) string {
	return filepath.Join(root, JournalDir, writerID+journalExt)
}

// Recover finishes writerID's leftover .partial files in the signal
// directories under root, using the journal j: a file the journal names is
// cut back to its journaled offset and finalized; a file it does not name
// holds nothing acknowledged and is removed. Files of other writers are not
// touched. Recover then marks every file in the journal closed and returns,
// per signal directory, the sequence number for the writer's next file.
// Recovering twice is harmless.
func Recover(root, writerID string, signals []string, j *journal.Journal, log *slog.Logger) (map[string]int, error) {
	files := j.Files()
	next := make(map[string]int, len(signals))
	for _, sig := range signals {
		dir := filepath.Join(root, sig)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("recover %s: %w", dir, err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("recover %s: %w", dir, err)
		}
		maxSeq := 0
		for _, e := range entries {
			name, partial, ok := segment.ParseName(e.Name())
			if !ok || name.WriterID != writerID || name.Signal != sig {
				continue
			}
			maxSeq = max(maxSeq, name.Seq)
			if !partial {
				continue
			}
			path := filepath.Join(dir, e.Name())
			off, journaled := files[sig+"/"+name.String()]
			if !journaled {
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("recover: remove unjournaled %s: %w", path, err)
				}
				log.Info("removed leftover file with nothing acknowledged", "file", path)
				continue
			}
			final, err := segment.Repair(path, off)
			if errors.Is(err, segment.ErrShort) {
				log.Error("leftover file is shorter than its journaled size; kept aside", "file", path+damagedExt, "err", err)
				if err := os.Rename(path, path+damagedExt); err != nil {
					return nil, fmt.Errorf("recover: set aside %s: %w", path, err)
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("recover: %w", err)
			}
			log.Info("finished leftover file", "file", final, "bytes", off)
		}
		next[sig] = maxSeq + 1
	}
	for rel := range files {
		j.Closed(rel)
	}
	return next, nil
}
