# The README's two commands, make run and make test, do all the set-up they need:
# a local virtual environment in .venv with the package and its extras from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("alianza needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	@# migrates the SQLite database, seeds the demo once, prints the demo users, serves :8000
	$(BIN)/alianza demo start

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	@# -P: benchmarks/platform.py would otherwise shadow the standard library's platform module
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(BIN)/python -P $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/alianza/appraisal src/alianza/ladder src/alianza/impact src/alianza/platform

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
