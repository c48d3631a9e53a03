# renditions: `make demo` sets up and builds the example site; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BIN)/renditions build --root .
	@echo "Variants written under public/ (see public/img/artical/*/); manifest: renditions.lock.json"

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) public renditions.lock.json .pytest_cache
