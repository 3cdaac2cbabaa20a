# Set-up and everyday commands. Needs only Python 3.11 on the machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate seed bench soak cluster audit chaos backup restore clean

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

## make soak: 50 shoppers' mixed traffic against gunicorn on PostgreSQL, then check the books
## (SOAK_SECONDS=180 sets the length; see bench/soak.py)
soak: $(VENV)/.installed
	$(PY) bench/soak.py

## make cluster: two app servers and a Celery worker on one PostgreSQL and one Redis (loopback, ~30 s); see bench/cluster.py
cluster: $(VENV)/.installed
	$(PY) bench/cluster.py

## make chaos: the soak's shoppers on a private PostgreSQL and Redis; PostgreSQL is SIGKILLed and
## Redis stopped for 20 s mid-trade, then nothing may be lost (CHAOS_SECONDS=75; see bench/chaos.py)
chaos: $(VENV)/.installed
	$(PY) bench/chaos.py

## make backup: pg_dump (custom format) of DATABASE_URL and a tar of MEDIA_ROOT into backups/<time>/
backup: $(VENV)/.installed
	$(PY) ops/backup.py backup $(if $(BACKUP),--to $(BACKUP))

## make restore BACKUP=backups/<time>: into DATABASE_URL (a new, empty database) and MEDIA_ROOT
restore: $(VENV)/.installed
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/<time>"; exit 2; }
	$(PY) ops/backup.py restore --from $(BACKUP)

## make audit: Nu Html Checker, pa11y (WCAG2AA) and Lighthouse (accessibility, SEO) on every
## shopper page, guest and signed in, against gunicorn on loopback (needs node, Java 17, Chromium;
## see bench/audit.py)
.audit/node_modules/.installed: .audit/package.json .audit/package-lock.json
	cd .audit && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
	touch $@

audit: $(VENV)/.installed .audit/node_modules/.installed
	$(PY) bench/audit.py

clean:
	rm -rf $(VENV) staticfiles var .pytest_cache .ruff_cache
