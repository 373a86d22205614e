# Each target sets up its own virtual environment first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STAGE  ?= dev
REGION ?= eu-west-1

.PHONY: run test package bench staff clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip>=24,<26.3"  # chalice 1.34 packages with pip < 26.3
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)        ## the whole service on an embedded AWS emulator
	$(PY) -m local.runtime

test: $(STAMP)       ## the whole test suite
	$(PY) -m pytest

package: $(STAMP)    ## a deployable CloudFormation template in build/ (STAGE=dev REGION=eu-west-1)
	$(PY) -m infra.package build --stage $(STAGE) --region $(REGION)

bench: $(STAMP)      ## the benchmark scripts (they print their figures)
	$(PY) bench/cold_start.py
	$(PY) bench/api_latency.py

clean:
	rm -rf $(VENV) build .mailroom .pytest_cache .chalice/deployments

.PHONY: demo
demo: $(STAMP)       ## make run, with an approved account, a list of 1,000 and a campaign sent, opened and clicked
	$(PY) -m local.demo
