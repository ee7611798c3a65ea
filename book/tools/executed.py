"""The notebooks executed with their default parameters, cached under a key of their source.

The book shows real outputs, so every notebook page comes from a run of that notebook. The run is the one CI makes
(``gigpo.notebook.runner.run_notebook`` with no parameters: papermill in the notebook's folder, ``output_dir``
pointed at the run directory), so the book and the tests agree on what a notebook prints. Notebooks 03 and 04 take
minutes, so a run is kept in ``book/_cache/executed/<stem>-<key>/`` with ``timing.json`` (its wall time), and reused
while the key is unchanged. The key hashes the ``.ipynb`` the run executes (its pair, the percent script, is kept in
step by jupytext) and the parameters: editing a notebook re-executes it, editing the library does not (``make
book-clean`` or ``--reexecute`` forces fresh runs).

The test suite runs notebooks with their default parameters too (tests/notebook/test_notebooks.py: 01 and 02 in
the quick suite, 03 and 04 in the slow tests); it hands each finished run to :func:`adopt`, which files it under the
same key, so ``make book`` after ``make test-main`` does not execute those again, and shows the run made against the
library as it is now.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CACHE = ROOT / "book" / "_cache" / "executed"
CACHE_FORMAT = 1  # bump when what a cached run holds changes


@dataclass(frozen=True)
class ExecutedNotebook:
    stem: str           # e.g. "03_training"
    path: Path          # the executed .ipynb
    seconds: float      # wall time of its execution
    from_cache: bool


def source_key(notebook: Path, params: dict | None = None) -> str:
    """sha256 of the notebook's bytes, the parameters and the cache format: equal key, equal run."""
    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(json.dumps({"params": params or {}, "format": CACHE_FORMAT}, sort_keys=True).encode())
    return digest.hexdigest()


def run_dir_of(notebook: Path, key: str, cache: Path = CACHE) -> Path:
    return cache / f"{notebook.stem}-{key[:16]}"


def execute(notebook: Path, *, cache: Path = CACHE, reexecute: bool = False, params: dict | None = None,
            log=print) -> ExecutedNotebook:
    """The executed copy of ``notebook``: from the cache when its key matches, else run now (and cached)."""
    from gigpo.notebook.runner import run_notebook

    notebook = Path(notebook).resolve()
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise ValueError(f"not a notebook file: {str(notebook)!r}")
    key = source_key(notebook, params)
    run_dir = run_dir_of(notebook, key, cache)
    timing = run_dir / "timing.json"
    if timing.exists() and not reexecute:
        seconds = json.loads(timing.read_text())["seconds"]
        return ExecutedNotebook(notebook.stem, run_dir / notebook.name, seconds, True)
    for stale in cache.glob(f"{notebook.stem}-*"):  # older sources, an interrupted run: never served
        shutil.rmtree(stale)
    log(f"executing {notebook.name} (default parameters) ...")
    start = time.perf_counter()
    try:
        run_notebook(notebook, dict(params or {}), name=run_dir.name, runs_dir=cache)
    except Exception as exc:
        raise RuntimeError(f"{notebook.name} failed to execute; the book shows only notebooks that run "
                           f"(executed copy with the error: {run_dir / notebook.name}): {exc}") from exc
    seconds = time.perf_counter() - start
    timing.write_text(json.dumps({"seconds": round(seconds, 1), "key": key, "notebook": notebook.name,
                                  "executed_at": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
    log(f"executed {notebook.name} in {seconds:.0f} s")
    return ExecutedNotebook(notebook.stem, run_dir / notebook.name, seconds, False)


def adopt(notebook: Path, run_dir: Path, seconds: float, key: str, *, params: dict | None = None,
          cache: Path = CACHE) -> Path | None:
    """File a finished run of ``notebook`` made elsewhere (``run_notebook`` with ``params`` into ``run_dir``) as its
    cached run; the cached run's folder, or None when the notebook changed since the run started.

    ``key`` is :func:`source_key` taken before that run started, so a run of a notebook edited meanwhile is not
    filed under the new source. It replaces a cached run of the same key (the newer run saw the current library).
    """
    notebook, run_dir = Path(notebook).resolve(), Path(run_dir)
    executed_copy = run_dir / notebook.name
    if not executed_copy.is_file():
        raise ValueError(f"{run_dir} holds no executed {notebook.name}: not a run of that notebook")
    failed = [o.get("ename") for c in json.loads(executed_copy.read_text())["cells"]
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if failed:
        raise ValueError(f"{executed_copy} has error outputs {failed}; the book shows only notebooks that run")
    if key != source_key(notebook, params):
        return None
    target = run_dir_of(notebook, key, cache)
    staging = cache / f".adopting-{target.name}-{os.getpid()}"  # not matched by "<stem>-*": never served half-copied
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(run_dir, staging)
    (staging / "timing.json").write_text(json.dumps({
        "seconds": round(seconds, 1), "key": key, "notebook": notebook.name, "adopted_from": str(run_dir),
        "executed_at": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
    for stale in cache.glob(f"{notebook.stem}-*"):
        shutil.rmtree(stale)
    os.replace(staging, target)
    return target


def select(prefixes: list[str]) -> list[Path]:
    """The course notebooks whose names start with one of ``prefixes`` (``["01", "02"]``); unknown ones raise."""
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    unmatched = [p for p in prefixes if not any(nb.name.startswith(p) for nb in every)]
    if unmatched:
        raise ValueError(f"no notebook in {NOTEBOOKS} starts with {unmatched}; there are {[nb.stem for nb in every]}")
    return [nb for nb in every if any(nb.name.startswith(p) for p in prefixes)]


def execute_all(notebooks: list[Path] | None = None, **kwargs) -> list[ExecutedNotebook]:
    notebooks = notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise ValueError(f"no notebooks found in {NOTEBOOKS}")
    return [execute(nb, **kwargs) for nb in notebooks]


if __name__ == "__main__":
    for done in execute_all():
        print(f"{done.stem}: {done.seconds:.0f} s{' (cached)' if done.from_cache else ''} -> {done.path}")
