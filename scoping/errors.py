"""The one error tree of scoping.

    ScopingError                 anything scoping reports to a user (exit code 1)
    ├── InputError               evidence or reference data cannot be read (exit code 3)
    ├── ConfigError              case.toml, a mapping or the incident is wrong (exit code 2)
    ├── CheckFailed              an invariant SQL check returned offending rows (exit code 4)
    └── IntegrityError           evidence or outputs differ from the manifest (exit code 5)

Each error carries what the user needs to fix it: the file, line and field at fault, or the
query name and its first offending rows. Anything that is not a ScopingError is a bug and keeps
its traceback.
"""

from __future__ import annotations


class ScopingError(Exception):
    """Root of every error scoping reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  what to do: {self.hint}"


class ConfigError(ScopingError):
    """case.toml, a mapping or the incident definition is wrong."""

    exit_code = 2


class InputError(ScopingError):
    """An evidence file or a reference table cannot be read at all."""

    exit_code = 3


class CheckFailed(ScopingError):
    """An invariant check (a SQL file under checks) returned rows that break it."""

    exit_code = 4

    def __init__(self, check: str, rows: list[tuple[object, ...]], columns: list[str]) -> None:
        shown = "\n".join("    " + ", ".join(f"{c}={v!r}" for c, v in zip(columns, r, strict=False))
                          for r in rows[:5])
        super().__init__(f"check '{check}' failed: {len(rows)} offending row(s), first ones:\n{shown}",
                         hint=f"run `scoping queries --show {check}` to read the check")
        self.check = check
        self.rows = rows
        self.columns = columns


class IntegrityError(ScopingError):
    """Evidence or outputs no longer match their recorded SHA-256."""

    exit_code = 5
