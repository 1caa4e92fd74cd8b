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

## run: the main job, embedded SRL -> RLVR (no server, no GPU, no network; ~4 min on 2 cores)
run: $(STAMP)
	$(VENV)/bin/srlforge pipeline --species vampire --model-type personality

## test: lint + the whole test suite
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

bench: $(STAMP)
	$(VENV)/bin/python bench/bench_arena.py
	$(VENV)/bin/python bench/bench_srl_throughput.py
	$(VENV)/bin/python bench/bench_learning.py

clean-venv:
	rm -rf $(VENV)
