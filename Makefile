# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: run serve test lint format install install-dev migrate demo messages bench load faults \
	backup restore clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are re-run only when the requirement files change.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiled translations (English); skipped with a note when GNU gettext is missing.
messages: $(VENV)/.installed
	@if command -v msgfmt >/dev/null; then $(BIN)/python manage.py compilemessages --ignore=.venv -v0; \
	else echo "msgfmt not found (apt-get install gettext): the English interface stays untranslated"; fi

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# Loads the demo once (`make demo` refreshes it), then serves on 127.0.0.1:$(PORT).
run: migrate messages
	$(BIN)/python manage.py load_demo --once
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Production: gunicorn (psm/gunicorn.conf.py: BIND, WEB_CONCURRENCY...) with DEBUG off unless set,
# WhiteNoise serving the collected, compressed and hashed static files. Needs SECRET_KEY and the
# production settings of README.md; migrations are applied beforehand (`make migrate`, from one
# host), and a database that lacks some is refused.
serve: export DEBUG ?= 0
serve: $(VENV)/.installed messages
	@test -f locale/en/LC_MESSAGES/django.mo || \
		(echo "The English interface is not compiled: install GNU gettext (apt-get install gettext)."; exit 1)
	@$(BIN)/python manage.py migrate --check >/dev/null || \
		(echo "The database lacks migrations: run 'make migrate' (from one host) first."; exit 1)
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/gunicorn --config psm/gunicorn.conf.py psm.wsgi:application

# Backups: pg_dump / pg_restore on PostgreSQL, SQLite's online backup otherwise (BACKUP_DIR).
backup: $(VENV)/.installed
	$(BIN)/python manage.py backup $(if $(BACKUP),--output $(BACKUP))

# Asks for the database's name unless NOINPUT=1.
restore: $(VENV)/.installed
	@test -n "$(BACKUP)" || (echo "usage: make restore BACKUP=backups/psm-YYYYmmdd-HHMMSS.dump"; exit 2)
	$(BIN)/python manage.py restore $(BACKUP) $(if $(NOINPUT),--noinput)

test: $(VENV)/.installed-dev messages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

# The load test and the fault drills against `make serve` on PostgreSQL (bench/README.md).
load: $(VENV)/.installed-dev
	$(BIN)/python bench/load.py

faults: $(VENV)/.installed-dev
	$(BIN)/python bench/faults.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles
