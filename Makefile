# Two commands on a fresh clone: `make run` and `make test`. Each builds .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
PORT   ?= 5006
CHROMIUM ?= /usr/bin/chromium
PROMTOOL ?= /usr/bin/promtool

.PHONY: run test lint bench docs clean postgresql

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/panel serve app.py --warm --plugins seamless.ops.plugin --address 127.0.0.1 --port $(PORT) --allow-websocket-origin 127.0.0.1:$(PORT) --allow-websocket-origin localhost:$(PORT)

# Browser tests drive Debian's chromium (Playwright with executable_path); as root, install it.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	else echo "browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi

# The metrics tests check the exposition and the alert rules with Debian's promtool and scrape
# with a real prometheus (the package brings both; its own service is not used); as root, install it.
$(PROMTOOL):
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q prometheus >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q prometheus >/dev/null; }; \
	else echo "the metrics tests need Debian's prometheus (promtool): sudo apt-get install prometheus" >&2; exit 1; fi

# The mirror's tests start a PostgreSQL of their own (initdb in a temp dir, pg_ctl on a free
# loopback port) with Debian's server programs; as root, install them.
postgresql:
	@if ! command -v pg_config >/dev/null 2>&1 || [ ! -x "$$(pg_config --bindir)/initdb" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }; \
	  else echo "the mirror tests need Debian's PostgreSQL server: sudo apt-get install postgresql" >&2; exit 1; fi; \
	fi

test: $(STAMP) $(CHROMIUM) $(PROMTOOL) postgresql
	$(PY) -m pytest -q

# Lint, format and types; CI runs it before the tests.
lint: $(STAMP)
	$(VENV)/bin/ruff check seamless tests app.py
	$(VENV)/bin/ruff format --check seamless tests app.py
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/seamless bench store

# The documentation site, API reference included, in site/; --strict: a broken link, a missing
# page or a docstring mkdocstrings cannot read fails the build.
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis site
