# kubeops.jenkins — every command a developer or CI runs. Each target installs what it needs
# (scripts/setup.sh is idempotent: a second run installs nothing).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(CURDIR)/.venv/bin:$(PATH)
PYTEST_ARGS ?=

.PHONY: help setup test lint sanity sanity-3.11 sanity-3.12 units pytest changelog-lint build

help:
	@echo "make test   - install what is needed and run every gate (lint, sanity 3.11+3.12, units, sandbox and integration tests, build)"

setup:
	@scripts/setup.sh

test: setup lint changelog-lint sanity units pytest build
	@echo "make test: all gates passed"

lint: setup
	$(VENV)/yamllint -s .
	$(VENV)/ansible-lint --offline -q

changelog-lint: setup
	$(VENV)/antsibull-changelog lint

sanity: sanity-3.11 sanity-3.12

sanity-3.11 sanity-3.12: setup
	scripts/ansible_test.sh sanity --python $(subst sanity-,,$@) --color no

units: setup
	scripts/ansible_test.sh units --python 3.12 --color no

pytest: setup
	$(VENV)/python -m pytest $(PYTEST_ARGS)

build: setup
	mkdir -p build/dist
	$(VENV)/ansible-galaxy collection build --force --output-path build/dist .
