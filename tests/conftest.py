"""The test suite's layout: one folder per room of the package (estimators, envs, training, lab, notebook, course,
integrations, tracking, book, ...), plus architecture/ (packaging, lint, the light core) and vllm_backend/ (run in
vLLM's own venv). What several modules share lives in the ``tests.support`` package; a test module never imports
another test module. Markers: ``slow`` (> ~20 s) and ``browser`` tests run in ``make test-all``, not ``make test``.

The report header names the optional stacks this venv has, so a CI log shows why a group of tests was skipped.
Trackio reads ``TRACKIO_DIR`` once, when it is first imported (TRL and transformers may import it early), so each
test process points it at a fresh folder here, before any test runs."""
import importlib.util
import os
import tempfile

os.environ["TRACKIO_DIR"] = tempfile.mkdtemp(prefix="gigpo-tests-trackio-")

OPTIONAL_STACKS = {"vllm": "vllm", "trackio": "trackio", "otter-grader": "otter", "playwright": "playwright",
                   "textworld": "textworld", "verl": "verl"}


def pytest_report_header(config):
    present = [name for name, module in OPTIONAL_STACKS.items() if importlib.util.find_spec(module) is not None]
    absent = [name for name in OPTIONAL_STACKS if name not in present]
    return [f"optional stacks present: {', '.join(present) or 'none'}; absent: {', '.join(absent) or 'none'}"]
