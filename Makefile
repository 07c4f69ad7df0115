# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run test lint setup translations migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.runtime

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --statistics -d app/translations

setup: $(VENV)/.runtime translations

migrate: setup
	$(BIN)/flask db upgrade

## Run the app on its embedded default (SQLite under instance/, demo data on first run).
run: migrate
	$(BIN)/flask surveys load surveys/*.yaml
	$(BIN)/flask demo --if-empty
	$(BIN)/flask reports warm
	@echo ""
	@echo "== The platform is starting on http://127.0.0.1:$(PORT)/"
	@echo "   Public home (agencies, citizens' QR forms): http://127.0.0.1:$(PORT)/"
	@echo "   Staff sign-in:                               http://127.0.0.1:$(PORT)/auth/login"
	@echo "   Reports (after sign-in):                     http://127.0.0.1:$(PORT)/reports/"
	@echo "   API reference:                               http://127.0.0.1:$(PORT)/api/v1/docs"
	@echo "   No administrator yet? In another terminal, create the first one (it asks for a password):"
	@echo "     FLASK_APP=wsgi.py $(BIN)/flask users create-admin --email you@example.org --name 'Your Name'"
	@echo "   Stop with Ctrl+C."
	@echo ""
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --access-logfile - \
		--logger-class app.access_log.RedactingLogger wsgi:app

lint: $(VENV)/.test
	$(BIN)/ruff check .

## Lint, then the whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
test: $(VENV)/.test translations lint
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL): the database tests, and the totals-sql query run in PostgreSQL"; \
		$(BIN)/python -m pytest --ignore=tests/analysis && \
		$(BIN)/python -m pytest -q tests/analysis/test_sql_totals.py -k postgresql; \
	else echo "== TEST_DATABASE_URL not set: PostgreSQL run skipped"; fi

bench: $(VENV)/.test
	$(BIN)/python benchmarks/db_aggregate_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
