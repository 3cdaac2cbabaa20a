# Set-up and everyday commands. Needs only Python 3.11 on the machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate seed bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

## make run: install, migrate, load demo data and serve on http://127.0.0.1:8000/ (DEBUG=True)
run: $(VENV)/.installed
	DEBUG=True $(PY) manage.py migrate --noinput
	DEBUG=True $(PY) manage.py seed_demo
	DEBUG=True $(PY) manage.py runserver $(HOST):$(PORT)

## make test: install test requirements and run the whole suite (PostgreSQL when DATABASE_URL is set)
test: $(VENV)/.installed-dev
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make lint: ruff
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make bench: load-test with wrk on PostgreSQL + Redis (1,000 and 100,000 products); see bench/run.py
bench: $(VENV)/.installed
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
