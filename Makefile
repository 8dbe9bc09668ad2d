# Two commands: `make demo` and `make test`. Both run `make setup` first (idempotent, quick when done).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Weights go to $(NSTYLE_CACHE) (default ~/.cache/nstyle), never into the repository.
TEST_WEIGHTS := all

.PHONY: setup demo test test-fast bench clean

setup: $(STAMP)
	@$(VENV)/bin/nstyle weights fetch $(TEST_WEIGHTS) >/dev/null

# torch==2.13.0 is installed on its own first: the exact pin lets pip take the CPU build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev,ray]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/nstyle demo -o nstyle-demo.png

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not integration"

bench: setup
	$(PY) benchmarks/iteration_time.py

clean:
	rm -rf $(VENV) nstyle-demo*.png nstyle-demo.losses.*
