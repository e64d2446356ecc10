"""Exceptions of otlp_arrow; each carries the Go pipeline's message."""


class Error(Exception):
    """Base of every error the pipeline raises."""


class ConfigError(Error, ValueError):
    """An option has a name or value the configuration does not allow."""


class InvalidData(Error, ValueError):
    """The data is not a valid OTLP request (or shorthand record).

    Nothing of it was written; retrying the same data fails again.
    """


class Backpressure(Error):
    """The pipeline cannot take the data now (its bus is full, busy or did not
    acknowledge in time). Nothing was written: retry later."""


class Closed(Error):
    """The pipeline is shut down, or belongs to the process this one was
    forked from."""


_KINDS = {
    "config": ConfigError,
    "invalid": InvalidData,
    "backpressure": Backpressure,
    "closed": Closed,
}


def from_kind(kind, message):
    """The exception of an error kind the library answered."""
    return _KINDS.get(kind, Error)(message)
