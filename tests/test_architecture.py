"""The package's shape: a pinned public surface, and data flowing one way through the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import scoping

PACKAGE = Path(scoping.__file__).parent

# A module may import only modules of a lower (or its own) layer. Every import counts: at module level, inside a
# function, or for type checking only; there is no exception list.
LAYERS = [
    {"_version", "errors", "schema", "casefile", "caseschema", "progress"},
    {"queries", "config", "evidence", "private", "writers", "naming", "wording", "expressions"},
    {"store", "readers", "mapping", "mapping_fields", "incident", "formats", "manifest", "lists"},
    {"reference", "ingest", "ingest_read", "ingest_plan", "dryrun", "completeness", "boundary", "publish", "drill",
     "lake", "engine", "spark_sql", "spark_engine"},
    {"result"},
    {"runs", "timesketch"},
    {"scope", "discover"},
    {"phrasing", "kit_tables", "regulator"},
    {"figures", "notify", "report_html"},
    {"report"},
    {"case", "recompute"},
    {"cli", "__init__", "__main__"},
]
SYNTH = {"synth", "synth_world", "synth_activity", "synth_logs", "synth_fhir"}


def _layer(name: str) -> int:
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"module {name} is in no layer: add it to LAYERS")


def _imports(path: Path) -> set[str]:
    """Every scoping module `path` imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("scoping."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("scoping."))
    return found


def test_data_flows_one_way_through_the_layers():
    for path in sorted(PACKAGE.glob("*.py")):
        name = path.stem
        if name in SYNTH:
            assert _imports(path) <= SYNTH | {"errors", "private"}, f"{name} reaches outside the synthetic world"
            continue
        own = _layer(name)
        for imported in _imports(path):
            if imported in SYNTH:
                assert name in {"cli", "__init__"}, f"{name} imports the synthetic world"
                continue
            assert _layer(imported) <= own, f"{name} (layer {own}) imports {imported} (layer {_layer(imported)})"


def test_the_import_graph_has_no_cycle():
    graph = {p.stem: _imports(p) for p in PACKAGE.glob("*.py")}
    state: dict[str, int] = {}

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, f"import cycle: {' -> '.join((*trail, node))}"
        state[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, (*trail, node))
        state[node] = 2

    for module in graph:
        visit(module, ())


def test_public_surface_is_pinned_and_sorted():
    assert scoping.__all__ == sorted(scoping.__all__)
    assert scoping.__all__ == ["Case", "CheckFailed", "ConfigError", "InputError", "IntegrityError",
                               "ScopingError", "SynthOptions", "__version__", "figures", "query", "synthesize"]


def test_modules_stay_small():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 500, path.name
