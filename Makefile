# Setia: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install widget catalogues msgfmt run test lint format bench bench-earning bench-storefront bench-admin clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The storefront widget (storefront_widget/src/, TypeScript) built by esbuild into static/setia/:
# `npm ci` when the lockfile changes, the build when a source changes. Needs Node 18+ and npm.
WIDGET_DIR := storefront_widget
WIDGET_DEPS := $(WIDGET_DIR)/node_modules/.package-lock.json
WIDGET := static/setia/.built-stamp

$(WIDGET_DEPS): $(WIDGET_DIR)/package.json $(WIDGET_DIR)/package-lock.json
	cd $(WIDGET_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(WIDGET_DEPS)

$(WIDGET): $(WIDGET_DEPS) $(WIDGET_DIR)/build.mjs $(wildcard $(WIDGET_DIR)/src/*)
	cd $(WIDGET_DIR) && npm run --silent build
	touch $(WIDGET)

widget: $(WIDGET)

# The admin's translations: each area's locale/<lang>/LC_MESSAGES/django.po compiled to .mo by
# msgfmt (Debian's gettext, installed when missing and apt-get can, as root), when it changes.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard loyalty/*/locale/*/LC_MESSAGES/django.po \
	loyalty/*/*/locale/*/LC_MESSAGES/django.po))

msgfmt:
	@command -v msgfmt >/dev/null 2>&1 || { \
		echo "install: installing gettext (msgfmt)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null 2>&1; } || true; }
	@command -v msgfmt >/dev/null 2>&1 || { \
		echo "install: msgfmt is missing: install gettext (apt-get install gettext)"; exit 1; }

%.mo: %.po | msgfmt
	msgfmt --check-format -o $@ $<

catalogues: $(CATALOGUES)

install: $(STAMP) $(WIDGET) catalogues

# Development configuration for `make run` (DEBUG=1: SQLite, in-process tasks, dev secrets).
.env:
	cp .env.example .env

# Serves the app with the local Shopify stand-in on port $(STANDIN_PORT) and installs a demo
# shop through the stand-in's OAuth flow; the URLs to open are printed once it is up.
STANDIN_PORT ?= 8765

run: install .env
	$(BIN)/python manage.py migrate --noinput
	@echo ""
	@echo "  Setia is starting on http://$(HOST):$(PORT) (health: http://$(HOST):$(PORT)/healthz)"
	@echo ""
	$(BIN)/python manage.py devserver --addrport $(HOST):$(PORT) --standin-port $(STANDIN_PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Webhook intake against a bare view on gunicorn, PostgreSQL and Redis (tests/benchmarks/).
# Installs wrk when missing and apt-get can (as root); otherwise a Python generator stands in.
# Then the earning burst (bench-earning, below).
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "bench: installing wrk"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1; } || \
		echo "bench: could not install wrk; the Python load generator stands in"; }
	$(BIN)/python tests/benchmarks/webhook_intake.py
	@$(MAKE) --no-print-directory bench-earning
	@$(MAKE) --no-print-directory bench-storefront

# A burst of 20,000 signed orders/paid deliveries for 5,000 members through gunicorn, PostgreSQL,
# Redis and a Celery worker of 2, then 1 and 4 processes, timed until every order is credited,
# then ledger_audit. BENCH_EARNING_ORDERS scales it down; see tests/benchmarks/earning_burst.py.
bench-earning: install
	$(BIN)/python tests/benchmarks/earning_burst.py

# The storefront: the `state` answer for a member with 1,000 ledger entries beside the bare view,
# then redemptions by 20 shoppers at once against the stand-in (tests/benchmarks/storefront.py).
bench-storefront: install
	$(BIN)/python tests/benchmarks/storefront.py

# The merchant admin with a million members and ten million ledger entries (generated once in
# its own PostgreSQL database, ~40 minutes the first time): members pages, dashboard, analytics.
bench-admin: install
	$(BIN)/python tests/benchmarks/admin_members.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles static/setia \
		$(WIDGET_DIR)/node_modules test-artifacts

# The widget's cost to a storefront (tests/benchmarks/lighthouse_widget.py): Lighthouse on the
# stand-in's demo product page with and without the widget. Lighthouse (npm) goes to var/.
LIGHTHOUSE_VERSION := 13.5.0
.PHONY: bench-widget
bench-widget: install
	@test -x var/lighthouse/node_modules/.bin/lighthouse || npm install --no-save --no-audit \
		--no-fund --loglevel=error --prefix var/lighthouse lighthouse@$(LIGHTHOUSE_VERSION)
	$(BIN)/python tests/benchmarks/lighthouse_widget.py
