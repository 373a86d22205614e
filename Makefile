# Each target sets up its own virtual environment first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STAGE  ?= dev
REGION ?= eu-west-1

.PHONY: run test package bench staff clean lock

# Installed from the lock files: every package at its locked version, each file checked against its hash.
$(STAMP): requirements.lock requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $(STAMP)

# After editing requirements.txt or requirements-dev.txt: resolve them again into the hashed locks (for Lambda's
# Python 3.11 on x86_64 Linux; `make package` refuses a lock that does not hold requirements.txt's pins).
LOCK := $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
        --python-platform x86_64-manylinux2014 --no-header
lock: $(STAMP)
	$(LOCK) requirements.txt -o requirements.lock
	$(LOCK) requirements-dev.txt -o requirements-dev.lock

run: $(STAMP)        ## the whole service on an embedded AWS emulator
	$(PY) -m local.runtime

test: $(STAMP)       ## the whole test suite
	$(PY) -m pytest

package: $(STAMP)    ## a deployable CloudFormation template in build/ (STAGE=dev REGION=eu-west-1); the layer from requirements.lock
	$(PY) -m infra.package build --stage $(STAGE) --region $(REGION)

bench: $(STAMP)      ## the benchmark scripts (they print their figures)
	$(PY) bench/cold_start.py
	$(PY) bench/api_latency.py

clean:
	rm -rf $(VENV) build .mailroom .pytest_cache .chalice/deployments

.PHONY: demo
demo: $(STAMP)       ## make run, with an approved account, a list of 1,000 and a campaign sent, opened and clicked
	$(PY) -m local.demo
