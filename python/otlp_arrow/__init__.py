"""otlp_arrow writes OpenTelemetry data (OTLP) to Apache Arrow files from a
Python program, with otlp-arrow's Go pipeline running inside the process.

    import otlp_arrow

    with otlp_arrow.Pipeline("out", writer={"write_interval": "1s"}) as p:
        p.export_trace({"trace_id": "5b8efff798038103d269b633813fc60c",
                        "span_id": "eee19b7ec3c1b174", "name": "GET /cart",
                        "start_time": 1700000000000000000,
                        "end_time": 1700000000250000000})
        p.flush()

See README.md for every method, the shorthand records and reading the files.
"""

from ._errors import Backpressure, Closed, ConfigError, Error, InvalidData
from ._pipeline import ExportResult, Pipeline

__all__ = [
    "Backpressure",
    "Closed",
    "ConfigError",
    "Error",
    "ExportResult",
    "InvalidData",
    "Pipeline",
]
__version__ = "0.1.0"
