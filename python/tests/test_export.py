"""Every signal, exported in each input form, lands in the files field by
field (read back by arrow-go through `otlp-arrow cat`)."""

import base64
import datetime
import json
import unittest

from tests import otlp_pb, support
import otlp_arrow

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
PARENT_ID = "eee19b7ec3c1b173"
START = 1_700_000_000_123_456_789
END = 1_700_000_000_250_000_000  # a whole microsecond, as a datetime can hold
END_DT = datetime.datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=datetime.timezone.utc)
FORMS = ("dict", "json_str", "json_bytes", "protobuf")


def kv(key, value):
    return {"key": key, "value": value}


def resource(service):
    return {"attributes": [kv("service.name", {"stringValue": service}), kv("host", {"stringValue": "h1"})]}


SCOPE = {"name": "shop", "version": "1.2"}
SPAN_ATTRS = [
    kv("http.route", {"stringValue": "/cart"}),
    kv("http.status_code", {"intValue": "200"}),
    kv("ratio", {"doubleValue": 0.5}),
    kv("cached", {"boolValue": True}),
    kv("blob", {"bytesValue": base64.b64encode(b"\x00\x01").decode()}),
    kv("tags", {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}),
    kv("none", {}),
]
# The same attributes as the shorthand takes them.
SHORT_ATTRS = {
    "http.route": "/cart", "http.status_code": 200, "ratio": 0.5, "cached": True,
    "blob": b"\x00\x01", "tags": ["a", 1], "none": None,
}


def trace_request(service):
    span = {
        "traceId": TRACE_ID, "spanId": SPAN_ID, "parentSpanId": PARENT_ID, "traceState": "a=b",
        "name": "GET /cart", "kind": 2, "startTimeUnixNano": str(START), "endTimeUnixNano": str(END),
        "attributes": SPAN_ATTRS, "status": {"code": 2, "message": "boom"},
    }
    return {"resourceSpans": [{"resource": resource(service), "scopeSpans": [{"scope": SCOPE, "spans": [span]}]}]}


def encoded(form, request, spec):
    """request in one of FORMS."""
    if form == "dict":
        return request
    if form == "json_str":
        return json.dumps(request)
    if form == "json_bytes":
        return (" \n" + json.dumps(request)).encode()
    return otlp_pb.encode(request, spec)


def check_attrs(test, row, prefix="attributes"):
    """The columns of SPAN_ATTRS / SHORT_ATTRS."""
    test.assertEqual(row[f"{prefix}_str"], {"http.route": "/cart"})
    test.assertEqual(row[f"{prefix}_int"], {"http.status_code": 200})
    test.assertEqual(row[f"{prefix}_double"], {"ratio": 0.5})
    test.assertEqual(row[f"{prefix}_bool"], {"cached": True})
    test.assertEqual(row[f"{prefix}_bytes"], {"blob": base64.b64encode(b"\x00\x01").decode()})
    other = {k: json.loads(v) for k, v in row[f"{prefix}_other"].items()}
    test.assertEqual(other, {"tags": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}, "none": {}})


def check_envelope(test, row, service):
    test.assertEqual(row["service_name"], service)
    test.assertEqual(row["resource_attributes_str"], {"service.name": service, "host": "h1"})
    test.assertEqual(row["scope_name"], "shop")
    test.assertEqual(row["scope_version"], "1.2")


