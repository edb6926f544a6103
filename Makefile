# Ramflow: `make run` starts the embedded stack, `make test` runs the tests. Both set up .venv first.
# `make -s token USER=<id> ROLES=<role[,role]> [UNIT=<unit>] [TEAM=<team>]` prints a bearer token from the
# local OpenID Connect issuer `make run` started (docs/security.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench bench-front-door openapi docs clean token

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m scripts.devstack

# USER must be given on the command line: the login name in the environment never becomes a token.
token:
ifneq ($(origin USER),command line)
	$(error usage: make -s token USER=<id> ROLES=<role[,role]> [UNIT=<unit>] [TEAM=<team>])
endif
	@$(PY) -m scripts.local_issuer --token USER="$(USER)" ROLES="$(ROLES)" UNIT="$(UNIT)" TEAM="$(TEAM)" EMPLOYEE="$(EMPLOYEE)"

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
