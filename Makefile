# The two commands in the README: `make demo` and `make test`. Both install into .venv first.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install demo test test-sqlite test-postgres bench

$(BIN)/wecom-hr: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/wecom-hr

demo: install
	$(BIN)/wecom-hr demo --once

test: install test-sqlite test-postgres

test-sqlite: install
	$(BIN)/python -m pytest -q

test-postgres: install
	WECOM_HR_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -m "not browser"
