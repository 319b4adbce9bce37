"""The browser test's gate: without Chromium it is skipped on a developer's machine and fails in CI (where `.ci/run`
installs Chromium), so that CI can never pass without having opened the report in a browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _run_without_chromium(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(tmp_path)  # an empty folder: no chromium to be found
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_report_browser.py::test_no_console_error"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("ci", [False, True], ids=["developer", "ci"])
def test_a_missing_chromium_is_skipped_only_outside_ci(tmp_path, ci):
    done = _run_without_chromium(tmp_path, ci=ci)
    if ci:
        assert done.returncode == 1, done.stdout
        assert "Chromium is missing" in done.stdout and "passed" not in done.stdout.splitlines()[-1]
    else:
        assert done.returncode == 0, done.stdout
        assert "skipped" in done.stdout.splitlines()[-1] and "Chromium is not installed" in done.stdout
