# Roster — `make run` serves, `make test` tests; both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export PYTHONPATH := $(CURDIR)

.PHONY: run migrate test lint typecheck fmt schema migration fuzz bench clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) scripts/fetch_graphiql.py
	touch $@

$(TEST_STAMP): $(STAMP) requirements-test.lock scripts/install_browser.sh
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.lock
	scripts/install_browser.sh
	touch $@

run: $(STAMP)
	exec $(PY) -m app serve

migrate: $(STAMP)
	$(PY) -m app migrate

test: $(TEST_STAMP)
	$(PY) -m pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same suite on PostgreSQL"; \
		ROSTER_TEST_BACKEND=postgres $(PY) -m pytest -q; \
	fi

lint: $(TEST_STAMP)
	$(PY) -m ruff check app tests scripts bench
	$(PY) -m ruff format --check app tests scripts bench

typecheck: $(TEST_STAMP)
	$(PY) -m mypy app

fmt: $(TEST_STAMP)
	$(PY) -m ruff check --fix app tests scripts bench
	$(PY) -m ruff format app tests scripts bench

schema: $(STAMP)
	$(PY) scripts/export_schema.py

migration: $(STAMP)
	$(PY) scripts/build_initial_migration.py

fuzz: $(TEST_STAMP)
	ROSTER_FUZZ_CASES=2000 $(PY) -m pytest -q tests/fuzz

bench: $(STAMP)
	bench/run --db all

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
