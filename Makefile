# kubeops.jenkins — every command a developer or CI runs. Each target installs what it needs
# (scripts/setup.sh is idempotent: a second run installs nothing).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# two workers: the suites mostly wait on sandboxes; loadfile keeps a module on one worker (shared sandbox)
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: help setup demo molecule docs bench reliability test lint sanity sanity-3.11 sanity-3.12 units pytest changelog-lint build

help:
	@echo "make demo   - install what is needed, start a local sandbox cluster and run playbooks/site.yml against it"
	@echo "make test   - install what is needed and run every gate (lint, sanity 3.11+3.12, units, sandbox and integration tests, build)"

setup:
	@scripts/setup.sh

demo: setup
	scripts/demo.sh

test: setup lint changelog-lint sanity units pytest molecule build
	@echo "make test: all gates passed"

lint: setup
	$(VENV)/yamllint -s .
	$(VENV)/ansible-lint --offline -q

changelog-lint: setup
	$(VENV)/antsibull-changelog lint

sanity: sanity-3.11 sanity-3.12

sanity-3.11 sanity-3.12: setup
	scripts/ansible_test.sh sanity --python $(subst sanity-,,$@) --color no

# tests/unit/plugins: ansible-test units (module and module_utils tests with a fake transport).
# The other tests/unit files check tooling (EE, docs, importer, argument specs) and run under pytest.
units: setup
	scripts/ansible_test.sh units --python 3.12 --color no tests/unit/plugins/

pytest: setup
	$(VENV)/python -m pytest $(PYTEST_ARGS)

build: setup
	mkdir -p build/dist
	$(VENV)/ansible-galaxy collection build --force --output-path build/dist .

# The role scenario against a sandbox (create = sandbox up, converge = site.yml, idempotence, verify, destroy).
molecule: setup
	$(VENV)/molecule test -s default

docs: setup
	scripts/docs.sh build/docs

# The reliability and security matrix alone (issue 7; also part of `make pytest`): faults, bad input,
# restarts, concurrency, secrets, check mode, least privilege. Prints the table; writes
# build/reliability/matrix.md and matrix.json.
reliability: setup
	$(VENV)/python -m pytest $(PYTEST_ARGS) tests/reliability

# Ours vs the peer play (bench/peer), interleaved, on fresh sandboxes: bench/results/results.md + converge.png;
# then the extras (bench/extras.py: 10 plugins in one task vs ten tasks, 20 concurrent builds): extras.md + extras.png
bench: setup
	$(VENV)/python bench/run_bench.py
	$(VENV)/python bench/extras.py
