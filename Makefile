# Two commands: `make run` (install, migrate, seed a never-configured gateway, serve on :8000) and `make test`.
# `make run SEED=none` starts without the Mission Engadi routes (an empty gateway shows a welcome at /).
# On a fresh clone ENVIRONMENT is development (its default) and SECRET_KEY the published default: the
# gateway then serves on 127.0.0.1:8000 only, with a warning (set SECRET_KEY, or HOST=0.0.0.0 to opt in).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# if-empty: `flask seed --if-empty` at each start (seeds only a configuration never written, so what an
# operator deleted stays deleted); none: no seeding.
SEED ?= if-empty

.PHONY: run test install install-dev migrate seed serve bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime

install-dev: $(VENV)/.dev

migrate: install
	$(BIN)/flask --app wsgi db upgrade

seed: migrate
ifeq ($(SEED),if-empty)
	$(BIN)/flask --app wsgi seed --if-empty
else ifneq ($(SEED),none)
	$(error SEED must be if-empty or none, not "$(SEED)")
endif

serve: install
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

run: seed serve

# Two pytest-xdist workers, each handed whole files (a file's module-scoped servers start once): most
# tests wait on real server processes rather than the CPU. No -q here: pyproject.toml's addopts has one,
# and a second (-qq) would drop the closing "N passed in ..." line CI reads.
test: install-dev
	$(BIN)/pytest -x -n 2 --dist loadfile

clean:
	rm -rf $(VENV) .pytest_cache

bench: install-dev
	$(BIN)/python -m bench.run

# The gateway in front of nine stand-in services, until Ctrl-C (see README.md, "Demo").
demo: install
	$(BIN)/python -m demo
