"""Exports from several threads at once all land, each exactly once."""

import shutil
import tempfile
import threading
import unittest

from tests import support
import otlp_arrow

THREADS = 8
PER_THREAD = 50


class ThreadsTest(unittest.TestCase):
    def test_concurrent_exports(self):
        d = tempfile.mkdtemp(prefix="otlp-arrow-threads-")
        self.addCleanup(shutil.rmtree, d, True)
        errors = []
        start = threading.Barrier(THREADS)
        with otlp_arrow.Pipeline(d) as p:
            def work(t):
                try:
                    start.wait()
                    for i in range(PER_THREAD):
                        name = f"t{t}-{i}"
                        if i % 3 == 0:
                            p.export_trace({"trace_id": f"{t:032x}", "span_id": f"{i + 1:016x}", "name": name,
                                            "resource": {"service.name": f"thread-{t}"}})
                        elif i % 3 == 1:
                            p.export_log({"body": name, "resource": {"service.name": f"thread-{t}"}})
                        else:
                            p.export_metric({"name": "n", "value": i, "attributes": {"name": name},
                                             "resource": {"service.name": f"thread-{t}"}})
                        if i % 10 == 0:
                            p.flush()
                except Exception as e:  # reported below
                    errors.append(e)

            threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            p.flush()
            self.assertEqual(errors, [])
            spans = {r["name"] for r in support.read_rows(d, "traces")}
            logs = {r["body"] for r in support.read_rows(d, "logs")}
            points = {r["attributes_str"]["name"] for r in support.read_rows(d, "metrics")}
        for t in range(THREADS):
            for i in range(PER_THREAD):
                name = f"t{t}-{i}"
                self.assertIn(name, (spans, logs, points)[i % 3])
        self.assertEqual(len(spans) + len(logs) + len(points), THREADS * PER_THREAD)


if __name__ == "__main__":
    unittest.main()
