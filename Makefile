# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUNTIME_STAMP := $(VENV)/.installed
# `make demo PORT=8081` serves the demo on another port (0: any free one).
PORT ?=

.PHONY: test docs matrix demo lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml setup.py aiohttp_rpc/_speedups.c
	$(BIN)/python -m pip install --quiet --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME_STAMP)

$(RUNTIME_STAMP): $(BIN)/python pyproject.toml setup.py aiohttp_rpc/_speedups.c
	$(BIN)/python -m pip install --quiet --quiet -e .
	touch $(RUNTIME_STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict aiohttp_rpc
	$(BIN)/mypy --strict tests/typing
	$(BIN)/pyright
	$(MKDOCS) build --strict
	$(BIN)/python -m coverage run -m pytest
	$(BIN)/python -m coverage report --fail-under=90

# The user guide (mkdocs.yml, docs/) into site/, offline: no web fonts, no CDN, no plugin that fetches anything.
# --strict fails on any warning (a page missing from nav, a broken link or anchor); `make test` builds it too.
# Material for MkDocs prints a notice on every build (its end of life is May 2027; Zensical succeeds it):
# NO_MKDOCS_2_WARNING=1 is its own switch for that notice, and silences nothing else.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: $(STAMP)
	$(MKDOCS) build --strict

# The version matrix (noxfile.py): the suite on the declared floors, a middle aiohttp and the newest releases,
# one fresh venv per session. `make matrix NOX_ARGS='-s newest'` picks sessions; `$(BIN)/nox -l` lists them.
# It brings .venv up to date first: the suite checks that the install stamps are current.
MATRIX_STAMP := $(VENV)/.installed-matrix
NOX_ARGS ?=

$(MATRIX_STAMP): $(BIN)/python
	$(BIN)/python -m pip install --quiet --quiet 'nox[uv]>=2025.5.1'
	touch $(MATRIX_STAMP)

matrix: $(STAMP) $(MATRIX_STAMP)
	$(BIN)/nox $(NOX_ARGS)

demo: $(RUNTIME_STAMP)
	$(BIN)/python examples/demo.py $(if $(PORT),--port $(PORT))

# Extra options for the benchmark, e.g. `make bench BENCH_ARGS=--quick` (see benchmarks/README.md).
BENCH_ARGS ?=

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .nox .pytest_cache .mypy_cache .ruff_cache .coverage build site *.egg-info
