package dashboard_test

import (
	"slices"
	"strings"
	"testing"
)

// TestBrowserShell loads the page shell: navigation, help, theme, and the
// bytes of a first load.
func TestBrowserShell(t *testing.T) {
	st := startStack(t)
	p := newPage(t, st.URL)
	p.ignoreAPI = true // the API handlers are checked by TestBrowser
	p.open("#/sql")
	if nav := p.texts("#nav a"); !slices.Equal(nav, []string{"Live", "Traces", "Logs", "Metrics", "Files", "SQL"}) {
		t.Errorf("navigation %q", nav)
	}
	if active := p.texts("#nav a.active"); !slices.Equal(active, []string{"SQL"}) {
		t.Errorf("active view %q, want SQL", active)
	}
	n, list := p.staticBytes()
	t.Logf("first load: %d bytes of pages, styles and scripts\n%s", n, strings.Join(list, "\n"))
	if n <= 0 || n > 300<<10 {
		t.Errorf("first load: %d bytes of pages, styles and scripts, want under 300 KiB", n)
	}
	p.keys("?")
	p.waitJS(`document.getElementById('help').open`, "? to open the keyboard help")
	if keys := p.texts("#help td:first-child"); !slices.Contains(keys, "g t") || !slices.Contains(keys, "j / k") {
		t.Errorf("keyboard help lists %q", keys)
	}
	p.screenshot("help")
	p.click("#help button")
	p.waitJS(`!document.getElementById('help').open`, "the help to close")
	p.click("#theme")
	p.waitJS(`document.documentElement.dataset.theme === 'light'`, "the theme button to choose light")
	p.click("#theme")
	p.waitJS(`document.documentElement.dataset.theme === 'dark'`, "the theme button to choose dark")
	p.click("#theme")
	p.waitJS(`document.documentElement.dataset.theme === undefined`, "the theme button to follow the system again")
	p.keys("gf")
	p.waitJS(`location.hash === '#/files'`, "g f to open the files")
	p.noErrors()
}
