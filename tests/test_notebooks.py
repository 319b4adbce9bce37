"""The notebooks: thin clients of the public API, committed without outputs, run top to bottom through a real Jupyter
kernel; each figure cell shows a picture and each query cell the SQL it rests on."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import scoping

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _code(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_holds_the_parameters(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_use_the_public_api_only_and_stay_thin(path):
    """`import scoping` and what `scoping.__all__` offers; no helper defined, no SQL longer than a line."""
    for source in _code(path):
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("scoping"), f"{path.name}: from {node.module} import …"
            elif isinstance(node, ast.Import):
                assert all(a.name == "scoping" or not a.name.startswith("scoping.") for a in node.names), source
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "scoping":
                assert node.attr in scoping.__all__, f"{path.name}: scoping.{node.attr} is not public"
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda), \
                f"{path.name} defines a helper"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "SELECT" in node.value.upper():
                assert "\n" not in node.value.strip(), f"{path.name}: a SQL blob (put the question in a .sql file)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_work_folders_are_ignored_by_git(path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    params = ast.parse(_code(path)[0])
    folders = [n.value.value for n in params.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
               and isinstance(n.value.value, str)]
    assert folders, path.name
    for folder in folders:
        probe = f"notebooks/{folder}/case.duckdb"
        ignored = subprocess.run(["git", "check-ignore", "-q", probe], cwd=ROOT, check=False).returncode == 0
        assert ignored, f"{probe} would be committed: add notebooks/{folder}/ to .gitignore"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_top_to_bottom(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors
    for cell in cells:
        kinds = {kind for o in cell.outputs for kind in o.get("data", {})}
        if "scoping.figures." in cell.source:  # a picture, not "<Figure size 1000x255 with 1 Axes>"
            assert "image/png" in kinds, cell.source
        if cell.source.startswith("scoping.query("):  # the SQL itself, with its question and assumptions
            assert "text/markdown" in kinds, cell.source
    if path.name.startswith("01"):
        assert sum("scoping.query(" in c.source for c in cells) >= 5
        assert sum("scoping.figures." in c.source for c in cells) >= 3


def test_jupyterlab_is_in_the_notebooks_extra_pinned_and_opened_by_make_notebook():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["notebooks"]
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in
              (ROOT / "requirements.lock").read_text().splitlines() if "==" in line}
    assert "jupyterlab" in extra
    assert not [p for p in extra if p.lower() not in pinned], "requirements.lock lacks a notebooks package"
    if shutil.which("make") is None:
        pytest.skip("no make")
    dry = subprocess.run(["make", "-n", "notebook"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "cd notebooks && ../.venv/bin/jupyter lab" in dry.stdout
