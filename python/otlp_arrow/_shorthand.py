"""The shorthand records (one span, one metric point, one log record as a
flat dict) turned into OTLP JSON requests."""

import base64
import datetime
import math
import numbers

from ._errors import InvalidData

_INT64 = (-(1 << 63), (1 << 63) - 1)

SPAN_KINDS = {"unspecified": 0, "internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
STATUS_CODES = {"unset": 0, "ok": 1, "error": 2}
# Severity names, with Python's logging names beside OpenTelemetry's.
SEVERITIES = {
    "TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "WARNING": 13,
    "ERROR": 17, "FATAL": 21, "CRITICAL": 21,
}
TEMPORALITIES = {"unspecified": 0, "delta": 1, "cumulative": 2}


def _bad(what, value, want):
    return InvalidData(f"{what} = {value!r}: {want}")


def any_value(v, what="attribute"):
    """An attribute or body value in OTLP JSON (AnyValue)."""
    if v is None:
        return {}
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, numbers.Integral):
        v = int(v)
        if not _INT64[0] <= v <= _INT64[1]:
            raise _bad(what, v, "want an integer that fits in 64 bits")
        return {"intValue": str(v)}
    if isinstance(v, numbers.Real):
        return {"doubleValue": _double(v)}
    if isinstance(v, str):
        return {"stringValue": v}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"bytesValue": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [any_value(e, what) for e in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": attributes(v, what)}}
    raise _bad(what, v, "want None, bool, int, float, str, bytes, a list or a dict of these")


def _double(v):
    f = float(v)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


def attributes(attrs, what="attributes"):
    """A dict of attributes as OTLP JSON key-values."""
    if attrs is None:
        return []
    if not isinstance(attrs, dict):
        raise _bad(what, attrs, "want a dict of str to values")
    out = []
    for k, v in attrs.items():
        if not isinstance(k, str):
            raise _bad(what, k, "want str keys")
        out.append({"key": k, "value": any_value(v, f"{what}[{k!r}]")})
    return out


def time_ns(t, what):
    """A time as a decimal string of nanoseconds since the Unix epoch: an int
    (nanoseconds), a float (seconds, as time.time() gives) or a datetime
    (a naive one is local time, as datetime.timestamp() takes it)."""
    if t is None:
        return None
    if isinstance(t, bool):
        raise _bad(what, t, "want nanoseconds (int), seconds (float) or a datetime")
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            t = t.astimezone()  # local time, as datetime.timestamp() does
        delta = t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        ns = (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    elif isinstance(t, numbers.Integral):
        ns = int(t)
    elif isinstance(t, numbers.Real) and math.isfinite(t):
        ns = round(float(t) * 1e9)
    else:
        raise _bad(what, t, "want nanoseconds (int), seconds (float) or a datetime")
    if not 0 <= ns < 1 << 64:
        raise _bad(what, t, "want a time after 1970 (nanoseconds that fit in 64 bits)")
    return str(ns)


def hex_id(v, size, what):
    """An id of size bytes as hex: bytes, or a hex str of 2*size digits."""
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
    elif isinstance(v, str):
        try:
            b = bytes.fromhex(v)
        except ValueError:
            raise _bad(what, v, f"want {2 * size} hex digits") from None
    else:
        raise _bad(what, v, f"want {2 * size} hex digits or {size} bytes")
    if len(b) != size:
        raise _bad(what, v, f"want {2 * size} hex digits or {size} bytes")
    return b.hex()


def _enum(v, names, what, strip=""):
    if isinstance(v, bool):
        raise _bad(what, v, f"want one of {', '.join(names)} or its number")
    if isinstance(v, numbers.Integral) and int(v) in names.values():
        return int(v)
    if isinstance(v, str):
        key = v.lower()
        if strip and key.startswith(strip):
            key = key[len(strip):]
        if key in names:
            return names[key]
    raise _bad(what, v, f"want one of {', '.join(names)} or its number")


def _check_keys(record, allowed, what):
    if not isinstance(record, dict):
        raise InvalidData(f"{what}: want a dict, got {type(record).__name__}")
    unknown = sorted(set(record) - set(allowed))
    if unknown:
        raise InvalidData(f"{what}: unknown keys {unknown}; want some of {sorted(allowed)}")


def _resource(record):
    return {"attributes": attributes(record.get("resource"), "resource")}


def _scope(record):
    s = record.get("scope")
    if s is None:
        return {}
    if isinstance(s, str):
        return {"name": s}
    if isinstance(s, dict) and set(s) <= {"name", "version"}:
        return {k: str(v) for k, v in s.items() if v is not None}
    raise _bad("scope", s, "want a name or a dict with name and version")


def _put(d, key, value):
    if value is not None:
        d[key] = value


SPAN_KEYS = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time",
    "attributes", "status", "trace_state", "resource", "scope",
)


def span_request(span):
    """An OTLP JSON trace request holding the one span of the shorthand."""
    _check_keys(span, SPAN_KEYS, "span")
    for key in ("trace_id", "span_id", "name"):
        if span.get(key) is None:
            raise InvalidData(f"span: {key} is required")
    name = span["name"]
    if not isinstance(name, str):
        raise _bad("name", name, "want a str")
    s = {
        "traceId": hex_id(span["trace_id"], 16, "trace_id"),
        "spanId": hex_id(span["span_id"], 8, "span_id"),
        "name": name,
        "kind": _enum(span.get("kind", "internal"), SPAN_KINDS, "kind", "span_kind_"),
        "attributes": attributes(span.get("attributes")),
    }
    _put(s, "parentSpanId", hex_id(span.get("parent_span_id"), 8, "parent_span_id"))
    _put(s, "startTimeUnixNano", time_ns(span.get("start_time"), "start_time"))
    _put(s, "endTimeUnixNano", time_ns(span.get("end_time"), "end_time"))
    _put(s, "traceState", span.get("trace_state"))
    status = span.get("status")
    if status is not None:
        if isinstance(status, dict):
            if not set(status) <= {"code", "message"}:
                raise _bad("status", status, "want a code, or a dict with code and message")
            code, message = status.get("code", "unset"), status.get("message")
        else:
            code, message = status, None
        st = {"code": _enum(code, STATUS_CODES, "status code", "status_code_")}
        _put(st, "message", message)
        s["status"] = st
    return {"resourceSpans": [{"resource": _resource(span), "scopeSpans": [{"scope": _scope(span), "spans": [s]}]}]}


METRIC_KEYS = (
    "name", "description", "unit", "type", "value", "time", "start_time", "attributes",
    "monotonic", "temporality", "count", "sum", "bucket_counts", "explicit_bounds", "min", "max",
    "resource", "scope",
)


def _number(v, what):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise _bad(what, v, "want an int or a float")
    if isinstance(v, numbers.Integral):
        if not _INT64[0] <= int(v) <= _INT64[1]:
            raise _bad(what, v, "want an integer that fits in 64 bits")
        return {"asInt": str(int(v))}
    return {"asDouble": _double(v)}


def _real(v, what):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise _bad(what, v, "want an int or a float")
    return _double(v)


def _count(v, what):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= int(v) < 1 << 64:
        raise _bad(what, v, "want a count (an int >= 0)")
    return str(int(v))


def metric_request(point):
    """An OTLP JSON metrics request holding the one data point of the shorthand."""
    _check_keys(point, METRIC_KEYS, "metric")
    name = point.get("name")
    if not isinstance(name, str) or not name:
        raise _bad("name", name, "want a metric name (str)")
    typ = point.get("type", "gauge")
    dp = {"attributes": attributes(point.get("attributes"))}
    _put(dp, "timeUnixNano", time_ns(point.get("time"), "time"))
    _put(dp, "startTimeUnixNano", time_ns(point.get("start_time"), "start_time"))
    m = {"name": name}
    _put(m, "description", point.get("description"))
    _put(m, "unit", point.get("unit"))
    temporality = _enum(point.get("temporality", "cumulative"), TEMPORALITIES, "temporality", "aggregation_temporality_")
    only = {"gauge": (), "sum": ("monotonic", "temporality"),
            "histogram": ("temporality", "count", "sum", "bucket_counts", "explicit_bounds", "min", "max")}
    if typ not in only:
        raise _bad("type", typ, "want gauge, sum or histogram")
    extra = [k for k in ("monotonic", "temporality", "count", "sum", "bucket_counts", "explicit_bounds", "min", "max")
             if k in point and k not in only[typ]]
    if extra:
        raise InvalidData(f"metric: {extra} do not apply to a {typ}")
    if typ in ("gauge", "sum"):
        if "value" not in point:
            raise InvalidData(f"metric: a {typ} needs a value")
        dp.update(_number(point["value"], "value"))
        if typ == "gauge":
            m["gauge"] = {"dataPoints": [dp]}
        else:
            monotonic = point.get("monotonic", False)
            if not isinstance(monotonic, bool):
                raise _bad("monotonic", monotonic, "want True or False")
            m["sum"] = {"dataPoints": [dp], "aggregationTemporality": temporality, "isMonotonic": monotonic}
        return _metrics(point, m)
    if "value" in point:
        raise InvalidData("metric: a histogram takes count, sum, bucket_counts, explicit_bounds, min and max, not value")
    buckets = point.get("bucket_counts", [])
    bounds = point.get("explicit_bounds", [])
    if not isinstance(buckets, (list, tuple)) or not isinstance(bounds, (list, tuple)):
        raise InvalidData("metric: bucket_counts and explicit_bounds want lists")
    if buckets and len(buckets) != len(bounds) + 1:
        raise InvalidData(f"metric: {len(buckets)} bucket_counts for {len(bounds)} explicit_bounds: want one more count than bounds")
    dp["bucketCounts"] = [_count(c, "bucket_counts") for c in buckets]
    dp["explicitBounds"] = [_real(b, "explicit_bounds") for b in bounds]
    dp["count"] = _count(point.get("count", sum(int(c) for c in buckets)), "count")
    for key in ("sum", "min", "max"):
        if point.get(key) is not None:
            dp[key] = _real(point[key], key)
    m["histogram"] = {"dataPoints": [dp], "aggregationTemporality": temporality}
    return _metrics(point, m)


def _metrics(point, m):
    return {"resourceMetrics": [{"resource": _resource(point), "scopeMetrics": [{"scope": _scope(point), "metrics": [m]}]}]}


LOG_KEYS = (
    "body", "severity", "severity_text", "time", "observed_time", "attributes",
    "trace_id", "span_id", "flags", "event_name", "resource", "scope",
)


def log_request(record):
    """An OTLP JSON logs request holding the one log record of the shorthand."""
    _check_keys(record, LOG_KEYS, "log")
    r = {"attributes": attributes(record.get("attributes"))}
    if "body" in record:
        r["body"] = any_value(record["body"], "body")
    sev = record.get("severity")
    text = record.get("severity_text")
    if sev is not None:
        if isinstance(sev, str):
            name = sev.upper()
            if name not in SEVERITIES:
                raise _bad("severity", sev, f"want 1 to 24 or one of {', '.join(SEVERITIES)}")
            r["severityNumber"] = SEVERITIES[name]
            if text is None:
                text = name
        elif isinstance(sev, numbers.Integral) and not isinstance(sev, bool) and 0 <= int(sev) <= 24:
            r["severityNumber"] = int(sev)
        else:
            raise _bad("severity", sev, f"want 1 to 24 or one of {', '.join(SEVERITIES)}")
    if text is not None:
        if not isinstance(text, str):
            raise _bad("severity_text", text, "want a str")
        r["severityText"] = text
    _put(r, "timeUnixNano", time_ns(record.get("time"), "time"))
    _put(r, "observedTimeUnixNano", time_ns(record.get("observed_time"), "observed_time"))
    _put(r, "traceId", hex_id(record.get("trace_id"), 16, "trace_id"))
    _put(r, "spanId", hex_id(record.get("span_id"), 8, "span_id"))
    flags = record.get("flags")
    if flags is not None:
        if isinstance(flags, bool) or not isinstance(flags, numbers.Integral) or not 0 <= int(flags) < 1 << 32:
            raise _bad("flags", flags, "want an int of 32 bits")
        r["flags"] = int(flags)
    event = record.get("event_name")
    if event is not None:
        if not isinstance(event, str):
            raise _bad("event_name", event, "want a str")
        r["eventName"] = event
    return {"resourceLogs": [{"resource": _resource(record), "scopeLogs": [{"scope": _scope(record), "logRecords": [r]}]}]}
