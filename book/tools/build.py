"""Build the book twice from one source: ``book/_build/student/html`` and ``book/_build/instructor/html``.

    python -m book.tools.build [--variant student|instructor|both] [--reexecute] [--notebooks 01 02 ...]

Steps: execute the notebooks (cached on their source, :mod:`book.tools.executed`); turn their outputs into static
pages with the figures' PNGs (:mod:`book.tools.page_outputs`, :mod:`book.tools.static_figures`, PNGs cached inside
the runs); stage a Sphinx source folder per variant in ``book/_build/src/<variant>/`` (README, docs/, results/,
the notebooks with their launch block, one exercise page per course unit, plotly.js and MathJax in ``_static/``);
then ``jupyter-book config sphinx`` and ``sphinx-build``. Files are rewritten only when their content changed, so
Sphinx's own environment cache keeps a second build short.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from book.tools import executed, exercises, launch, page_outputs, static_figures

ROOT = executed.ROOT
BOOK = ROOT / "book"
BUILD = BOOK / "_build"
# A figure's PNG is kept inside the run it was drawn from, so a new run of the notebook (executed or adopted from
# the tests, book.tools.executed) never shows the PNGs of an older one.
FIGURE_DIR_IN_RUN = "book_figures"
COURSE = ROOT / "course"
VARIANTS = ("student", "instructor")
DOWNLOADS_URL = "../_static/downloads"   # as seen from a page in notebooks/
FIGURES_URL = "../_static/figures"
# Staged under another name than _static: Jupyter Book adds every .js/.css of a book's _static/ to every page, which
# would be MathJax's 800 files. Sphinx still serves this folder as _static/ (html_static_path in _config.yml).
STATIC_SOURCE = "_book_static"


def write_if_changed(path: Path, content: bytes | str) -> None:
    data = content.encode() if isinstance(content, str) else content
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class Staging:
    """A Sphinx source folder rewritten in place: a file is written only when its content changed (so Sphinx's
    cache rebuilds only those pages), and whatever this staging did not write is removed afterwards (a course unit
    or a doc that is gone must not stay in the book)."""

    KEEP = {"conf.py"}  # written by `jupyter-book config sphinx` after staging

    def __init__(self, root: Path):
        self.root, self.written = root, set()

    def write(self, path: Path, content: bytes | str) -> None:
        write_if_changed(path, content)
        self.written.add(path)

    def copy_tree(self, source: Path, target: Path) -> None:
        for file in source.rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                self.write(target / file.relative_to(source), file.read_bytes())

    def remove_unwritten(self) -> list[Path]:
        stale = [f for f in self.root.rglob("*") if f.is_file() and f not in self.written
                 and f.relative_to(self.root).as_posix() not in self.KEEP]
        for file in stale:
            file.unlink()
        return stale


def course_units() -> list[Path]:
    """The course's otter master notebooks: ``course/*.py`` that hold a ``# BEGIN QUESTION`` cell."""
    return sorted(p for p in COURSE.glob("*.py") if "BEGIN QUESTION" in p.read_text(errors="replace"))


def static_pages(runs: list[executed.ExecutedNotebook], config: dict, log=print) -> dict[str, tuple[dict, list]]:
    """Per notebook: its static page (nbformat JSON with the launch block first) and its PNG paths."""
    pages, to_draw = {}, {}
    for run in runs:
        figures = page_outputs.PageFigures(run.stem, run.path.parent / FIGURE_DIR_IN_RUN, FIGURES_URL)
        nb = page_outputs.static_notebook(json.loads(run.path.read_text()), figures)
        block = launch.launch_block(run.path.name, repository_url=config["repository"]["url"],
                                    branch=config["repository"].get("branch", "main"), seconds=run.seconds,
                                    downloads_url=DOWNLOADS_URL)
        first_is_title = nb["cells"] and nb["cells"][0]["cell_type"] == "markdown"
        nb["cells"].insert(1 if first_is_title else 0,
                           {"cell_type": "markdown", "id": "gigpo-launch", "metadata": {}, "source": block})
        pages[run.stem] = (nb, list(figures.pngs))
        to_draw.update({p: f for p, f in figures.pngs.items() if not p.exists()})
        log(f"{run.stem}: {len(figures.pngs)} figures, {figures.widgets} widget snapshots")
    if to_draw:
        start = time.perf_counter()
        static_figures.render_pngs(to_draw)
        log(f"drew {len(to_draw)} PNGs with plotly.js in {time.perf_counter() - start:.0f} s")
    return pages


