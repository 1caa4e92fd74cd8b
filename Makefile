# The two commands of the README live here; both build the .venv themselves.
VENV   ?= .venv
PYTHON ?= python3.11
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp

.PHONY: run test lint bench clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[all,dev]'
	@touch $(STAMP)

## run: the main job (embedded, no server, no GPU, no network)
run: $(STAMP)
	$(VENV)/bin/srlforge arena demo --species vampire
	$(VENV)/bin/srlforge arena check --model-type all --n 20

## test: lint + the whole test suite
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

bench: $(STAMP)
	$(VENV)/bin/python bench/bench_arena.py

clean-venv:
	rm -rf $(VENV)
