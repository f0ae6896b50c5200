# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv from the repo's own files.
# A PyPI mirror works through pip's own variable, e.g. PIP_INDEX_URL=https://mirrors.aliyun.com/pypi/simple
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/crisisbot serve --console

# One pytest worker per core plus one (pytest-xdist); every test has its own database, so they do not meet.
# Many tests wait on a subprocess, HTTP or PostgreSQL: with one worker per core the Slack and reply-queue tests
# kept the 2 cores 57% busy, and a third worker took 9% off their wall time (a fourth: no further gain).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) -m bench.ingest
	$(PY) -m bench.alerts
	$(PY) -m bench.playbooks
	$(PY) -m bench.pollers
	$(PY) -m bench.reports

clean:
	rm -rf $(VENV) var .pytest_cache
