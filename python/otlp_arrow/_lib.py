"""Loading the Go shared library and calling it.

The library is loaded on first use, not on import, so a program may import
otlp_arrow and fork before it starts a pipeline. The Go runtime starts its
threads when the library loads and they do not survive fork(): a process
forked after that must not call into the library, and gets Closed instead.

Every call goes through ctypes.CDLL, which releases the GIL while Go runs,
so threads export in parallel. Every answer is a JSON document in a C
string that is freed here.
"""

import ctypes
import json
import os
import sys
import threading

from ._errors import Closed, Error, from_kind

# Signals and formats, as the library numbers them.
TRACES, METRICS, LOGS = 0, 1, 2
PROTOBUF, JSON, AUTO = 0, 1, 2


def library_name():
    """The file name of the shared library on this platform."""
    if sys.platform == "win32":
        return "otlp_arrow.dll"
    if sys.platform == "darwin":
        return "libotlp_arrow.dylib"
    return "libotlp_arrow.so"


def library_path():
    """Where the library is: $OTLP_ARROW_LIBRARY, else beside this file."""
    return os.environ.get("OTLP_ARROW_LIBRARY") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), library_name()
    )


_lock = threading.Lock()
_lib = None
_lib_pid = None


def _load():
    path = library_path()
    if not os.path.exists(path):
        raise Error(
            f"otlp_arrow: the shared library {path} is missing; install the "
            "package with pip (it builds the library with Go), or build it with "
            "`go build -buildmode=c-shared` and set OTLP_ARROW_LIBRARY"
        )
    lib = ctypes.CDLL(path)
    c_ll, c_int, c_p = ctypes.c_longlong, ctypes.c_int, ctypes.c_char_p
    for name, args in (
        ("otlpa_start", [c_p, c_ll]),
        ("otlpa_export", [c_ll, c_int, c_int, c_p, c_ll]),
        ("otlpa_flush", [c_ll, c_ll]),
        ("otlpa_shutdown", [c_ll, c_ll]),
        ("otlpa_listen", [c_ll]),
    ):
        fn = getattr(lib, name)
        fn.argtypes = args
        # A void pointer, not c_char_p: the string must be freed after
        # it is read.
        fn.restype = ctypes.c_void_p
    lib.otlpa_free.argtypes = [ctypes.c_void_p]
    lib.otlpa_free.restype = None
    return lib


def check_pid(pid, what):
    """Raise Closed when this process is not the one with pid."""
    if os.getpid() != pid:
        raise Closed(
            f"otlp_arrow: {what} process {pid}, and this process "
            f"({os.getpid()}) is a fork of it: the Go runtime's threads do not "
            "survive fork(), so the library cannot be used here. Start the "
            "pipeline in the child (with nothing of otlp_arrow started before "
            "the fork), or use multiprocessing's 'spawn' or 'forkserver' start "
            "method"
        )


def library():
    """The loaded library (loading it on first use)."""
    global _lib, _lib_pid
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib_pid = os.getpid()
                _lib = _load()
    check_pid(_lib_pid, "the Go library was loaded in")
    return _lib


def call(name, *args):
    """Call a library function and decode its answer; raise its error."""
    lib = library()
    ptr = getattr(lib, name)(*args)
    try:
        doc = ctypes.string_at(ptr)
    finally:
        lib.otlpa_free(ptr)
    answer = json.loads(doc)
    if "error" in answer:
        raise from_kind(answer.get("kind"), answer["error"])
    return answer.get("ok")
