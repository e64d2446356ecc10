"""The build backend makes a wheel that installs and works: the package and
the library side by side, a RECORD that pip checks."""

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

from tests import support

sys.path.insert(0, support.PYDIR)
import build_backend  # noqa: E402  (the backend lives beside the package)


class WheelTest(unittest.TestCase):
    def test_wheel(self):
        lib = os.environ.get("OTLP_ARROW_LIBRARY")
        if not lib:
            self.skipTest("OTLP_ARROW_LIBRARY names no prebuilt library")
        tmp = tempfile.mkdtemp(prefix="otlp-arrow-wheel-")
        self.addCleanup(shutil.rmtree, tmp, True)
        meta = build_backend.prepare_metadata_for_build_wheel(tmp)
        name = build_backend.build_wheel(tmp, {"library": lib}, os.path.join(tmp, meta))
        self.assertRegex(name, r"^otlp_arrow-0\.1\.0-py3-none-\w+\.whl$")
        site = os.path.join(tmp, "site")
        with zipfile.ZipFile(os.path.join(tmp, name)) as zf:
            names = set(zf.namelist())
            self.assertIn("otlp_arrow/__init__.py", names)
            self.assertIn("otlp_arrow/" + os.path.basename(lib), names)
            self.assertIn("otlp_arrow-0.1.0.dist-info/METADATA", names)
            record = zf.read("otlp_arrow-0.1.0.dist-info/RECORD").decode()
            for path, digest, size in csv.reader(io.StringIO(record)):
                if path.endswith("RECORD"):
                    continue
                data = zf.read(path)
                want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual((digest, int(size)), (want, len(data)), path)
            zf.extractall(site)
        # The unpacked wheel, as pip installs it, works on its own: a new
        # interpreter away from the sources, with no library named.
        out_dir = os.path.join(tmp, "out")
        env = {k: v for k, v in os.environ.items() if k not in ("OTLP_ARROW_LIBRARY", "PYTHONPATH")}
        env["PYTHONPATH"] = site
        code = f"""
import otlp_arrow
assert otlp_arrow.__file__.startswith({site!r}), otlp_arrow.__file__
with otlp_arrow.Pipeline({out_dir!r}) as p:
    print(p.export_log({{"body": "from the wheel"}}).accepted)
"""
        got = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(got.stdout.strip(), "1", got.stderr)
        self.assertEqual([r["body"] for r in support.read_rows(out_dir, "logs")], ["from the wheel"])


if __name__ == "__main__":
    unittest.main()
