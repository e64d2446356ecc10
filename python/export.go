package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	"github.com/otlp-arrow/otlp-arrow/proto/schema"
)

// Every exported function answers a JSON document in a C string the caller
// frees with otlpa_free: {"ok": VALUE} on success, {"error": MESSAGE,
// "kind": KIND} on failure (KIND from kindOf).

// call runs fn and marshals its result or error into a new C string. A
// panic in fn becomes an error answer: it must not take the host process
// down with it.
func call(fn func() (any, error)) (answer *C.char) {
	defer func() {
		if r := recover(); r != nil {
			answer = encode(nil, fmt.Errorf("otlp_arrow: internal error: %v", r))
		}
	}()
	return encode(fn())
}

func encode(v any, err error) *C.char {
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
	return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)))
}

// noResult adapts a function that returns only an error.
func noResult(err error) (any, error) { return nil, err }

//export otlpa_start
func otlpa_start(doc *C.char, n C.longlong) *C.char {
	return call(func() (any, error) { return start(goBytes(doc, n)) })
}

var signals = []schema.Signal{schema.Traces, schema.Metrics, schema.Logs}

//export otlpa_export
func otlpa_export(h C.longlong, signal C.int, format C.int, data *C.char, n C.longlong) *C.char {
	return call(func() (any, error) {
		if signal < 0 || int(signal) >= len(signals) {
			return nil, fmt.Errorf("%w: unknown signal %d", errInvalidData, signal)
		}
		return export(int64(h), signals[signal], Format(format), goBytes(data, n))
	})
}

//export otlpa_flush
func otlpa_flush(h C.longlong, timeoutMillis C.longlong) *C.char {
	return call(func() (any, error) { return noResult(flush(int64(h), time.Duration(timeoutMillis)*time.Millisecond)) })
}

//export otlpa_shutdown
func otlpa_shutdown(h C.longlong, timeoutMillis C.longlong) *C.char {
	return call(func() (any, error) {
		return noResult(shutdown(int64(h), time.Duration(timeoutMillis)*time.Millisecond))
	})
}

//export otlpa_listen
func otlpa_listen(h C.longlong) *C.char {
	return call(func() (any, error) { return listen(int64(h)) })
}

//export otlpa_free
func otlpa_free(s *C.char) {
	C.free(unsafe.Pointer(s))
}

func main() {}
