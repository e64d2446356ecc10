"""A long run of calls does not grow the process: every C string the
library answers is freed, and the Go side keeps nothing per call."""

import shutil
import tempfile
import threading
import unittest

from tests import otlp_pb, support
import otlp_arrow

CALLS = 100_000
THREADS = 16
# RSS may grow by at most this much over CALLS calls of every kind, after a
# warm-up of a fifth as many (which brings the Go heap, the bus's caches and
# the writer's buffers to their working size; they move by tens of MiB with
# the garbage collector's cycles). A leaked request of each call would add
# far more.
MAX_GROWTH_MIB = 64
# RSS may grow by at most this much over CALLS calls answered with an error
# and no export (no bus, no writer: the answers and the copies of the data
# alone). Measured: flat within 2 MiB over 300 000 calls; leaking the answer
# of each call (a C string of about 150 bytes) would add over 15 MiB.
MAX_ANSWER_GROWTH_MIB = 8


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


# Every call sends other data: the bus drops a request equal to one it took
# within bus.duplicate_window, as a client's retry.
SPAN = {"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174", "name": "tick",
        "resource": {"service.name": "memory"}}
LOGS_JSON = ('{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"memory"}}]},'
             '"scopeLogs":[{"logRecords":[{"body":{"stringValue":"tick %d"}}]}]}]}')


def metrics_pb(i):
    return otlp_pb.encode({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "ticks", "gauge": {"dataPoints": [{"asInt": str(i)}]}}]}]}]}, otlp_pb.METRICS)


class MemoryTest(unittest.TestCase):
    def run_calls(self, p, n):
        """n calls from THREADS threads: a quarter exports (a shorthand
        span, OTLP JSON logs or protobuf metrics in turn), the rest invalid
        data of three kinds, whose answers carry longer messages."""
        lock = threading.Lock()

        def work(first, count):
            for i in range(first, first + count):
                k = i % 4
                if k == 0:
                    with lock:
                        self.spans += i // 4 % 3 == 0
                    form = i // 4 % 3
                    if form == 0:
                        p.export_trace(dict(SPAN, attributes={"i": i}))
                    elif form == 1:
                        p.export_logs(LOGS_JSON % i)
                    else:
                        p.export_metrics(metrics_pb(i))
                    continue
                with self.assertRaises(otlp_arrow.InvalidData):
                    if k == 1:
                        p.export_traces(b"\xff")
                    elif k == 2:
                        p.export_logs("not json")
                    else:
                        p.export_metrics(b'{"resourceMetrics": 5}')
        each = n // THREADS
        threads = [threading.Thread(target=work, args=(self.next + t * each, each)) for t in range(THREADS)]
        self.next += n
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def test_rss_bounded(self):
        self.next = self.spans = 0
        d = tempfile.mkdtemp(prefix="otlp-arrow-memory-")
        self.addCleanup(shutil.rmtree, d, True)
        # The bus holds what the writer has not yet written: with a short
        # write interval that is little, so the run reaches its working
        # size in the warm-up.
        with otlp_arrow.Pipeline(d, bus={"sync_interval": "1m"}, writer={"write_interval": "200ms"}) as p:
            self.run_calls(p, CALLS // 5)
            before = rss_mib()
            self.run_calls(p, CALLS)
            after = rss_mib()
            p.flush()
        print(f"\nmemory: RSS {before:.1f} MiB after {CALLS // 5} calls, {after:.1f} MiB after {CALLS} more "
              f"(bound: +{MAX_GROWTH_MIB} MiB)")
        self.assertLess(after - before, MAX_GROWTH_MIB)
        # Every export landed.
        spans = support.by(support.read_rows(d, "traces"), "service_name", "memory")
        self.assertEqual(len(spans), self.spans)


    def test_answers_freed(self):
        d = tempfile.mkdtemp(prefix="otlp-arrow-memory-")
        self.addCleanup(shutil.rmtree, d, True)
        with otlp_arrow.Pipeline(d) as p:
            def calls(n):
                for i in range(n):
                    with self.assertRaises(otlp_arrow.InvalidData):
                        if i % 2:
                            p.export_traces(b"\xff" * (i % 64 + 1))
                        else:
                            p.export_logs('{"resourceLogs": %d}' % i)
            calls(CALLS // 5)
            before = rss_mib()
            calls(CALLS)
            after = rss_mib()
        print(f"\nmemory: RSS {before:.1f} MiB after {CALLS // 5} invalid calls, {after:.1f} MiB after {CALLS} more "
              f"(bound: +{MAX_ANSWER_GROWTH_MIB} MiB)")
        self.assertLess(after - before, MAX_ANSWER_GROWTH_MIB)


if __name__ == "__main__":
    unittest.main()