class ExportTest(support.PipelineCase):

    def rows(self, signal, service):
        self.p.flush()
        return support.by(support.read_rows(self.dir, signal), "service_name", service)

    def check_span(self, row, service):
        check_envelope(self, row, service)
        self.assertEqual(row["trace_id"], TRACE_ID)
        self.assertEqual(row["span_id"], SPAN_ID)
        self.assertEqual(row["parent_span_id"], PARENT_ID)
        self.assertEqual(row["trace_state"], "a=b")
        self.assertEqual(row["name"], "GET /cart")
        self.assertEqual(row["kind"], 2)
        self.assertEqual(row["start_time"], support.rfc3339(START))
        self.assertEqual(row["end_time"], support.rfc3339(END))
        self.assertEqual(row["status_code"], 2)
        self.assertEqual(row["status_message"], "boom")
        check_attrs(self, row)

    def test_traces(self):
        for form in FORMS:
            with self.subTest(form=form):
                service = f"traces-{form}"
                got = self.p.export_traces(encoded(form, trace_request(service), otlp_pb.TRACES))
                self.assertEqual(got, otlp_arrow.ExportResult(accepted=1, rejected=0, message=""))
                rows = self.rows("traces", service)
                self.assertEqual(len(rows), 1, rows)
                self.check_span(rows[0], service)

    def test_trace_shorthand(self):
        service = "traces-shorthand"
        got = self.p.export_trace({
            "trace_id": TRACE_ID, "span_id": bytes.fromhex(SPAN_ID), "parent_span_id": PARENT_ID,
            "name": "GET /cart", "kind": "server", "start_time": START, "end_time": END_DT,
            "attributes": SHORT_ATTRS, "status": {"code": "error", "message": "boom"}, "trace_state": "a=b",
            "resource": {"service.name": service, "host": "h1"}, "scope": SCOPE,
        })
        self.assertEqual(got.accepted, 1)
        rows = self.rows("traces", service)
        self.assertEqual(len(rows), 1, rows)
        self.check_span(rows[0], service)

    def test_trace_shorthand_defaults(self):
        # Only the required fields: a root span of kind internal, no status,
        # times given as float seconds.
        service = "traces-shorthand-min"
        self.p.export_trace({"trace_id": TRACE_ID, "span_id": SPAN_ID, "name": "work",
                             "start_time": 1700000000.5, "resource": {"service.name": service}})
        (row,) = self.rows("traces", service)
        self.assertEqual(row["kind"], 1)
        self.assertNotIn("parent_span_id", row)
        # pdata cannot tell an absent status from an empty one, and the
        # schema stores both as null (docs/schema.md).
        self.assertNotIn("status_code", row)
        self.assertNotIn("status_message", row)
        self.assertNotIn("end_time", row)
        self.assertEqual(row["start_time"], support.rfc3339(1_700_000_000_500_000_000))

    # Metrics: a gauge of ints, a monotonic delta sum of doubles, a histogram.
    def metric_request(self, service):
        point = {"timeUnixNano": str(END), "startTimeUnixNano": str(START), "attributes": SPAN_ATTRS}
        metrics = [
            {"name": "queue.size", "description": "items waiting", "unit": "{item}",
             "gauge": {"dataPoints": [dict(point, asInt="-7")]}},
            {"name": "bytes.sent", "unit": "By",
             "sum": {"dataPoints": [dict(point, asDouble=1.5)], "aggregationTemporality": 1, "isMonotonic": True}},
            {"name": "latency", "unit": "ms",
             "histogram": {"dataPoints": [dict(point, count="6", sum=42.5, bucketCounts=["1", "2", "3"],
                                               explicitBounds=[10.0, 100.0], min=0.5, max=120.0)],
                           "aggregationTemporality": 2}},
        ]
        return {"resourceMetrics": [{"resource": resource(service), "scopeMetrics": [{"scope": SCOPE, "metrics": metrics}]}]}

    def check_metrics(self, rows, service):
        self.assertEqual(len(rows), 3, rows)
        by_name = {r["metric_name"]: r for r in rows}
        for row in rows:
            check_envelope(self, row, service)
            check_attrs(self, row)
            self.assertEqual(row["time"], support.rfc3339(END))
            self.assertEqual(row["start_time"], support.rfc3339(START))
        g = by_name["queue.size"]
        self.assertEqual((g["metric_type"], g["metric_description"], g["metric_unit"]), ("gauge", "items waiting", "{item}"))
        self.assertEqual(g["value_int"], -7)
        self.assertNotIn("value_double", g)
        s = by_name["bytes.sent"]
        self.assertEqual((s["metric_type"], s["metric_unit"]), ("sum", "By"))
        self.assertEqual((s["value_double"], s["aggregation_temporality"], s["is_monotonic"]), (1.5, 1, True))
        h = by_name["latency"]
        self.assertEqual((h["metric_type"], h["aggregation_temporality"]), ("histogram", 2))
        self.assertEqual((h["count"], h["sum"], h["min"], h["max"]), (6, 42.5, 0.5, 120.0))
        self.assertEqual(h["bucket_counts"], [1, 2, 3])
        self.assertEqual(h["explicit_bounds"], [10.0, 100.0])

    def test_metrics(self):
        for form in FORMS:
            with self.subTest(form=form):
                service = f"metrics-{form}"
                got = self.p.export_metrics(encoded(form, self.metric_request(service), otlp_pb.METRICS))
                self.assertEqual(got.accepted, 3)
                self.check_metrics(self.rows("metrics", service), service)

    def test_metric_shorthand(self):
        service = "metrics-shorthand"
        common = {"time": END_DT, "start_time": START, "attributes": SHORT_ATTRS,
                  "resource": {"service.name": service, "host": "h1"}, "scope": SCOPE}
        self.p.export_metric(dict(common, name="queue.size", description="items waiting", unit="{item}", value=-7))
        self.p.export_metric(dict(common, name="bytes.sent", unit="By", type="sum", value=1.5,
                                  monotonic=True, temporality="delta"))
        got = self.p.export_metric(dict(common, name="latency", unit="ms", type="histogram", count=6, sum=42.5,
                                        bucket_counts=[1, 2, 3], explicit_bounds=[10, 100], min=0.5, max=120))
        self.assertEqual(got.accepted, 1)
        self.check_metrics(self.rows("metrics", service), service)

    # Logs: a string body with every field, and a structured body.
    def log_request(self, service):
        records = [
            {"timeUnixNano": str(END), "observedTimeUnixNano": str(START), "severityNumber": 13,
             "severityText": "WARN", "body": {"stringValue": "disk almost full"}, "attributes": SPAN_ATTRS,
             "traceId": TRACE_ID, "spanId": SPAN_ID, "flags": 1, "eventName": "disk.low"},
            {"timeUnixNano": str(END), "severityNumber": 17,
             "body": {"kvlistValue": {"values": [kv("free", {"intValue": "3"})]}}},
        ]
        return {"resourceLogs": [{"resource": resource(service), "scopeLogs": [{"scope": SCOPE, "logRecords": records}]}]}

    def check_logs(self, rows, service):
        self.assertEqual(len(rows), 2, rows)
        for row in rows:
            check_envelope(self, row, service)
            self.assertEqual(row["time"], support.rfc3339(END))
        first, second = sorted(rows, key=lambda r: r["severity_number"])
        self.assertEqual(first["body"], "disk almost full")
        self.assertNotIn("body_json", first)
        self.assertEqual((first["severity_number"], first["severity_text"]), (13, "WARN"))
        self.assertEqual(first["observed_time"], support.rfc3339(START))
        self.assertEqual((first["trace_id"], first["span_id"], first["flags"]), (TRACE_ID, SPAN_ID, 1))
        self.assertEqual(first["event_name"], "disk.low")
        check_attrs(self, first)
        self.assertEqual(second["severity_number"], 17)
        self.assertNotIn("body", second)
        self.assertEqual(json.loads(second["body_json"]), {"kvlistValue": {"values": [kv("free", {"intValue": "3"})]}})

    def test_logs(self):
        for form in FORMS:
            with self.subTest(form=form):
                service = f"logs-{form}"
                got = self.p.export_logs(encoded(form, self.log_request(service), otlp_pb.LOGS))
                self.assertEqual(got.accepted, 2)
                self.check_logs(self.rows("logs", service), service)

    def test_log_shorthand(self):
        service = "logs-shorthand"
        res = {"service.name": service, "host": "h1"}
        self.p.export_log({"body": "disk almost full", "severity": "warn", "time": END_DT, "observed_time": START,
                           "attributes": SHORT_ATTRS, "trace_id": TRACE_ID, "span_id": SPAN_ID, "flags": 1,
                           "event_name": "disk.low", "resource": res, "scope": SCOPE})
        self.p.export_log({"body": {"free": 3}, "severity": 17, "time": END, "resource": res, "scope": SCOPE})
        rows = self.rows("logs", service)
        self.check_logs(rows, service)
        self.assertEqual([r["severity_text"] for r in rows if r["severity_number"] == 17], [""])

    def test_special_values(self):
        # NaN and the infinities travel as OTLP JSON's strings; 64-bit
        # integers keep every bit.
        service = "special-values"
        res = {"service.name": service}
        self.p.export_metric({"name": "nan", "value": float("nan"), "resource": res,
                              "attributes": {"inf": float("inf"), "max": 2**63 - 1, "min": -(2**63)}})
        self.p.export_metric({"name": "h", "type": "histogram", "sum": float("-inf"), "bucket_counts": [2],
                              "resource": res})
        rows = {r["metric_name"]: r for r in self.rows("metrics", service)}
        self.assertEqual(rows["nan"]["value_double"], "NaN")  # cat prints non-finite floats as strings
        self.assertEqual(rows["nan"]["attributes_double"], {"inf": "+Inf"})
        self.assertEqual(rows["nan"]["attributes_int"], {"max": 2**63 - 1, "min": -(2**63)})
        self.assertEqual((rows["h"]["sum"], rows["h"]["count"], rows["h"]["bucket_counts"]), ("-Inf", 2, [2]))
        with self.assertRaises(otlp_arrow.InvalidData):
            self.p.export_metric({"name": "big", "value": 2**63, "resource": res})


if __name__ == "__main__":
    unittest.main()
