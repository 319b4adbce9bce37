# scoping — every target creates the virtual environment itself on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?= demo

.PHONY: demo test lint bench clean venv lock notebook

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
	  || $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/scoping demo $(DEMO)

lint: $(STAMP)
	$(BIN)/ruff check scoping tests benchmarks
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest -q

# JupyterLab on the notebooks (the notebooks extra, pinned in requirements.lock); the case folders they make are
# ignored by git. NOTEBOOK_ARGS passes options on, e.g. NOTEBOOK_ARGS="--no-browser --port 8899".
notebook: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab $(NOTEBOOK_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Re-pin every dependency after changing pyproject.toml (needs the registry).
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet ".[dev,notebooks,spark]"
	(echo "# Pinned by make lock"; .lockenv/bin/pip freeze --all --exclude scoping | grep -v -E "^(pip|wheel)==") > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
