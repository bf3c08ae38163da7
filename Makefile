# The two commands of the README: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup setup-demo demo test test-unit test-localcluster clean bench collection ee-context browser toolchains

# .venv/ with everything, and the link that makes this checkout the installed collection: after
# `make setup` the README's ansible-playbook commands run as written.
setup: $(STAMP) collections-link

# What `make demo` needs, and no more: ansible-core, the collection's requirements and
# localcluster's (requirements-demo.txt). `make setup` adds the tests', lint's and packaging tools.
DEMO_STAMP := $(VENV)/.installed-demo
setup-demo: $(DEMO_STAMP) collections-link

# Each install runs only when its requirements files changed: a warm `make test` or `make demo`
# must not touch the network.
DEMO_REQUIREMENTS := requirements.txt requirements-localcluster.txt requirements-demo.txt
$(DEMO_STAMP): $(DEMO_REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-demo.txt
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP) requirements-test.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $(STAMP)

# Starts a source and a destination localcluster, runs playbooks/testbench.yml on the image
# pipeline against them (twice: the second run must report changed=0), prints the verdict and
# stops the clusters (tools/demo.py). `make demo DEMO_ARGS=--once` skips the second run.
# `make demo DEMO_DESTINATIONS=3` checks three destination clusters in parallel: one verdict each.
DEMO_DESTINATIONS ?= 1
demo: setup-demo
	$(PY) tools/demo.py --destinations $(DEMO_DESTINATIONS) $(DEMO_ARGS)

test-localcluster: setup toolchains
	$(PY) -m pytest -q -n 2 --dist loadfile tests/localcluster

# Everything: ansible-lint, ansible-test sanity and every pytest suite but the `alone` tests (unit,
# localcluster, module and playbook integration against localcluster, molecule, ansible-doc), side
# by side (--output-sync prints each one's output whole when it ends): the pytest phase runs on 3
# workers on 2 cores, since many tests spend their time waiting on builds, calls and processes
# (526 s on 3 workers against 650 s on 2), and lint and sanity fill what they leave of the cores.
# --dist loadfile keeps a module's tests on one worker: they share a cluster per module. Tests
# marked `alone` (their verdict rests on measured latencies) run afterwards, one at a time.
# tests/output is ansible-test's, written while pytest collects: never collected.
test: setup browser toolchains
	$(MAKE) --no-print-directory -j3 --output-sync=target lint sanity test-parallel
	$(PY) -m pytest -q -p no:cacheprovider --durations=10 --ignore=tests/output -m alone tests

.PHONY: test-parallel
test-parallel: setup
	$(PY) -m pytest -q -n 3 --dist loadfile -p no:cacheprovider --durations=25 --ignore=tests/output -m "not alone" tests

# Debian packages the tests need, installed with apt-get only when missing (as root, or through
# password-less sudo; otherwise this stops with the command to run): Chromium for the report
# test (playwright drives it; it never downloads a browser of its own), and the toolchains of the
# languages localcluster builds besides Python (docs/localcluster.md, "Languages").
CHROMIUM := /usr/bin/chromium
browser:
	@tools/debian_packages.sh "make browser" chromium=$(CHROMIUM)

toolchains:
	@tools/debian_packages.sh "make toolchains" nodejs=node npm=npm default-jdk-headless=javac \
	  libgoogle-gson-java=/usr/share/java/gson.jar ruby=ruby

# The speed of this project's own code; figures, never pass/fail, gathered into one table at the
# end. `make bench BENCH_ARGS=--quick` for a small try, BENCH_ARGS="--only driver_vs_wrk" for one,
# BENCH_ARGS=--all for the long million_calls too. bench.driver_vs_wrk measures the
# driver against wrk (a Debian package), installed here when missing: as root, or through sudo.
bench: setup
	@command -v wrk >/dev/null || { \
	  if ! command -v apt-get >/dev/null; then \
	    echo "make bench needs wrk (https://github.com/wg/wrk): install it with your package manager" >&2; exit 1; \
	  elif [ "$$(id -u)" = 0 ]; then apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
	  elif command -v sudo >/dev/null; then sudo apt-get install -y wrk || { sudo apt-get update && sudo apt-get install -y wrk; }; \
	  else echo "make bench needs wrk: run 'apt-get install wrk' as root" >&2; exit 1; fi; }
	$(PY) -m bench.run_all $(BENCH_ARGS)

# The Galaxy tarball (dist/algorithmia-testbench-<version>.tar.gz; galaxy.yml's build_ignore keeps
# the project around the collection out of it), and the build context of the execution
# environment with it (context/; build the image with `podman build context` or `docker build context`).
collection: setup
	$(VENV)/bin/ansible-galaxy collection build --force --output-path dist .

ee-context: collection
	cp dist/algorithmia-testbench-$$(sed -n 's/^version: *//p' galaxy.yml).tar.gz dist/algorithmia-testbench.tar.gz
	$(VENV)/bin/ansible-builder create -f execution-environment.yml -c context

# The docs site: antsibull-docs' pages of every module, the workflow lookup and the testbench role,
# the collection's guides (docs/docsite/, docs/usage.md) and docs/localcluster.md, built by Sphinx with
# every warning an error, offline (tools/build_docs.py). Open build/docs/html/index.html.
.PHONY: docs
docs: setup
	$(PY) tools/build_docs.py --output build/docs

clean:
	rm -rf $(VENV) .collections .ansible tests/output dist context

# CHANGELOG.md generated from changelogs/changelog.yaml (docs/development.md, "The changelog").
.PHONY: changelog
changelog: setup
	$(VENV)/bin/antsibull-changelog generate

# ---- collection checks: ansible-test sanity and ansible-lint ---------------------------------
.PHONY: collections-link sanity lint
COLLECTION_LINK := .collections/ansible_collections/algorithmia/testbench
SANITY_PYTHON ?= 3.11
ANSIBLE_TEST_CACHE := $(HOME)/.ansible/test/cache

# ansible.cfg points collections_path at .collections: this link makes the checkout itself the
# installed collection, for ansible-playbook, ansible-doc and ansible-lint's offline mode.
collections-link: $(COLLECTION_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn ../../.. $(COLLECTION_LINK)

# ansible-test refuses a symlinked tree and needs the ansible_collections/<ns>/<name> layout,
# so the tracked files are copied into a temporary one. Its pip bootstrap script comes from a
# host that may be unreachable: the stand-in is put into its cache under the name it looks for.
sanity: setup
	mkdir -p $(ANSIBLE_TEST_CACHE)
	pip_version=$$($(PY) -c 'import os, re, ansible_test; src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read(); print(re.search(r"pip=.([0-9.]+).", src).group(1).replace(".", "_"))') && \
	  cp tests/sanity/get_pip_standin.py $(ANSIBLE_TEST_CACHE)/get_pip_$$pip_version.py
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  dest="$$tmp/ansible_collections/algorithmia/testbench" && mkdir -p "$$dest" && \
	  git ls-files -z | tar --null --files-from=- --ignore-failed-read -cf - | tar -xf - -C "$$dest" && \
	  cd "$$dest" && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ansible-test sanity --local --python $(SANITY_PYTHON)

lint: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ansible-lint --profile production
