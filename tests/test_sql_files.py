"""Static checks on every shipped .sql file: header, parameters, parse, read-only where promised, ordered."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from scoping import queries
from scoping.store import _statements

ALL = queries.all_queries()
READ_ONLY = [q for q in ALL if not q.writes]


@pytest.mark.parametrize("q", ALL, ids=lambda q: q.name)
def test_header_states_question_params_reads_and_order(q):
    assert q.question, f"{q.name}: no '-- question:' line"
    assert q.reads, f"{q.name}: no '-- reads:' line"
    assert q.order, f"{q.name}: no '-- order:' line"
    assert q.text.startswith("-- question:")


@pytest.mark.parametrize("q", ALL, ids=lambda q: q.name)
def test_declared_parameters_are_the_used_ones(q):
    assert set(q.params) == q.used_params(), q.name


@pytest.mark.parametrize("q", ALL, ids=lambda q: q.name)
def test_every_statement_parses(q):
    for statement in _statements(q.text):
        text = statement.replace("$", ":")  # sqlglot reads named parameters as :name
        assert sqlglot.parse(text, read="duckdb"), q.name


def test_every_file_that_changes_the_store_says_what_it_writes():
    for q in ALL:
        text = "\n".join(ln for ln in q.text.splitlines() if not ln.startswith("--"))
        writes = any(word in text for word in ("CREATE ", "INSERT ", "UPDATE ", "DELETE ", "DROP ", "ALTER ", "COPY "))
        assert writes == bool(q.writes), q.name


@pytest.mark.parametrize("q", READ_ONLY, ids=lambda q: q.name)
def test_read_paths_are_a_single_select(q):
    statements = _statements(q.text)
    assert len(statements) == 1, q.name
    tree = sqlglot.parse_one(statements[0].replace("$", ":"), read="duckdb")
    assert isinstance(tree, exp.Select | exp.Union), f"{q.name} is not a SELECT"
    for node in (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop):
        assert not list(tree.find_all(node)), f"{q.name} writes"


@pytest.mark.parametrize("q", [q for q in ALL if q.name.startswith(("export_", "summary_"))],
                         ids=lambda q: q.name)
def test_outputs_have_a_total_order(q):
    tree = sqlglot.parse_one(_statements(q.text)[0].replace("$", ":"), read="duckdb")
    one_row = "one row" in q.order
    assert one_row or tree.args.get("order") is not None, f"{q.name}: output without ORDER BY"


def test_query_bind_refuses_missing_or_extra_parameters():
    from scoping.errors import ConfigError

    q = queries.get("scope_accesses")
    with pytest.raises(ConfigError):
        q.bind({})
    with pytest.raises(ConfigError):
        q.bind({"count_undetermined": True, "extra": 1})
