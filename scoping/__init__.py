"""scoping: whose medical records were touched, by which account, how and when.

    case = scoping.Case.open("CASE")
    case.ingest()
    result = case.scope()
    result.affected                     # polars DataFrame, one row per patient and controller
    scoping.figures.coverage(result)    # a matplotlib Figure (shown inline in Jupyter)
    scoping.query("scope_segments")     # the SQL behind a step, with its question and assumptions
"""

from . import figures
from ._version import __version__
from .case import Case
from .errors import CheckFailed, ConfigError, InputError, IntegrityError, ScopingError
from .queries import query
from .synth import SynthOptions, synthesize

__all__ = ["Case", "CheckFailed", "ConfigError", "InputError", "IntegrityError", "ScopingError", "SynthOptions",
           "__version__", "figures", "query", "synthesize"]
