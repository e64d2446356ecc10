package dashboard_test

// Helpers for the browser tests: an embedded pipeline (JetStream, the OTLP
// receivers, the writer) with the dashboard over its files and bus, and one
// headless Chromium shared by every browser test of the package, driven by
// chromedp.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otlp-arrow/otlp-arrow/dashboard"
	ingest "github.com/otlp-arrow/otlp-arrow/ingest-grpc"
	"github.com/otlp-arrow/otlp-arrow/proto/bustest"
	"github.com/otlp-arrow/otlp-arrow/writer"
)

// stack is a running pipeline with the dashboard in front of it.
type stack struct {
	OutputDir string
	Conn      *nats.Conn
	OTLPGRPC  string // host:port of the OTLP/gRPC receiver
	OTLPHTTP  string // host:port of the OTLP/HTTP receiver
	URL       string // the dashboard, e.g. http://127.0.0.1:1234
	Dashboard *dashboard.Dashboard
}

// startStack starts JetStream, the OTLP receivers and the writer (writing
// every 100 ms), and the dashboard serving on a loopback httptest server.
// Everything stops when the test ends.
func startStack(t testing.TB) *stack {
	t.Helper()
	_, nc, js := bustest.RunJetStream(t)
	out := t.TempDir()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}

	wcfg := writer.DefaultConfig()
	wcfg.OutputDir = out
	wcfg.WriteInterval = 100 * time.Millisecond
	wcfg.ShutdownTimeout = 5 * time.Second
	w, err := writer.New(wcfg, js, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	run("writer", w.Run)

	icfg := ingest.DefaultConfig()
	icfg.GRPC.Addr = "127.0.0.1:0"
	icfg.HTTP.Addr = "127.0.0.1:0"
	icfg.ShutdownTimeout = 5 * time.Second
	ing, err := ingest.New(icfg, js, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if err := ing.Listen(); err != nil {
		t.Fatalf("ingest listen: %v", err)
	}
	run("ingest", ing.Run)

	d, err := dashboard.New(dashboard.Config{
		OutputDir: out, Addr: "127.0.0.1:0", NoListen: true, Conn: nc,
		IndexInterval: 100 * time.Millisecond, Logger: logger,
	})
	if err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	run("dashboard", d.Run)
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return &stack{
		OutputDir: out, Conn: nc, Dashboard: d, URL: srv.URL,
		OTLPGRPC: ing.GRPCAddr().String(), OTLPHTTP: ing.HTTPAddr().String(),
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// ---- the shared browser ----

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

// chromiumPath finds the browser: TEST_CHROMIUM, then Debian's chromium.
func chromiumPath() string {
	if p := os.Getenv("TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// sharedBrowser returns the context of the package's one headless Chromium,
// started on first use and stopped by TestMain. Without a browser the test
// is skipped, unless TEST_BROWSER_REQUIRED=1 (scripts/test.sh sets it after
// installing chromium), which fails it.
func sharedBrowser(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("TEST_BROWSER_REQUIRED") == "1" {
			t.Fatal("no chromium found (install Debian's chromium, or set TEST_CHROMIUM)")
		}
		t.Skip("no chromium found: install Debian's chromium (scripts/test.sh does) or set TEST_CHROMIUM")
	}
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "otlp-arrow-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Flag("headless", true),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 800),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil { // starts the browser
			bcancel()
			acancel()
			browserErr = fmt.Errorf("start chromium %s: %w", path, err)
			return
		}
		browserCtx = bctx
		browserCancel = func() { bcancel(); acancel(); _ = os.RemoveAll(dir) }
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

// page is one browser tab on the dashboard.
type page struct {
	t    testing.TB
	ctx  context.Context
	base string
	mu   sync.Mutex
	errs []string // console errors, exceptions, CSP violations
	// ignoreAPI leaves failed API requests out of errs.
	ignoreAPI bool
	// static bytes loaded (encoded, over the wire) by URL path
	bytes map[network.RequestID]int64
	urls  map[network.RequestID]string
}

// newPage opens a tab at 1280x800 on the dashboard; it records console
// errors, uncaught exceptions and the bytes of every response.
func newPage(t testing.TB, base string) *page {
	t.Helper()
	p := &page{t: t, base: base, bytes: map[network.RequestID]int64{}, urls: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(sharedBrowser(t), chromedp.WithListener(p.listen))
	t.Cleanup(cancel)
	p.ctx = ctx
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("browser: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("browser: %v", err)
	}
	p.do(chromedp.EmulateViewport(1280, 800))
	return p
}

// listen records what the page reports; it runs in chromedp's event loop.
func (p *page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.errs = append(p.errs, fmt.Sprintf("exception: %s (%s:%d)", msg, d.URL, d.LineNumber))
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			p.errs = append(p.errs, "console.error: "+strings.Join(parts, " "))
		}
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError && !(p.ignoreAPI && strings.Contains(e.Entry.URL, "/api/")) {
			p.errs = append(p.errs, "log: "+e.Entry.Text+" "+e.Entry.URL)
		}
	case *network.EventResponseReceived:
		p.urls[e.RequestID] = e.Response.URL
	case *network.EventLoadingFinished:
		p.bytes[e.RequestID] = int64(e.EncodedDataLength)
	}
}

// do runs actions, each call with a generous deadline (waits poll the page
// until what they wait for is there).
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v (page errors: %v)", err, p.errors())
	}
}

// open navigates to the dashboard at hash (e.g. "#/traces?service=a") and
// waits until the view has mounted and loaded its data.
func (p *page) open(hash string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base+"/"+hash), chromedp.WaitReady(chromedp.CSS(`#view[data-ready]`)))
}

