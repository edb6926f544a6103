# Ramflow: `make run` starts the embedded stack, `make test` runs the tests. Both set up .venv first.
# `make -s token USER=<id> ROLES=<role[,role]> [UNIT=<unit>] [TEAM=<team>]` prints a bearer token from the
# local OpenID Connect issuer `make run` started (docs/security.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-dates test-topology bench bench-front-door bench-fleet bench-renewal-wave bench-device-import bench-yearly-rounds bench-replay bench-mail-in bench-search openapi docs clean token

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

# The Debian tools the tests need (promtool, chromium, dovecot) are installed first where this machine allows;
# the run ends by naming every test it skipped and why (tests/conftest.py).
# Then the date-sensitive tests again on five days across the coming year (issue 20: any day; `make test-dates`).
test: $(STAMP)
	bash scripts/test_prerequisites.sh
	$(PY) -m pytest -q
	$(PY) -m scripts.test_dates

# Issue 20: the date-sensitive tests (marker `dates`) with the clock at five days across the coming year
# (RAMFLOW_TEST_TODAY, tests/clock.py; DAYS="2027-03-31T23:30 ..." for others; 2-5 min a day on the shared cores).
DAYS ?=
test-dates: $(STAMP)
	$(PY) -m scripts.test_dates $(DAYS)

# Issue 15: the production topology alone (two workers, two API processes, PostgreSQL; 1-3 min on a loaded box; also in `make test`).
test-topology: $(STAMP)
	$(PY) -m pytest -q -s -m topology tests/topology

bench: $(STAMP)
	$(PY) -m bench.equipment_throughput

bench-front-door: $(STAMP)
	$(PY) -m bench.front_door

# Issue 15 (docs/benchmarks.md): the fleet at each size given (SIZES, default 1000 5000; the region is 20000),
# the renewal wave (DEVICES, default 2000), the yearly round (AGREEMENTS, default 500), replay of stored histories.
# They use PostgreSQL at 127.0.0.1:5432 (user postgres) and ports from BENCH_PORT_BASE (default 23100).
SIZES ?= 1000 5000
DEVICES ?= 2000
AGREEMENTS ?= 500
bench-fleet: $(STAMP)
	$(PY) -m bench.fleet $(SIZES)

# Issue 23 (docs/benchmarks.md): search over the whole fleet, DEVICES register rows (default 20000) on PostgreSQL
bench-search: $(STAMP)
	$(PY) -m bench.search $(DEVICES)

bench-renewal-wave: $(STAMP)
	$(PY) -m bench.renewal_wave $(DEVICES)

# Issue 22 (docs/import.md): the device register's import, ROWS rows (default 10000), against the fleet's start path
bench-device-import: $(STAMP)
	$(PY) -m bench.device_import $(ROWS)

bench-yearly-rounds: $(STAMP)
	$(PY) -m bench.yearly_rounds $(AGREEMENTS)

bench-replay: $(STAMP)
	$(PY) -m bench.replay

# Issue 21 (docs/mail.md): support mail → tickets per second and p95 arrival → ticket (N mails, default 300)
bench-mail-in: $(STAMP)
	$(PY) -m bench.mail_in $(MAILS)

docs: $(STAMP)
	$(PY) -m scripts.render_docs

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
