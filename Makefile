# Jiaoguan — two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run    install, migrate, load the demo city, serve on http://127.0.0.1:8000
#   make test   the walls (make lint), then the whole suite (SQLite; PostgreSQL too when DATABASE_URL is set)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PERSONS ?= 2000
WORKERS ?= 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install browser run lint test test-workers bench migrate demo static messages clean

LOG := var/log

# $(call step,NAME,WHAT,COMMAND[,show]): one progress line "▸ WHAT … done in N.N s". COMMAND's output goes to
# var/log/NAME.log and its errors and warnings to var/log/NAME.err — pip's hundreds of "Location … is ignored"
# warnings stay there — and their ends are shown only when it fails; with "show", the output is printed after the
# line (the demo city's summary of logins).
define step
	@mkdir -p $(LOG); start=$$(date +%s%N); printf '▸ %s … ' "$(2)"; \
	if ( $(3) ) > $(LOG)/$(1).log 2> $(LOG)/$(1).err; then \
	  t=$$(( ($$(date +%s%N) - start) / 100000000 )); printf 'done in %d.%d s\n' $$((t / 10)) $$((t % 10)); \
	  if [ -n "$(4)" ]; then cat $(LOG)/$(1).log; fi; \
	else \
	  rc=$$?; printf 'FAILED (exit %d); the ends of %s and %s:\n' $$rc "$(LOG)/$(1).log" "$(LOG)/$(1).err"; \
	  tail -n 15 $(LOG)/$(1).log; tail -n 40 $(LOG)/$(1).err; exit $$rc; \
	fi
endef

$(VENV)/.installed: requirements.lock
	$(call step,install,install dependencies into $(VENV) from requirements.lock (1–2 min the first time),\
	  { test -x $(PY) || $(PYTHON) -m venv $(VENV); } && $(PY) -m pip install --quiet --upgrade pip \
	  && $(PY) -m pip install --quiet -r requirements.lock)
	@touch $@

install:
	@if [ -f $(VENV)/.installed ] && [ $(VENV)/.installed -nt requirements.lock ] && [ -x $(PY) ]; then \
	  echo "▸ install: up to date (.venv matches requirements.lock)"; \
	else $(MAKE) --no-print-directory $(VENV)/.installed; fi
	@$(MAKE) --no-print-directory messages

# Compile the English translations (.po -> .mo) with Babel, so no system gettext is needed.
messages: $(VENV)/.installed
	@mkdir -p $(LOG); $(PY) scripts/compile_messages.py > $(LOG)/messages.log || { cat $(LOG)/messages.log; exit 1; }

migrate: install
	$(call step,migrate,migrate the database,$(PY) manage.py migrate --noinput)

# The demo city, when the registry is empty; an unfinished one (a failed or interrupted run) is resumed. Either way
# it ends with the demo logins and what to try; the build details go to var/log/demo-city-details.log.
demo: migrate
	$(call step,demo,demo city ($(DEMO_PERSONS) persons if the database is empty; resumes an unfinished one),\
	  $(PY) manage.py demo_city --if-empty --persons $(DEMO_PERSONS) --details $(LOG)/demo-city-details.log \
	  --url http://$(HOST):$(PORT),show)

static: install
	$(call step,static,collect static files,$(PY) manage.py collectstatic --noinput --verbosity 0)

run: demo static
	@echo "▸ serve http://$(HOST):$(PORT)/  (staff console /console/, API docs /api/v1/docs; SMS codes in var/sms-outbox.log;"
	@echo "  scheduler log $(LOG)/scheduler.log) — Ctrl-C stops it"
	@$(PY) manage.py run_scheduler > $(LOG)/scheduler.log 2>&1 & SCHED=$$!; \
	trap 'kill $$SCHED 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/gunicorn jiaoguan.wsgi --pythonpath src --bind $(HOST):$(PORT) --workers $(WORKERS) \
	  --access-logfile - --graceful-timeout 5

# Debian's Chromium and a Chinese font for the browser journeys (never a downloaded browser build).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! (fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei"); then \
	  echo "installing Debian packages chromium and fonts-wqy-microhei for the browser journeys"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

# The walls a machine checks, configured in pyproject.toml: ruff (style, isort, bugbear, pyupgrade), import-linter
# (ARCHITECTURE's layers; an app's models only from the app) and mypy — strict on core, then the domain apps'
# services, selectors and rules (checked, not strict); each fails the build.
MYPY_DOMAIN = $(filter-out src/jiaoguan/core/%,$(wildcard src/jiaoguan/*/services.py src/jiaoguan/*/services \
  src/jiaoguan/*/selectors.py src/jiaoguan/*/rules.py))

lint: install
	@echo "▸ ruff"; $(VENV)/bin/ruff check --output-format concise .
	@echo "▸ import-linter"; PYTHONPATH=src $(VENV)/bin/lint-imports --cache-dir var/cache/import-linter \
	  | sed -n '/^Contracts:/p;/^Broken contracts/,$$p'; test $${PIPESTATUS[0]} -eq 0
	@echo "▸ mypy (core, strict)"; $(PY) -m mypy
	@echo "▸ mypy (domain services, selectors, rules)"; $(PY) -m mypy $(MYPY_DOMAIN)

# The whole suite: unit, API, concurrency (PostgreSQL) and browser journeys (Debian's chromium), after the walls.
test: install lint browser
	JIAOGUAN_FAST_HASHER=1 DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# Real Celery workers (one per named queue: settings.JIAOGUAN_CELERY_QUEUES) and beat on Redis, against the
# PostgreSQL test database: the outbox, SMS and allocation paths (tests/workers) and the fault tests (tests/faults:
# SIGKILLed workers, Redis down, a backup taken under load and restored). Needs DATABASE_URL (PostgreSQL) and Redis;
# the broker is WORKERS_BROKER_URL, a Redis database of its own that the tests empty.
WORKERS_BROKER_URL ?= redis://127.0.0.1:6379/10
test-workers: install
	JIAOGUAN_REAL_CELERY=1 CELERY_BROKER_URL=$(WORKERS_BROKER_URL) JIAOGUAN_FAST_HASHER=1 \
	  $(PY) -m pytest -p no:xdist -m "real_celery or faults" tests/workers tests/faults $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) var artifacts
