"""The one boundary where errors of other libraries become scoping's own (httpx's `map_httpcore_exceptions`).

Most specific first; anything unknown is re-raised unchanged, with its traceback (a bug to report).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb

from .errors import InputError, ScopingError
from .store import map_duckdb_error


@contextlib.contextmanager
def foreign_errors(where: str) -> Iterator[None]:
    """Run a library call; a DuckDB, file-system, memory or text-decoding error becomes a ScopingError."""
    try:
        yield
    except ScopingError:
        raise
    except duckdb.Error as exc:
        raise map_duckdb_error(exc, where) from exc
    except MemoryError as exc:
        raise InputError(f"{where}: out of memory", hint="lower [case] memory_limit or use a bigger machine") from exc
    except PermissionError as exc:
        raise InputError(f"{where}: permission denied on {exc.filename or 'a file'}",
                         hint="check who owns the case folder and its files") from exc
    except OSError as exc:
        raise InputError(f"{where}: {exc.strerror or exc} ({exc.filename or 'file system'})",
                         hint="check the disk has space and the folder is writable") from exc
    except UnicodeError as exc:
        raise InputError(f"{where}: text that is not valid UTF-8 ({exc})",
                         hint="save the file as UTF-8") from exc
