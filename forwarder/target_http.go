package forward

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// maxResponseBody bounds how much of an answer is read.
const maxResponseBody = 64 << 10

// httpTarget sends OTLP/HTTP protobuf requests.
type httpTarget struct {
	client *http.Client
	urls   map[schema.Signal]string
	hdr    http.Header
	gzip   bool
	mem    memory.Allocator
}

var _ target = (*httpTarget)(nil)

func newHTTPTarget(c Config, ep *endpoint, hdr http.Header, mem memory.Allocator) (*httpTarget, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   c.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	if ep.secure {
		tc, err := tlsConfig(c.TLS, ep.host)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	urls := map[schema.Signal]string{}
	for _, sig := range schema.Signals {
		urls[sig] = ep.base + "/v1/" + string(sig)
	}
	h := hdr.Clone()
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("User-Agent", userAgent)
	if c.Compression == "gzip" {
		h.Set("Content-Encoding", "gzip")
	}
	return &httpTarget{
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // never replay credentials to another place
		}},
		urls: urls,
		hdr:  h,
		gzip: c.Compression == "gzip",
		mem:  mem,
	}, nil
}

func (t *httpTarget) prepare(sig schema.Signal, data []byte, keep func(string) bool) (*request, error) {
	msg, rows, err := otlpRequest(sig, data, t.mem, keep)
	if err != nil {
		return nil, err
	}
	body, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("marshal %s request: %w", sig, err)
	}
	if t.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip %s request: %w", sig, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s request: %w", sig, err)
		}
		body = buf.Bytes()
	}
	return &request{sig: sig, rows: rows, body: body}, nil
}

func (t *httpTarget) send(ctx context.Context, req *request) (partial, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, t.urls[req.sig], bytes.NewReader(req.body))
	if err != nil {
		return partial{}, permanentError(err, "http: new request: %v", err)
	}
	hreq.Header = t.hdr.Clone()
	resp, err := t.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return partial{}, retryableError(err, 0, "http: %v", context.Cause(ctx))
		}
		return partial{}, retryableError(err, 0, "http: %v", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil && resp.StatusCode/100 != 2 {
		return partial{}, retryableError(err, 0, "http %d: read answer: %v", resp.StatusCode, err)
	}
	if resp.StatusCode/100 == 2 {
		if len(body) == 0 || !isProtobuf(resp.Header) {
			return partial{}, nil
		}
		r := newResponse(req.sig)
		if proto.Unmarshal(body, r) != nil {
			return partial{}, nil // accepted; an unreadable answer says nothing more
		}
		return partialOf(r), nil
	}
	reason := fmt.Sprintf("http %d: %s", resp.StatusCode, answerMessage(resp.Header, body))
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return partial{}, permanentError(nil, "%s", reason)
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return partial{}, retryableError(nil, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), "%s", reason)
	}
	return partial{}, retryableError(nil, 0, "%s", reason)
}

func (t *httpTarget) close() error {
	t.client.CloseIdleConnections()
	return nil
}

func isProtobuf(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/x-protobuf" || mt == "application/protobuf"
}

// answerMessage returns the message of an error answer: the google.rpc.Status
// message of a protobuf body, or the start of a text body.
func answerMessage(h http.Header, body []byte) string {
	if isProtobuf(h) {
		var st spb.Status
		if proto.Unmarshal(body, &st) == nil {
			return st.GetMessage()
		}
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), ""))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "(empty answer)"
	}
	return s
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
