"""The PEP 517 build backend of otlp_arrow, standard library only.

build_wheel builds the Go shared library with `go build -buildmode=c-shared`
(Go must be on PATH; the Go module is this folder, inside the otlp-arrow
repository) and packs it with the otlp_arrow package into a wheel. A
prebuilt library can be given instead, as the `library` config setting
(pip install --config-settings library=PATH ./python), which the project's
tests use so the library is built once.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

# The package itself is standard library only and loads nothing on import.
from otlp_arrow._lib import library_name as _library_name

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "otlp_arrow"
DIST = "otlp_arrow"
VERSION = "0.1.0"
SUMMARY = "Write OpenTelemetry data to Apache Arrow files from Python, with otlp-arrow's Go pipeline in the process"


def _tag():
    # The library is native code for this platform, but it is loaded with
    # ctypes: any Python 3 on the platform can use it.
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{plat}"


def _metadata():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: otlp-arrow\nVersion: {VERSION}\nSummary: {SUMMARY}\n"
        "License: Apache-2.0\nRequires-Python: >=3.8\n"
        "Description-Content-Type: text/markdown\n\n" + readme
    )


def _wheel_file():
    return f"Wheel-Version: 1.0\nGenerator: otlp_arrow build_backend\nRoot-Is-Purelib: false\nTag: {_tag()}\n"


def _dist_info():
    return f"{DIST}-{VERSION}.dist-info"


def _go_build(out):
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("otlp_arrow: building the library needs Go (https://go.dev) on PATH")
    cmd = [go, "build", "-buildmode=c-shared", "-ldflags=-s -w", "-o", out, "."]
    print("otlp_arrow:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=HERE, check=True)


def _library(config_settings, tmp):
    lib = (config_settings or {}).get("library")
    if lib:
        return os.path.abspath(lib)
    out = os.path.join(tmp, _library_name())
    _go_build(out)
    return out


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory, files):
    """Write a wheel of files, (archive name, bytes) pairs, with its
    dist-info; return its file name."""
    info = _dist_info()
    files = list(files) + [
        (f"{info}/METADATA", _metadata().encode()),
        (f"{info}/WHEEL", _wheel_file().encode()),
        (f"{info}/top_level.txt", f"{NAME}\n".encode()),
    ]
    record = [_record_line(name, data) for name, data in files] + [f"{info}/RECORD,,"]
    files.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    name = f"{DIST}-{VERSION}-{_tag()}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in files:
            zi = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = (0o755 if arcname.endswith(_library_name()) else 0o644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    return name


def _package_files():
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), "rb") as f:
                yield f"{NAME}/{name}", f.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, _dist_info())
    os.makedirs(info, exist_ok=True)
    for name, text in (("METADATA", _metadata()), ("WHEEL", _wheel_file()), ("top_level.txt", f"{NAME}\n")):
        with open(os.path.join(info, name), "w", encoding="utf-8") as f:
            f.write(text)
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with tempfile.TemporaryDirectory() as tmp:
        with open(_library(config_settings, tmp), "rb") as f:
            lib = f.read()
    files = list(_package_files()) + [(f"{NAME}/{_library_name()}", lib)]
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # The library goes into the source package, which a .pth file puts on
    # sys.path: edits to the Python files take effect at once; rebuild the
    # library (pip install -e again) after Go changes.
    with tempfile.TemporaryDirectory() as tmp:
        lib = _library(config_settings, tmp)
        target = os.path.join(HERE, NAME, _library_name())
        if os.path.abspath(lib) != target:
            shutil.copyfile(lib, target)
    return _write_wheel(wheel_directory, [(f"__editable__.{DIST}.pth", (HERE + "\n").encode())])
