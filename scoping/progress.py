"""Progress of the long publishing steps (kits, figures), said on a terminal and nowhere else.

The library never prints: a step that takes long accepts a `Progress` (any callable taking what it is doing, how
many of how many are done) from the facade or the command line. `on_terminal()` gives one that rewrites a line of
stderr ("figures: 3/7") when stderr is a terminal, and None otherwise, so pipes, logs and tests stay quiet.
"""

from __future__ import annotations

import sys
from typing import Protocol, TextIO


class Progress(Protocol):
    def __call__(self, what: str, done: int, total: int) -> None: ...


class _Line:
    """One line of a terminal, rewritten in place; ended when a step reaches its total."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, what: str, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        self.stream.write(f"\r  {what}: {done:,}/{total:,}   {end}")
        self.stream.flush()


def on_terminal(stream: TextIO | None = None) -> Progress | None:
    """A progress line on `stream` (stderr by default) when it is a terminal; None when it is not."""
    out = stream if stream is not None else sys.stderr
    try:
        interactive = out.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        interactive = False
    return _Line(out) if interactive else None
