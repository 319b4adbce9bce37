"""Progress of notify and report: a callback hears of each kit and each figure; the bytes are those made without it;
the command line says it on a terminal only."""

from __future__ import annotations

import hashlib
import io
import shutil

import pytest

from scoping import Case, cli
from scoping.progress import on_terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_terminal_rewrites_one_line_and_ends_it_at_the_total():
    stream = _Terminal()
    say = on_terminal(stream)
    assert say is not None
    for done in (1, 2, 3):
        say("figures", done, 3)
    assert stream.getvalue() == "\r  figures: 1/3   \r  figures: 2/3   \r  figures: 3/3   \n"


def test_nothing_is_said_to_a_pipe_or_a_closed_stream():
    assert on_terminal(io.StringIO()) is None
    closed = io.TextIOWrapper(io.BytesIO())
    closed.close()  # its isatty() raises ValueError
    assert on_terminal(closed) is None


@pytest.fixture
def copied(reported, tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(reported, folder)
    return folder


def _digests(folder, prefix: str) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.relative_to(folder).as_posix().startswith(prefix)}


def test_report_and_notify_say_each_step_and_make_the_same_bytes(copied):
    out = copied / "out"
    with Case.open(copied) as case:
        result = case.run()
        before = _digests(out, "report")
        heard: list[tuple[str, int, int]] = []
        case.report(result, progress=lambda what, done, total: heard.append((what, done, total)))
        assert heard == [("figures", n, 7) for n in range(1, 8)]
        assert _digests(out, "report") == before

        case.notify(result, lang="en")
        quiet = _digests(out, "notify")
        heard.clear()
        case.notify(result, lang="en", progress=lambda what, done, total: heard.append((what, done, total)))
        practices = len(result.practice_files)
        assert practices >= 2
        assert heard == [("kits", n, practices) for n in range(1, practices + 1)]
        assert _digests(out, "notify") == quiet

        heard.clear()
        one = sorted(result.practice_files)[0]
        case.notify(result, lang="en", practices=[one], progress=lambda *a: heard.append(a))
        assert heard == [("kits", 1, 1)]


def test_the_command_line_says_nothing_when_stderr_is_no_terminal(copied, capsys):
    assert cli.main(["report", str(copied)]) == 0
    assert "figures:" not in capsys.readouterr().err
    assert cli.main(["notify", str(copied), "--quiet"]) == 0
    assert "kits:" not in capsys.readouterr().err
