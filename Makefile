# One source of truth for commands: README, CI (.ci/run) and developers call these targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tests/node/node_modules/.installed-stamp
APT_STAMP := $(VENV)/.apt-stamp
# Blender as a module (bpy) for the independent glTF import test: its own venv (numpy 1.x)
BLENDER_VENV := .venv-blender
BLENDER_STAMP := $(BLENDER_VENV)/.installed-stamp

.PHONY: setup demo demo-forest test lint unit bench clean stack stack-down viewer

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,embedded,bench]'
	# UE's generated Python API stub, for type-checking the UE bootstrap (tests/engines/
	# test_unreal_stub.py); kept off sys.path: its module "unreal" does not import.
	$(PY) -m pip install --quiet --no-deps -c constraints.txt --upgrade \
	  --target $(VENV)/stubs/unreal 'unreal-stub>=0.3,<0.4'
	touch $@

$(BLENDER_STAMP): tests/blender/requirements.txt
	test -x $(BLENDER_VENV)/bin/python || python3 -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/python -m pip install --quiet -r tests/blender/requirements.txt
	touch $@

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# promtool (alert rule tests), SoftHSM2 (PKCS#11 signing tests), Chromium (dashboard test),
# podman/runc/debootstrap (the container and local-stack tests build and run the image from a
# Debian base bootstrapped from apt's own mirror), g++ (the UE plugin's C++ syntax check)
APT_PACKAGES := prometheus softhsm2 chromium podman runc debootstrap g++

# Rechecked when this file changes (a new package in the list above).
$(APT_STAMP): Makefile
	@command -v promtool >/dev/null && command -v chromium >/dev/null && \
	  command -v podman >/dev/null && command -v runc >/dev/null && \
	  command -v debootstrap >/dev/null && command -v g++ >/dev/null && \
	  test -e /usr/lib/softhsm/libsofthsm2.so || \
	  (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
	   apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	   --no-install-recommends $(APT_PACKAGES) >/dev/null)
	@mkdir -p $(dir $@) && touch $@

VIEWER_STAMP := web/viewer/node_modules/.installed-stamp

$(VIEWER_STAMP): web/viewer/package.json web/viewer/package-lock.json
	cd web/viewer && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP) $(NODE_STAMP) $(APT_STAMP) $(BLENDER_STAMP) $(VIEWER_STAMP)

## viewer: rebuild src/pacai_export/api/static/viewer.js (three.js, pinned in web/viewer) with
## esbuild; the result is committed, and a test checks it equals a fresh build
viewer: $(VIEWER_STAMP)
	cd web/viewer && npm run --silent build

## demo: set up, then run the whole flow on embedded defaults; prints the bundle's path
demo: $(STAMP)
	$(VENV)/bin/pacai-export demo

## demo-forest: big worlds offline: the 1,000-node example and a generated 20,000-node forest
## (its props instanced in every engine), all three engines; bundles in exports/
demo-forest: $(STAMP)
	$(VENV)/bin/pacai-export export examples/stress-1000/manifest.json \
	  --engines godot,unity,ue5 --quality high --out exports
	$(PY) examples/forest-20000/generate.py exports/forest-20000/manifest.json
	$(VENV)/bin/pacai-export export exports/forest-20000/manifest.json \
	  --engines godot,unity,ue5 --quality high --out exports

## lint: ruff over the package, tests, benchmarks, examples and scripts; mypy (strict) over
## the package. Needs the venv only (no apt packages, no node modules).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples scripts
	$(VENV)/bin/mypy

## unit: the quick unit tests (seconds; no worker processes, no Node, no containers)
unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit

## test: set up, lint, then the whole test suite (CI runs exactly this)
test: setup lint
	$(VENV)/bin/pytest

BENCH_NODE_STAMP := bench/node/node_modules/.installed-stamp

$(BENCH_NODE_STAMP): bench/node/package.json bench/node/package-lock.json
	cd bench/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## bench: every benchmark of docs/performance.md (the assets one takes minutes)
bench: setup $(BENCH_NODE_STAMP)
	$(PY) bench/queue_overhead.py
	$(PY) bench/export_time.py
	$(PY) bench/s3_clients.py
	$(PY) bench/assets.py
	$(PY) bench/shutdown.py
	$(PY) bench/hostile.py

# docker compose where its plugin is installed, else podman-compose (installed by make setup).
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo docker compose || echo $(VENV)/bin/podman-compose)

## stack: build the image and start the local stack of deploy/compose/compose.yaml
stack: $(STAMP)
	$(COMPOSE) -f deploy/compose/compose.yaml up -d --build

## stack-down: stop and remove the local stack's containers (its volumes stay)
stack-down: $(STAMP)
	$(COMPOSE) -f deploy/compose/compose.yaml down

clean:
	rm -rf $(VENV) tests/node/node_modules bench/node/node_modules web/viewer/node_modules exports
