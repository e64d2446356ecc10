// Command python is the C shared library under the Python package
// otlp_arrow: the embedded pipeline (deploy/pipeline) behind a few C
// functions that the package calls through ctypes. Build it with
//
//	go build -buildmode=c-shared -o otlp_arrow/libotlp_arrow.so .
//
// (pip install does, through the package's build backend). Options come as
// a YAML or JSON document in the shape of the configuration file, so they
// are read and validated by deploy/config; requests come as OTLP protobuf
// or OTLP JSON; every answer is a JSON document in a C string that the
// caller frees with otlpa_free.
package main
