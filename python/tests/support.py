"""What the tests share: the shared library and the `otlp-arrow` binary
(each built once per run unless the environment names one), and reading a
pipeline's files back through `otlp-arrow cat` (arrow-go's reader)."""

import atexit
import datetime
import functools
import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYDIR)

_tmp = tempfile.mkdtemp(prefix="otlp-arrow-pytests-")
atexit.register(shutil.rmtree, _tmp, True)


def _library():
    """Point OTLP_ARROW_LIBRARY at a built library: the one the environment
    names (scripts/test.sh builds it), one installed beside the package, or
    one built now."""
    if os.environ.get("OTLP_ARROW_LIBRARY"):
        return
    from otlp_arrow import _lib

    if os.path.exists(_lib.library_path()):
        return
    out = os.path.join(_tmp, _lib.library_name())
    subprocess.run(["go", "build", "-buildmode=c-shared", "-o", out, "."], cwd=PYDIR, check=True)
    os.environ["OTLP_ARROW_LIBRARY"] = out


_library()


@functools.lru_cache(maxsize=None)
def otlp_arrow_bin():
    """The otlp-arrow binary: $OTLP_ARROW_BIN, or built once."""
    if os.environ.get("OTLP_ARROW_BIN"):
        return os.environ["OTLP_ARROW_BIN"]
    out = os.path.join(_tmp, "otlp-arrow")
    subprocess.run(["go", "build", "-o", out, "./cmd/otlp-arrow"], cwd=os.path.join(REPO, "deploy"), check=True)
    return out


def files(output_dir, signal):
    """A signal's files under output_dir, finished or still open."""
    return sorted(glob.glob(os.path.join(output_dir, "otlp", signal, "*.arrows*")))


def read_rows(output_dir, signal):
    """Every row of a signal's files, as `otlp-arrow cat` prints them: dicts
    with ids in hex, times in RFC 3339, maps as dicts, bytes in base64."""
    paths = files(output_dir, signal)
    if not paths:
        return []
    out = subprocess.run([otlp_arrow_bin(), "cat", *paths], capture_output=True, check=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def rfc3339(ns):
    """How `otlp-arrow cat` prints a time of ns nanoseconds (Go's
    RFC3339Nano in UTC)."""
    secs, frac = divmod(int(ns), 10**9)
    t = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        t += "." + f"{frac:09d}".rstrip("0")
    return t + "Z"


def by(rows, key, value):
    """The rows whose column key is value."""
    return [r for r in rows if r.get(key) == value]


class PipelineCase(unittest.TestCase):
    """Tests sharing one pipeline, self.p, writing under self.dir."""

    options = {}

    @classmethod
    def setUpClass(cls):
        import otlp_arrow

        cls.dir = tempfile.mkdtemp(prefix="otlp-arrow-test-")
        cls.p = otlp_arrow.Pipeline(cls.dir, **cls.options)

    @classmethod
    def tearDownClass(cls):
        cls.p.shutdown()
        shutil.rmtree(cls.dir, ignore_errors=True)