def toc_with_units(units: list[Path], notebooks: set[str] | None = None) -> str:
    """book/_toc.yml with one exercise page per course unit; with ``notebooks`` (stems), only those notebooks."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    if notebooks is not None:
        for part in toc["parts"]:
            part["chapters"] = [c for c in part["chapters"] if not c.get("file", "").startswith("notebooks/")
                                or c["file"].split("/", 1)[1] in notebooks]
    part = next((p for p in toc["parts"] if p.get("caption") == "Exercises"), None)
    if part is None:
        raise ValueError("book/_toc.yml has no part with caption 'Exercises'")
    if units:
        part["chapters"] = [{"file": f"exercises/{u.stem}"} for u in units]
    else:
        toc["parts"].remove(part)
    return yaml.safe_dump(toc, sort_keys=False)


def stage(variant: str, pages: dict, units: list[Path], partial: bool = False) -> tuple[Path, list[Path]]:
    """The variant's Sphinx source folder, brought up to date; and the files removed from it (gone sources)."""
    src = BUILD / "src" / variant
    import jupyter_server_mathjax

    staging = Staging(src)
    staging.write(src / "_config.yml", (BOOK / "_config.yml").read_text().replace(
        'title: "', f'title: "{"" if variant == "student" else "[instructor] "}', 1))
    staging.write(src / "_toc.yml", toc_with_units(units, set(pages) if partial else None))
    staging.write(src / "README.md", (ROOT / "README.md").read_bytes())
    staging.copy_tree(ROOT / "docs", src / "docs")
    staging.write(src / "results" / "README.md", (ROOT / "results" / "README.md").read_bytes())
    staging.copy_tree(ROOT / "results" / "figures", src / "results" / "figures")
    static = src / STATIC_SOURCE
    staging.write(static / "plotly.min.js", static_figures.PLOTLY_JS.read_bytes())
    staging.copy_tree(Path(jupyter_server_mathjax.__file__).parent / "static", static / "mathjax")
    staging.write(static / "gigpo-book.css", (BOOK / "gigpo-book.css").read_bytes())
    staging.write(static / "downloads" / "environment.yml", (ROOT / "environment.yml").read_bytes())
    for stem, (nb, pngs) in pages.items():
        staging.write(src / "notebooks" / f"{stem}.ipynb", json.dumps(nb, indent=1))
        staging.write(static / "downloads" / f"{stem}.ipynb", (executed.NOTEBOOKS / f"{stem}.ipynb").read_bytes())
        for png in pngs:
            staging.write(static / "figures" / png.name, png.read_bytes())
    for unit in units:
        staging.write(src / "exercises" / f"{unit.stem}.md",
                      exercises.unit_page(unit, solutions=variant == "instructor"))
    return src, staging.remove_unwritten()


def sphinx_build(src: Path, variant: str, removed: list[Path] = ()) -> Path:
    """Sphinx's html build of ``src`` into ``book/_build/<variant>/html``. Sphinx never deletes the page of a source
    that is gone, so when staging removed files the variant is built afresh (a few tens of seconds)."""
    out = BUILD / variant / "html"
    if removed:
        for folder in (out, BUILD / variant / "doctrees"):
            shutil.rmtree(folder, ignore_errors=True)
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "jupyter-book"), "config", "sphinx", str(src)], check=True,
                   stdout=subprocess.DEVNULL)
    # Jupyter Book 1.0.4 always loads sphinx-thebe, which writes its config script twice into every page (a
    # JavaScript error: "THEBE_JS_URL has already been declared") and would run code on a Binder over the network.
    conf = src / "conf.py"
    conf.write_text(conf.read_text() + '\nextensions = [e for e in extensions if e != "sphinx_thebe"]\n')
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", str(src), str(out),
                    "-d", str(BUILD / variant / "doctrees")], check=True)
    return out


def page_count(html_dir: Path) -> int:
    skip = {"genindex.html", "search.html"}
    return sum(1 for p in html_dir.rglob("*.html") if p.name not in skip and "_static" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book.tools.build", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=(*VARIANTS, "both"), default="both")
    parser.add_argument("--reexecute", action="store_true", help="run every notebook again, ignoring the cache")
    parser.add_argument("--notebooks", nargs="+", metavar="PREFIX",
                        help="a partial book with only these notebooks (by name prefix, e.g. 01 02): a quick look")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    runs = executed.execute_all(executed.select(args.notebooks) if args.notebooks else None,
                                reexecute=args.reexecute)
    pages = static_pages(runs, config)
    units = course_units()
    print(f"course units: {[u.name for u in units] or 'none in course/'}")
    for variant in (VARIANTS if args.variant == "both" else (args.variant,)):
        t0 = time.perf_counter()
        src, removed = stage(variant, pages, units, partial=bool(args.notebooks))
        if removed:
            print(f"{variant}: {len(removed)} staged files whose source is gone, e.g. "
                  f"{removed[0].relative_to(src)}: built afresh")
        out = sphinx_build(src, variant, removed)
        print(f"{variant} book: {page_count(out)} pages in {out.relative_to(ROOT)} ({time.perf_counter() - t0:.0f} s)")
    print(f"book built in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
