# "PyTorch on Apple Silicon": every target sets up .venv first, so a fresh clone needs no other step.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NB ?= $(wildcard notebooks/*.ipynb)
DEVICE ?=
PARAMS ?=
PORT ?= 8000
# Nothing downloads at run time: models and data come from installed packages.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONWARNINGS := ignore::DeprecationWarning

.DEFAULT_GOAL := help
.PHONY: help env setup lab execute test under-load mac bench book i18n serve clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  variables: NB=notebooks/01-....ipynb  DEVICE=auto|mps|cuda|cpu  PARAMS='-p name value'  PORT=8000"

ifeq ($(origin PY),command line)
# PY=python (e.g. the conda environment of environment.yml): use it as it is, create nothing.
env:
	@$(PY) -c "import mpsbook, papermill, nbval" 2>/dev/null || { echo "$(PY) lacks the book's packages: pip install -r requirements.txt -e ."; exit 1; }
else
env: $(STAMP)
endif

setup: env ## Create .venv with the pinned stack, and find (or install) the browser the tests drive
	@$(PY) tools/browser.py

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $@

lab: env ## JupyterLab on the chapter sources, on 127.0.0.1
	$(PY) -m jupyter lab --ip=127.0.0.1 --no-browser --notebook-dir=notebooks

execute: env ## Run sources into book/ with papermill (NB=one notebook, DEVICE=cuda, PARAMS='-p k v')
	$(PY) tools/execute.py $(NB) $(if $(DEVICE),-p device $(DEVICE)) $(PARAMS)

test: setup ## Unit tests, notebook rules, ruff, and nbval re-validation of book/ — one pytest run
	$(PY) -m pytest tests book --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg

under-load: setup ## Re-validate every chapter 3 times while every core is kept busy (minutes; not in make test)
	$(PY) tools/under_load.py

MAC_ARGS ?=
mac: setup ## On an Apple Silicon Mac: every chapter on mps, re-validate, benchmark, summarise what changed (MAC_ARGS=--summary-file PATH)
	$(PY) tools/on_a_mac.py $(MAC_ARGS)

BENCH_ARGS ?=
bench: env ## Benchmarks on DEVICE (default auto) and on the CPU into results/<machine>.json (BENCH_ARGS=--quick)
	PYTHONPATH=src $(PY) -m mpsbook.bench --device $(or $(DEVICE),auto) --out results $(BENCH_ARGS)

book: env ## Build the site, English and Japanese (_build/html, _build/html/ja), from the stored outputs (warnings are errors)
	$(PY) tools/build_site.py
	@echo "open _build/html/book/intro.html, or run: make serve"

i18n: env ## After an English edit: extract the prose again and update the Japanese catalogs in locale/ja
	$(PY) tools/build_site.py --i18n

serve: ## Serve the built site on 127.0.0.1 (PORT=8000)
	@test -d _build/html || { echo "no site yet: run make book"; exit 1; }
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

clean: ## Remove the built site and caches (keeps .venv)
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
