"""A small OTLP protobuf encoder for the tests: it turns a request in the
OTLP JSON shape into protobuf bytes, from the field numbers of the
opentelemetry-proto .proto files, independently of the Go code under test.
It covers the fields the tests use."""

import base64
import struct

# kinds: str, bool, varint (int64 as str or int, enums, uint32), fixed64,
# sfixed64, fixed32, double, hex (ids), b64 (bytes), or a message spec (dict).
ANY = {}
KV = {"key": (1, "str"), "value": (2, ANY)}
ANY.update({
    "stringValue": (1, "str"),
    "boolValue": (2, "bool"),
    "intValue": (3, "varint"),
    "doubleValue": (4, "double"),
    "arrayValue": (5, {"values": (1, ANY)}),
    "kvlistValue": (6, {"values": (1, KV)}),
    "bytesValue": (7, "b64"),
})
RESOURCE = {"attributes": (1, KV), "droppedAttributesCount": (2, "varint")}
SCOPE = {"name": (1, "str"), "version": (2, "str"), "attributes": (3, KV), "droppedAttributesCount": (4, "varint")}

SPAN = {
    "traceId": (1, "hex"), "spanId": (2, "hex"), "traceState": (3, "str"), "parentSpanId": (4, "hex"),
    "name": (5, "str"), "kind": (6, "varint"), "startTimeUnixNano": (7, "fixed64"),
    "endTimeUnixNano": (8, "fixed64"), "attributes": (9, KV), "droppedAttributesCount": (10, "varint"),
    "status": (15, {"message": (2, "str"), "code": (3, "varint")}), "flags": (16, "fixed32"),
}
TRACES = {"resourceSpans": (1, {
    "resource": (1, RESOURCE),
    "scopeSpans": (2, {"scope": (1, SCOPE), "spans": (2, SPAN), "schemaUrl": (3, "str")}),
    "schemaUrl": (3, "str"),
})}

NUMBER_POINT = {
    "startTimeUnixNano": (2, "fixed64"), "timeUnixNano": (3, "fixed64"), "asDouble": (4, "double"),
    "asInt": (6, "sfixed64"), "attributes": (7, KV), "flags": (8, "varint"),
}
HISTOGRAM_POINT = {
    "startTimeUnixNano": (2, "fixed64"), "timeUnixNano": (3, "fixed64"), "count": (4, "fixed64"),
    "sum": (5, "double"), "bucketCounts": (6, "fixed64"), "explicitBounds": (7, "double"),
    "attributes": (9, KV), "flags": (10, "varint"), "min": (11, "double"), "max": (12, "double"),
}
METRIC = {
    "name": (1, "str"), "description": (2, "str"), "unit": (3, "str"),
    "gauge": (5, {"dataPoints": (1, NUMBER_POINT)}),
    "sum": (7, {"dataPoints": (1, NUMBER_POINT), "aggregationTemporality": (2, "varint"), "isMonotonic": (3, "bool")}),
    "histogram": (9, {"dataPoints": (1, HISTOGRAM_POINT), "aggregationTemporality": (2, "varint")}),
}
METRICS = {"resourceMetrics": (1, {
    "resource": (1, RESOURCE),
    "scopeMetrics": (2, {"scope": (1, SCOPE), "metrics": (2, METRIC), "schemaUrl": (3, "str")}),
    "schemaUrl": (3, "str"),
})}

LOG_RECORD = {
    "timeUnixNano": (1, "fixed64"), "severityNumber": (2, "varint"), "severityText": (3, "str"),
    "body": (5, ANY), "attributes": (6, KV), "droppedAttributesCount": (7, "varint"), "flags": (8, "fixed32"),
    "traceId": (9, "hex"), "spanId": (10, "hex"), "observedTimeUnixNano": (11, "fixed64"), "eventName": (12, "str"),
}
LOGS = {"resourceLogs": (1, {
    "resource": (1, RESOURCE),
    "scopeLogs": (2, {"scope": (1, SCOPE), "logRecords": (2, LOG_RECORD), "schemaUrl": (3, "str")}),
    "schemaUrl": (3, "str"),
})}


def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, wire, payload):
    return _varint(num << 3 | wire) + payload


def _scalar(num, kind, v):
    if kind == "str":
        b = v.encode()
        return _field(num, 2, _varint(len(b)) + b)
    if kind in ("hex", "b64"):
        b = bytes.fromhex(v) if kind == "hex" else base64.b64decode(v)
        return _field(num, 2, _varint(len(b)) + b)
    if kind == "bool":
        return _field(num, 0, _varint(1 if v else 0))
    if kind == "varint":
        return _field(num, 0, _varint(int(v)))
    if kind == "fixed64":
        return _field(num, 1, struct.pack("<Q", int(v)))
    if kind == "sfixed64":
        return _field(num, 1, struct.pack("<q", int(v)))
    if kind == "fixed32":
        return _field(num, 5, struct.pack("<I", int(v)))
    if kind == "double":
        return _field(num, 1, struct.pack("<d", float(v)))
    raise ValueError(kind)


def encode(msg, spec):
    """The protobuf bytes of msg, a dict in the OTLP JSON shape, per spec."""
    out = bytearray()
    for key, value in msg.items():
        num, kind = spec[key]
        for v in value if isinstance(value, list) else [value]:
            if isinstance(kind, dict):
                body = encode(v, kind)
                out += _field(num, 2, _varint(len(body)) + body)
            else:
                out += _scalar(num, kind, v)
    return bytes(out)
