"""The package's shape: a pinned public surface, and data flowing one way through the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import scoping

PACKAGE = Path(scoping.__file__).parent

# A module may import only modules of a lower (or its own) layer.
LAYERS = [
    {"_version", "errors", "schema", "casefile", "caseschema"},
    {"queries", "config", "evidence", "export", "expressions"},
    {"store", "readers", "mapping", "mapping_fields", "incident", "manifest", "formats"},
    {"reference", "ingest", "ingest_read", "ingest_plan", "dryrun", "completeness"},
    {"scope", "discover"},
    {"figures", "report", "notify"},
    {"case"},
    {"cli", "__init__", "__main__"},
]
SYNTH = {"synth", "synth_world", "synth_activity", "synth_logs", "synth_fhir"}


def _layer(name: str) -> int:
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"module {name} is in no layer: add it to LAYERS")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # imports for type checking only do not make data flow
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
    return found


def test_data_flows_one_way_through_the_layers():
    for path in sorted(PACKAGE.glob("*.py")):
        name = path.stem
        if name in SYNTH:
            assert _imports(path) <= SYNTH | {"errors"}, f"{name} reaches outside the synthetic world"
            continue
        own = _layer(name)
        for imported in _imports(path):
            if imported in SYNTH:
                assert name in {"cli", "__init__", "case"}, f"{name} imports the synthetic world"
                continue
            assert _layer(imported) <= own or (name == "case" and imported in {"scope", "discover"}), \
                f"{name} (layer {own}) imports {imported} (layer {_layer(imported)})"


def test_public_surface_is_pinned_and_sorted():
    assert scoping.__all__ == sorted(scoping.__all__)
    assert scoping.__all__ == ["Case", "CheckFailed", "ConfigError", "InputError", "IntegrityError",
                               "ScopingError", "__version__"]


def test_modules_stay_small():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 500, path.name
