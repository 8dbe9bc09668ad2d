# Two commands: `make demo` and `make test`. Both run `make setup` first (idempotent, quick when done).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Weights go to $(NSTYLE_CACHE) (default ~/.cache/nstyle), never into the repository.
TEST_WEIGHTS := all

# The browser test drives Debian's chromium; it skips (saying why) where none can be installed.
CHROMIUM := /usr/bin/chromium

.PHONY: setup browser demo test test-cluster test-fast bench clean

setup: $(STAMP) browser
	@$(VENV)/bin/nstyle weights fetch $(TEST_WEIGHTS) >/dev/null

# Idempotent: nothing to do once chromium is there; as root it is installed with apt-get; otherwise a warning
# (the browser test then skips with the reason) and setup goes on.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser test (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "warning: could not install chromium; the browser test will skip"; \
	else echo "warning: no $(CHROMIUM), and not root to apt-get install it; the browser test will skip"; fi

# torch==2.13.0 is installed on its own first: the exact pin lets pip take the CPU build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev,web,ray]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/nstyle demo -o nstyle-demo.png

test: setup
	$(PY) -m pytest -q -rs -m "not cluster"

# A real Ray cluster of three nodes on this machine (tests/cluster): about 3 minutes on 2 cores; .ci/run runs it too.
test-cluster: setup
	$(PY) -m pytest -q -rs tests/cluster

# Needs no weights and no ../shared/images: the engine tests run on tests/tiny_backbone.py, the image tests on
# scikit-image's photos (NSTYLE_SHARED=/nowhere proves it: nothing skips for want of the shared images).
test-fast: setup
	$(PY) -m pytest -q -m "not integration"

bench: setup
	$(PY) benchmarks/iteration_time.py

clean:
	rm -rf $(VENV) nstyle-demo*.png nstyle-demo.losses.*
