# Two commands do everything on a fresh machine (see README):
#   make demo   — dashboard + demo cluster + in-process watcher on http://127.0.0.1:$(PORT)/
#   make test   — installs what the tests need, starts redis/postgres, runs the whole suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)

.PHONY: demo test lint venv clean

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP)

demo: $(STAMP)
	@mkdir -p var
	DATABASE_URL=sqlite:///var/demo.sqlite3 SECRET_KEY=demo-insecure-key \
	ALLOWED_HOSTS=localhost,127.0.0.1,[::1] SECURE_SSL_REDIRECT=false TIDEWATCH_SECURE_COOKIES=false \
	SECURE_HSTS_SECONDS=0 TIDEWATCH_USE_CELERY=false \
	TIDEWATCH_ACTIONS=service-account TIDEWATCH_DEMO_SIGN_IN=true \
	TIDEWATCH_ANONYMOUS_READ=true $(BIN)/python manage.py demo --port $(PORT) $(if $(SCALE),--scale $(SCALE))

test: $(STAMP)
	@bash scripts/system-packages.sh
	@bash scripts/run-tests.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf var .pytest_cache