// goHash changes the URL's hash in the loaded page, as a link does, and
// waits until the view has mounted or applied it.
func (p *page) goHash(hash string) {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		document.getElementById('view').removeAttribute('data-ready');
		if (location.hash === %[1]q) window.dispatchEvent(new HashChangeEvent('hashchange'));
		else location.hash = %[1]q;
	})()`, hash)), chromedp.WaitReady(chromedp.CSS(`#view[data-ready]`)))
}

func (p *page) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// noErrors fails the test if the page logged errors (exceptions, CSP
// violations, failed loads) since the last call.
func (p *page) noErrors() {
	p.t.Helper()
	p.mu.Lock()
	errs := p.errs
	p.errs = nil
	p.mu.Unlock()
	if len(errs) > 0 {
		p.t.Errorf("page errors:\n%s", strings.Join(errs, "\n"))
	}
}

// staticBytes is the bytes loaded so far for everything but the API, and
// the list of what was loaded.
func (p *page) staticBytes() (int64, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	var list []string
	for id, b := range p.bytes {
		u := p.urls[id]
		if u == "" || strings.Contains(u, "/api/") {
			continue
		}
		n += b
		list = append(list, fmt.Sprintf("%s %d", strings.TrimPrefix(u, p.base), b))
	}
	return n, list
}

// waitText waits until the element matching sel contains want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.innerText.includes(%q); })()`, sel, want),
		fmt.Sprintf("%s to contain %q", sel, want))
}

// waitJS waits until expr (a JavaScript expression) is true.
func (p *page) waitJS(expr, what string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('view').innerText.slice(0, 3000)`))
			p.t.Fatalf("waited for %s (%v); the view shows:\n%s\npage errors: %v", what, err, text, p.errors())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// eval evaluates expr and decodes its result into T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("browser: evaluate %s: %v (page errors: %v)", expr, err, p.errors())
	}
	return v
}

// texts returns the innerText of every element matching sel.
func (p *page) texts(sel string) []string {
	p.t.Helper()
	return eval[[]string](p, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.innerText.trim())`, sel))
}

// attrs returns the attribute name of every element matching sel.
func (p *page) attrs(sel, name string) []string {
	p.t.Helper()
	return eval[[]string](p, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.getAttribute(%q) || '')`, sel, name))
}

// click clicks the first element matching sel.
func (p *page) click(sel string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeInto types text into the field matching sel.
func (p *page) typeInto(sel, text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// keys types keys on the page (outside any field), e.g. "gl".
func (p *page) keys(keys string) {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`), chromedp.KeyEvent(keys))
}

// screenshot saves the viewport as name.png into TEST_SCREENSHOT_DIR (or the
// test's temporary directory) and checks it decodes as a 1280x800 image.
func (p *page) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() < 1280 || b.Dy() < 800 {
		p.t.Errorf("screenshot %s is %dx%d, want at least 1280x800", name, b.Dx(), b.Dy())
	}
	dir := os.Getenv("TEST_SCREENSHOT_DIR")
	if dir == "" {
		dir = p.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s", path)
}

// getJSON fetches a dashboard API path (from the test, not the browser).
func getJSON(t testing.TB, base, path string) []byte {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, b, err)
	}
	return b
}
