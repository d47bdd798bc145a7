# Jiaoguan — two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make run    install, migrate, load the demo city, serve on http://127.0.0.1:8000
#   make test   the whole suite (SQLite; PostgreSQL too when DATABASE_URL is set)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PERSONS ?= 2000
WORKERS ?= 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install browser run test bench migrate demo messages clean

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

install: $(VENV)/.installed messages

# Compile the English translations (.po -> .mo) with Babel, so no system gettext is needed.
messages: $(VENV)/.installed
	@$(PY) scripts/compile_messages.py

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo_city --if-empty --persons $(DEMO_PERSONS)

run: demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Jiaoguan: http://$(HOST):$(PORT)/  (staff console: /console/, API docs: /api/v1/docs)"
	@echo "Demo logins are listed in README.md; SMS codes appear in var/sms-outbox.log"
	$(PY) manage.py run_scheduler & SCHED=$$!; \
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

# The whole suite: unit, API, concurrency (PostgreSQL) and browser journeys (Debian's chromium).
test: install browser
	JIAOGUAN_FAST_HASHER=1 DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) var artifacts
