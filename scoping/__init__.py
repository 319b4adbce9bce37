"""scoping: whose medical records were touched, by which account, how and when.

    case = scoping.Case.open("CASE")
    case.ingest()
    result = case.scope()
    result.affected          # polars DataFrame, one row per patient and controller
"""

from ._version import __version__
from .case import Case
from .errors import CheckFailed, ConfigError, InputError, IntegrityError, ScopingError

__all__ = ["Case", "CheckFailed", "ConfigError", "InputError", "IntegrityError", "ScopingError", "__version__"]
