# Ramflow: `make run` starts the embedded stack, `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench bench-front-door openapi docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m scripts.devstack

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench.equipment_throughput

bench-front-door: $(STAMP)
	$(PY) -m bench.front_door

docs: $(STAMP)
	$(PY) -m scripts.render_docs

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
