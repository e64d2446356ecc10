package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every OTLP_* variable is documented in docs/configuration.md.
func TestConfigurationDocListsEveryVariable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range EnvVars {
		if !strings.Contains(string(doc), "`"+e.name+"`") {
			t.Errorf("docs/configuration.md does not document %s (%s)", e.name, e.key)
		}
	}
}
