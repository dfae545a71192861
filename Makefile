# The commands a person types. `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PERSONS ?= 50000
SEED ?= 0
DISTRICT ?= 310112
DEMO_DIR ?= demo
PORT ?= 8000
VENDOR := src/popbase/web/static/vendor
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq

.PHONY: demo test lint format bench setup venv system web clean

demo: setup
	@if [ ! -f $(DEMO_DIR)/.persons-$(PERSONS)-$(SEED)-$(DISTRICT) ]; then \
		rm -rf $(DEMO_DIR) && \
		$(VENV)/bin/popbase sample $(DEMO_DIR) --persons $(PERSONS) --seed $(SEED) --district $(DISTRICT) && \
		touch $(DEMO_DIR)/.persons-$(PERSONS)-$(SEED)-$(DISTRICT); \
	fi
	$(VENV)/bin/popbase build $(DEMO_DIR)
	$(VENV)/bin/popbase eval $(DEMO_DIR)
	@# The dashboard and API need a sign-in: a user `demo`, whose password is kept in
	@# $(DEMO_DIR)/demo-password (readable by you only) so that every run can show it.
	@if [ ! -f $(DEMO_DIR)/users.json ]; then \
		if [ "$(DISTRICT)" = all ]; then role=city_officer; scope=3101; \
		else role=district_officer; scope=$(DISTRICT); fi; \
		(umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(12))" > $(DEMO_DIR)/demo-password); \
		$(VENV)/bin/popbase users add $(DEMO_DIR) demo --role $$role --scope $$scope --password-stdin < $(DEMO_DIR)/demo-password; \
	fi
	@echo "Dashboard: http://127.0.0.1:$(PORT)/ - sign in as demo, password $$(cat $(DEMO_DIR)/demo-password 2>/dev/null || echo '(see popbase users passwd)')"
	$(VENV)/bin/popbase serve $(DEMO_DIR) --port $(PORT)

test: setup lint
	$(VENV)/bin/pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests bench docs
	$(VENV)/bin/ruff format --check src tests bench docs
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff format src tests bench docs
	$(VENV)/bin/ruff check --fix src tests bench docs

bench: setup
	$(PY) bench/run.py
	$(PY) bench/roads.py
	$(PY) bench/accuracy.py

setup: venv system web

# Python packages, pinned in pyproject.toml.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { $(APT) python3-venv; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,eval]'
	touch $@

# Debian packages: Chromium for the browser tests, a CJK font for Chinese labels, Node.js
# and npm for the dashboard's packages.
system: .stamp-system
.stamp-system:
	@command -v chromium >/dev/null && command -v npm >/dev/null && \
		fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || \
		{ $(APT) chromium fonts-noto-cjk fontconfig $$(command -v npm >/dev/null || echo nodejs npm); }
	touch $@

# npm packages for the dashboard, copied into the package's static folder.
web: $(VENDOR)/.installed
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/maplibre-gl/dist/maplibre-gl.mjs node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs \
	   node_modules/maplibre-gl/dist/maplibre-gl-shared.mjs node_modules/maplibre-gl/dist/maplibre-gl.css $(VENDOR)/
	cp node_modules/echarts/dist/echarts.esm.min.mjs $(VENDOR)/
	touch $@

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .stamp-system $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
