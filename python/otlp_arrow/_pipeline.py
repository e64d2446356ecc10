"""The Pipeline class."""

import datetime
import json
import os
import typing
import weakref

from . import _lib, _shorthand
from ._errors import Closed, ConfigError, InvalidData


class ExportResult(typing.NamedTuple):
    """What an export did: the rows (spans, data points, log records) taken,
    and those refused as invalid with the reason (an OTLP partial success)."""

    accepted: int
    rejected: int = 0
    message: str = ""


def _option(value, name):
    """An option value as the configuration document takes it."""
    if isinstance(value, datetime.timedelta):
        return f"{value // datetime.timedelta(microseconds=1)}us"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{name}: option names are str, got {k!r}")
            out[k] = _option(v, f"{name}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_option(v, name) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ConfigError(f"{name} = {value!r}: want a str, number, bool, timedelta, list or dict")


def _encode(data):
    """(format, bytes) of an export's data: a dict or str is OTLP JSON; bytes
    are OTLP JSON when they start with '{' after white space, else protobuf
    (the library settles the rare protobuf that starts so)."""
    if isinstance(data, dict):
        return _lib.JSON, json.dumps(data, separators=(",", ":")).encode()
    if isinstance(data, str):
        return _lib.JSON, data.encode()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return _lib.AUTO, bytes(data)
    raise InvalidData(
        f"want OTLP protobuf bytes, OTLP JSON (str or bytes) or a dict in the OTLP JSON shape, got {type(data).__name__}"
    )


def _shutdown(handle, pid):
    """Shut a pipeline down when it is collected or at interpreter exit
    (weakref.finalize), unless this process is a fork of its own."""
    if os.getpid() == pid:
        try:
            _lib.call("otlpa_shutdown", handle, 60_000)
        except Exception:  # nothing to report to at exit
            pass


class Pipeline:
    """An otlp-arrow pipeline inside this process: an embedded bus and the
    writer, which puts what is exported into Arrow files under
    output_dir/otlp/<signal>/.

    options take the names of the configuration file's keys, a section as a
    dict (writer={"write_interval": "1s", "compression": "lz4"},
    bus={"sync_interval": "always"}, ...), and are validated as the file is:
    a bad one raises ConfigError (a ValueError) naming it. Durations are
    strings such as "1s" or datetime.timedelta. data_dir, where the bus keeps
    its store, defaults to output_dir/.bus; the janitor runs when a janitor
    section is given; Go's logs go to stderr when a log section is given.

    Use it as a context manager, or call shutdown(); a pipeline still open
    at interpreter exit is shut down then, with what it holds written.
    Every method is safe to call from several threads at once.
    """

    def __init__(self, output_dir, **options):
        doc = {"output_dir": os.fspath(output_dir)}
        for name, value in options.items():
            doc[name] = _option(value, name)
        data = json.dumps(doc).encode()
        self._handle = _lib.call("otlpa_start", data, len(data))
        self._pid = os.getpid()
        self._closed = False
        self.output_dir = doc["output_dir"]
        self._finalizer = weakref.finalize(self, _shutdown, self._handle, self._pid)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    def __repr__(self):
        state = "closed" if self._closed else "running"
        return f"<otlp_arrow.Pipeline {self.output_dir!r} {state}>"

    def _live(self):
        _lib.check_pid(self._pid, "this pipeline was started in")
        if self._closed:
            raise Closed("otlp_arrow: the pipeline is shut down")
        return self._handle

    def _export(self, signal, data):
        handle = self._live()
        fmt, payload = _encode(data)
        got = _lib.call("otlpa_export", handle, signal, fmt, payload, len(payload))
        return ExportResult(got["accepted"], got["rejected"], got.get("message", ""))

    def export_traces(self, data):
        """Export an OTLP trace request: protobuf bytes, OTLP JSON (str or
        bytes) or a dict in the OTLP JSON shape. Returns an ExportResult once
        the spans are durable (synced in the pipeline's bus; in files after
        flush() or the writer's next interval). Raises InvalidData,
        Backpressure (retry later) or Closed."""
        return self._export(_lib.TRACES, data)

    def export_metrics(self, data):
        """Export an OTLP metrics request; see export_traces."""
        return self._export(_lib.METRICS, data)

    def export_logs(self, data):
        """Export an OTLP logs request; see export_traces."""
        return self._export(_lib.LOGS, data)

    def export_trace(self, span):
        """Export one span given as a flat dict (see the README): trace_id,
        span_id, name (required), parent_span_id, kind, start_time, end_time,
        attributes, status, trace_state, resource, scope."""
        self._live()
        return self.export_traces(_shorthand.span_request(span))

    def export_metric(self, point):
        """Export one metric data point given as a flat dict (see the
        README): name, type (gauge, sum, histogram), value, time, ..."""
        self._live()
        return self.export_metrics(_shorthand.metric_request(point))

    def export_log(self, record):
        """Export one log record given as a flat dict (see the README): body,
        severity, time, attributes, trace_id, span_id, ..."""
        self._live()
        return self.export_logs(_shorthand.log_request(record))

    def flush(self, timeout=60.0):
        """Return once everything exported so far (and received by listen())
        is synced to disk in the files. Raises Backpressure when that takes
        longer than timeout seconds."""
        _lib.call("otlpa_flush", self._live(), int(timeout * 1000))

    def listen(self):
        """Also open the OTLP receivers, so other processes can send to this
        pipeline: OTLP/gRPC and OTLP/HTTP (the ingest_grpc options, by default
        127.0.0.1:4317 and 127.0.0.1:4319) and Arrow Flight / OTAP
        (ingest_flight, 127.0.0.1:4318). Returns their addresses by protocol,
        {"grpc": "127.0.0.1:4317", "http": ..., "flight": ...}; calling it
        again returns the same."""
        return _lib.call("otlpa_listen", self._live())

    def shutdown(self, timeout=60.0):
        """Stop the receivers, write what the pipeline holds to the files
        (waiting at most timeout seconds), close the files and stop the bus.
        Calling it again does nothing."""
        if self._closed:
            return
        _lib.check_pid(self._pid, "this pipeline was started in")
        self._closed = True
        self._finalizer.detach()
        _lib.call("otlpa_shutdown", self._handle, int(timeout * 1000))

    @property
    def closed(self):
        """Whether shutdown() was called."""
        return self._closed
