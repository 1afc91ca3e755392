# Setia: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Development configuration for `make run` (DEBUG=1: SQLite, in-process tasks, dev secrets).
.env:
	cp .env.example .env

run: install .env
	$(BIN)/python manage.py migrate --noinput
	@echo ""
	@echo "  Setia is starting on http://$(HOST):$(PORT)"
	@echo "    health check:   http://$(HOST):$(PORT)/healthz"
	@echo "    Django admin:   http://$(HOST):$(PORT)/django-admin/  (python manage.py createsuperuser)"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles
