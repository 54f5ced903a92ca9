# One source of truth for commands: README, CI (.ci/run) and developers call these targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tests/node/node_modules/.installed-stamp
APT_STAMP := $(VENV)/.apt-stamp

.PHONY: setup demo test lint unit bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,embedded,bench]'
	touch $@

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# promtool (alert rule tests), SoftHSM2 (PKCS#11 signing tests), Chromium (dashboard test)
APT_PACKAGES := prometheus softhsm2 chromium

$(APT_STAMP):
	@command -v promtool >/dev/null && command -v chromium >/dev/null && \
	  test -e /usr/lib/softhsm/libsofthsm2.so || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	   --no-install-recommends $(APT_PACKAGES) >/dev/null)
	@mkdir -p $(dir $@) && touch $@

setup: $(STAMP) $(NODE_STAMP) $(APT_STAMP)

## demo: set up, then run the whole flow on embedded defaults; prints the bundle's path
demo: $(STAMP)
	$(VENV)/bin/pacai-export demo

## lint: ruff and mypy (strict) over the package, tests and benchmarks
lint: setup
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/mypy

## test: set up, lint, then the whole test suite (CI runs exactly this)
test: lint
	$(VENV)/bin/pytest

## bench: the queue-overhead benchmark (docs/performance.md)
bench: setup
	$(PY) bench/queue_overhead.py

clean:
	rm -rf $(VENV) tests/node/node_modules exports
