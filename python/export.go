package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Every exported function answers a JSON document in a C string the caller
// frees with otlpa_free: {"ok": VALUE} on success, {"error": MESSAGE,
// "kind": KIND} on failure (KIND from kindOf).

// reply marshals a result or an error into a new C string.
func reply(v any, err error) *C.char {
	var doc any
	if err != nil {
		doc = map[string]string{"error": err.Error(), "kind": kindOf(err)}
	} else {
		doc = map[string]any{"ok": v}
	}
	b, merr := json.Marshal(doc)
	if merr != nil {
		b, _ = json.Marshal(map[string]string{"error": merr.Error(), "kind": kindError})
	}
	return C.CString(string(b))
}

// goBytes copies n bytes at p: the caller's buffer lives only for the call.
func goBytes(p *C.char, n C.longlong) []byte {
	if n <= 0 || p == nil {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

//export otlpa_start
func otlpa_start(doc *C.char, n C.longlong) *C.char {
	return reply(start(goBytes(doc, n)))
}

var signals = []schema.Signal{schema.Traces, schema.Metrics, schema.Logs}

//export otlpa_export
func otlpa_export(h C.longlong, signal C.int, format C.int, data *C.char, n C.longlong) *C.char {
	if signal < 0 || int(signal) >= len(signals) {
		return reply(export(int64(h), schema.Signal(""), Format(format), nil))
	}
	return reply(export(int64(h), signals[signal], Format(format), goBytes(data, n)))
}

//export otlpa_flush
func otlpa_flush(h C.longlong, timeoutMillis C.longlong) *C.char {
	return reply(nil, flush(int64(h), time.Duration(timeoutMillis)*time.Millisecond))
}

//export otlpa_shutdown
func otlpa_shutdown(h C.longlong, timeoutMillis C.longlong) *C.char {
	return reply(nil, shutdown(int64(h), time.Duration(timeoutMillis)*time.Millisecond))
}

//export otlpa_listen
func otlpa_listen(h C.longlong) *C.char {
	return reply(listen(int64(h)))
}

//export otlpa_free
func otlpa_free(s *C.char) {
	C.free(unsafe.Pointer(s))
}

func main() {}
