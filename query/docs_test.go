package query

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExamples: docs/query.md shows every example, as it runs.
func TestDocsExamples(t *testing.T) {
	b, err := os.ReadFile("../docs/query.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, ex := range Examples {
		if !strings.Contains(doc, "### "+ex.Title+"\n\n```sql\n"+ex.SQL+"\n```\n") {
			t.Errorf("docs/query.md lacks the example %q as it is in examples.go", ex.Title)
		}
	}
}
