# The two commands of the README: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-unit test-localcluster clean bench

setup: $(STAMP)

# Reinstall only when a requirements file changed: a warm `make test` must not touch the network.
$(STAMP): requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $(STAMP)

test-localcluster: setup
	$(PY) -m pytest -q tests/localcluster

test: setup
	$(PY) -m pytest -q tests

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .collections .ansible tests/output
