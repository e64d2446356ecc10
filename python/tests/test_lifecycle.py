"""A pipeline in a forked process raises Closed instead of hanging; the
interpreter exits cleanly with a pipeline still open, its data written;
listen() opens the OTLP ports to other processes."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from tests import support
import otlp_arrow

SPAN = {"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174", "name": "parent-span"}


def run_python(code, timeout=120):
    """Run code in a new interpreter with the package importable."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([support.PYDIR, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)


def wait_child(pid, timeout=60):
    """The exit code of child pid; kill it and fail when it hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"child {pid} hung")


class ForkTest(unittest.TestCase):
    def test_use_after_fork(self):
        d = tempfile.mkdtemp(prefix="otlp-arrow-fork-")
        self.addCleanup(shutil.rmtree, d, True)
        with otlp_arrow.Pipeline(d) as p:
            p.export_trace(SPAN)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: report what each call raised, exit
                os.close(r)
                got = []
                for call in (lambda: p.export_trace(SPAN), p.flush, p.shutdown,
                             lambda: otlp_arrow.Pipeline(d + "-child")):
                    try:
                        call()
                        got.append("no error")
                    except otlp_arrow.Closed as e:
                        got.append(str(e))
                    except BaseException as e:
                        got.append(f"{type(e).__name__}: {e}")
                os.write(w, json.dumps(got).encode())
                os.close(w)
                os._exit(0)  # not into the rest of the test run
            os.close(w)
            self.assertEqual(wait_child(pid), 0)
            with os.fdopen(r) as f:
                got = json.loads(f.read())
            self.assertEqual(len(got), 4)
            for msg in got:
                self.assertIn("is a fork of it", msg)
            # The parent's pipeline works on.
            p.export_trace(dict(SPAN, name="after-fork"))
            p.flush()
            names = sorted(r["name"] for r in support.read_rows(d, "traces"))
        self.assertEqual(names, ["after-fork", "parent-span"])

    def test_fork_before_start(self):
        # Imported but not started: a child may start its own pipeline.
        d = tempfile.mkdtemp(prefix="otlp-arrow-fork-")
        self.addCleanup(shutil.rmtree, d, True)
        out = run_python(f"""
import os, sys, otlp_arrow
pid = os.fork()
if pid == 0:
    with otlp_arrow.Pipeline({d!r}) as p:
        p.export_trace({SPAN!r})
    os._exit(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
""")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([r["name"] for r in support.read_rows(d, "traces")], ["parent-span"])


    def test_fork_child_exits(self):
        # A child that exits normally runs the finalizers and atexit: the
        # parent's pipeline is left alone there, and the child exits.
        d = tempfile.mkdtemp(prefix="otlp-arrow-fork-")
        self.addCleanup(shutil.rmtree, d, True)
        out = run_python(f"""
import os, sys, time, otlp_arrow
p = otlp_arrow.Pipeline({d!r})
p.export_trace({SPAN!r})
pid = os.fork()
if pid == 0:
    sys.exit(3)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    sys.exit("the child hung at exit")
print(os.waitstatus_to_exitcode(status))
""")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "3")
        self.assertEqual([r["name"] for r in support.read_rows(d, "traces")], ["parent-span"])


class ExitTest(unittest.TestCase):
    def test_exit_with_pipeline_open(self):
        # No flush, no shutdown, a long write interval: the span is written
        # at exit all the same, and the interpreter exits.
        d = tempfile.mkdtemp(prefix="otlp-arrow-exit-")
        self.addCleanup(shutil.rmtree, d, True)
        out = run_python(f"""
import otlp_arrow
p = otlp_arrow.Pipeline({d!r}, writer={{"write_interval": "30s"}})
p.export_trace({SPAN!r})
print("exported")
""")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "exported")
        self.assertEqual([r["name"] for r in support.read_rows(d, "traces")], ["parent-span"])
        self.assertFalse([f for f in support.files(d, "traces") if f.endswith(".partial")])

    def test_collected_pipeline_is_shut_down(self):
        d = tempfile.mkdtemp(prefix="otlp-arrow-gc-")
        self.addCleanup(shutil.rmtree, d, True)
        p = otlp_arrow.Pipeline(d, writer={"write_interval": "30s"})
        p.export_trace(SPAN)
        del p  # the finalizer shuts it down and writes the span
        import gc

        gc.collect()
        self.assertEqual([r["name"] for r in support.read_rows(d, "traces")], ["parent-span"])


    def test_ctrl_c(self):
        # The Go runtime leaves SIGINT to Python: Ctrl+C is still a
        # KeyboardInterrupt with a pipeline running, and the pipeline works on.
        d = tempfile.mkdtemp(prefix="otlp-arrow-sigint-")
        self.addCleanup(shutil.rmtree, d, True)
        out = run_python(f"""
import os, signal, time, otlp_arrow
with otlp_arrow.Pipeline({d!r}) as p:
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
    except KeyboardInterrupt:
        print("interrupted")
    p.export_trace({SPAN!r})
""")
        self.assertEqual(out.stdout.strip(), "interrupted", out.stderr)
        self.assertEqual([r["name"] for r in support.read_rows(d, "traces")], ["parent-span"])


class ListenTest(unittest.TestCase):
    def test_listen(self):
        d = tempfile.mkdtemp(prefix="otlp-arrow-listen-")
        self.addCleanup(shutil.rmtree, d, True)
        with otlp_arrow.Pipeline(d, ingest_grpc={"grpc_addr": "127.0.0.1:0", "http_addr": "127.0.0.1:0"},
                                 ingest_flight={"addr": "127.0.0.1:0"}) as p:
            addrs = p.listen()
            self.assertEqual(sorted(addrs), ["flight", "grpc", "http"])
            for a in addrs.values():
                self.assertTrue(a.startswith("127.0.0.1:") and not a.endswith(":0"), a)
            self.assertEqual(p.listen(), addrs)  # again: the same receivers
            # Another process sends OTLP/HTTP JSON.
            body = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "from afar"}}]}]}]})
            out = run_python(f"""
import urllib.request
req = urllib.request.Request("http://{addrs['http']}/v1/logs", data={body!r}.encode(),
                             headers={{"Content-Type": "application/json"}})
print(urllib.request.urlopen(req, timeout=30).status)
""")
            self.assertEqual(out.stdout.strip(), "200", out.stderr)
            p.flush()
            self.assertEqual([r["body"] for r in support.read_rows(d, "logs")], ["from afar"])


if __name__ == "__main__":
    unittest.main()
