"""Bad input of each kind raises the right exception, carrying the Go
message, and harms nothing: the next export lands."""

import shutil
import tempfile
import unittest

from tests import otlp_pb, support
import otlp_arrow

TRACE_ID = "5b8efff798038103d269b633813fc60c"


def request(*services):
    """A trace request with one span per (service, trace id)."""
    return {"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]},
         "scopeSpans": [{"spans": [{"traceId": tid, "spanId": "eee19b7ec3c1b174", "name": f"{svc}-span"}]}]}
        for svc, tid in services
    ]}


class OptionsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otlp-arrow-options-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_bad_options(self):
        cases = [
            ({"writr": {}}, "writr"),
            ({"writer": {"compression": "brotli"}}, "writer.compression"),
            ({"writer": {"write_interval": 5}}, "writer.write_interval"),
            ({"bus": {"max_payload": 1}}, "bus.max_payload"),
            ({"writer": {"format": "csv"}}, "writer.format"),
            ({"writer": object()}, "writer"),
        ]
        for options, want in cases:
            with self.subTest(options=options):
                with self.assertRaises(otlp_arrow.ConfigError) as cm:
                    otlp_arrow.Pipeline(self.dir, **options)
                self.assertIsInstance(cm.exception, ValueError)
                self.assertIn(want, str(cm.exception))

    def test_good_options(self):
        import datetime

        with otlp_arrow.Pipeline(self.dir, writer={"write_interval": datetime.timedelta(milliseconds=200),
                                                    "compression": "lz4"},
                                 bus={"sync_interval": "always"}) as p:
            p.export_traces(request(("opts", TRACE_ID)))
        self.assertEqual([r["name"] for r in support.read_rows(self.dir, "traces")], ["opts-span"])


class BadDataTest(support.PipelineCase):

    def assert_next_export_lands(self, service):
        self.assertEqual(self.p.export_traces(request((service, TRACE_ID))).accepted, 1)
        self.p.flush()
        rows = support.by(support.read_rows(self.dir, "traces"), "service_name", service)
        self.assertEqual([r["name"] for r in rows], [f"{service}-span"])

    def test_invalid_requests(self):
        cases = {
            "json_str_not_json": ("export_traces", "not json", "OTLP JSON traces request"),
            "json_wrong_shape": ("export_metrics", '{"resourceMetrics": 5}', "OTLP JSON metrics request"),
            "json_bytes_bad_id": ("export_traces", b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}', "OTLP JSON traces request"),
            "dict_bad_id": ("export_logs", {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"spanId": "00"}]}]}]}, "OTLP JSON logs request"),
            "empty_str": ("export_traces", "", "empty document"),
            "protobuf_garbage": ("export_logs", b"\xff\xff\xff", "OTLP protobuf logs request"),
            "not_data": ("export_traces", 5, "got int"),
            "all_rows_invalid": ("export_traces", otlp_pb.encode(request(("bad", "5b8e")), otlp_pb.TRACES), "invalid TraceID length"),
            "shorthand_bad_id": ("export_trace", {"trace_id": "xyz", "span_id": "eee19b7ec3c1b174", "name": "n"}, "trace_id"),
            "shorthand_missing": ("export_trace", {"span_id": "eee19b7ec3c1b174", "name": "n"}, "trace_id is required"),
            "shorthand_unknown_key": ("export_log", {"body": "x", "sevrity": 3}, "unknown keys ['sevrity']"),
            "shorthand_bad_time": ("export_log", {"body": "x", "time": "yesterday"}, "time"),
            "shorthand_bad_kind": ("export_trace", {"trace_id": TRACE_ID, "span_id": "eee19b7ec3c1b174", "name": "n", "kind": "sideways"}, "kind"),
            "shorthand_bad_attr": ("export_metric", {"name": "m", "value": 1, "attributes": {"a": object()}}, "attributes['a']"),
            "shorthand_bad_type": ("export_metric", {"name": "m", "type": "meter", "value": 1}, "gauge, sum or histogram"),
            "shorthand_buckets": ("export_metric", {"name": "m", "type": "histogram", "bucket_counts": [1, 2], "explicit_bounds": [1, 2]}, "one more count"),
            "shorthand_not_dict": ("export_log", "just text", "want a dict"),
        }
        for name, (method, data, want) in cases.items():
            with self.subTest(name):
                with self.assertRaises(otlp_arrow.InvalidData) as cm:
                    getattr(self.p, method)(data)
                self.assertIsInstance(cm.exception, ValueError)
                self.assertIn(want, str(cm.exception))
                self.assert_next_export_lands(f"after-{name}")

    def test_partial_success(self):
        # One resource's span has a 2-byte trace id: it is refused, the
        # other is written, and the counts say so.
        data = otlp_pb.encode(request(("partial-good", TRACE_ID), ("partial-bad", "5b8e")), otlp_pb.TRACES)
        got = self.p.export_traces(data)
        self.assertEqual((got.accepted, got.rejected), (1, 1))
        self.assertIn('service "partial-bad"', got.message)
        # pdata's decoder names the field: "invalid TraceID length".
        self.assertIn("invalid TraceID length", got.message)
        self.p.flush()
        rows = support.read_rows(self.dir, "traces")
        self.assertEqual(len(support.by(rows, "service_name", "partial-good")), 1)
        self.assertEqual(support.by(rows, "service_name", "partial-bad"), [])


class BackpressureTest(unittest.TestCase):
    def test_stream_full(self):
        d = tempfile.mkdtemp(prefix="otlp-arrow-full-")
        self.addCleanup(shutil.rmtree, d, True)
        # A stream of 100 bytes takes no log record of 1000.
        with otlp_arrow.Pipeline(d, bus={"stream_max_bytes": 100}) as p:
            with self.assertRaises(otlp_arrow.Backpressure) as cm:
                p.export_log({"body": "x" * 1000})
            self.assertIn("stream full", str(cm.exception))
            self.assertNotIsInstance(cm.exception, ValueError)


class ClosedTest(unittest.TestCase):
    def test_use_after_shutdown(self):
        d = tempfile.mkdtemp(prefix="otlp-arrow-closed-")
        self.addCleanup(shutil.rmtree, d, True)
        p = otlp_arrow.Pipeline(d)
        p.export_traces(request(("closed", TRACE_ID)))
        p.shutdown()
        p.shutdown()  # again: nothing
        self.assertTrue(p.closed)
        for call in (lambda: p.export_traces(request(("x", TRACE_ID))), p.flush, p.listen,
                     lambda: p.export_log({"body": "x"})):
            with self.assertRaises(otlp_arrow.Closed):
                call()
        # Shutdown wrote the span.
        self.assertEqual([r["service_name"] for r in support.read_rows(d, "traces")], ["closed"])


if __name__ == "__main__":
    unittest.main()
