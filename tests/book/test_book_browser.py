"""The built book in headless Chromium, served from localhost with every other address blocked (issue 25).

Runs only where ``GIGPO_BOOK_BUILD`` names a built book (``make test-book`` sets it to ``book/_build`` after ``make
book``); the main test run skips this module, since building the book executes every notebook (minutes). Checks
every notebook page (no error output, every plotly figure drawn as SVG, every image and figure PNG loads, the
launch block), the search page, that MathJax typeset every formula, that the student book holds no solution text
and the instructor book does, and that every request stayed on the site and was answered (failures are listed by
URL). Screenshots of three pages go to ``artifacts/book/`` (paths printed).
"""
from __future__ import annotations

import contextlib
import functools
import html
import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import browser as lab

# what a kernel or papermill logs while a notebook runs another one: never on a page a student reads
TOOL_NOISE = ["Kernel is running over TCP without encryption", "Unable to parse line", "Passed unknown parameter",
              "does not contain a cell with tag 'parameters'"]

BOOK_BUILD_VARIABLE = "GIGPO_BOOK_BUILD"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.environ.get(BOOK_BUILD_VARIABLE),
                                 reason=f"the built book is tested by `make test-book` ({BOOK_BUILD_VARIABLE} unset)")]

BOOK_BUILD = lab.ROOT / os.environ.get(BOOK_BUILD_VARIABLE, "book/_build")
SCREENSHOTS = lab.ROOT / "artifacts" / "book"
NOTEBOOK_PAGES = ["01_anchor_grouping", "02_advantages", "03_training", "04_gigpo_vs_grpo", "05_credit_lab"]


def site(variant: str) -> Path:
    return BOOK_BUILD / variant / "html"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports what matters; the access log is noise
        pass


@contextlib.contextmanager
def serving(directory: Path):
    """The built site over HTTP on a free loopback port (search needs http://, not file://)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """Both sites served, one Chromium whose only reachable hosts are those servers; off-site requests and
    requests that failed or were answered with an error status recorded by URL."""
    missing = [str(site(v)) for v in ("student", "instructor") if not (site(v) / "index.html").exists()]
    assert not missing, f"no built book in {missing}: run `make book` first (make test-book does)"
    chromium = lab.ensure_chromium()
    sync_playwright = lab.ensure_playwright()
    workdir = tmp_path_factory.mktemp("book")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []
    failed: list[str] = []
    with serving(site("student")) as student, serving(site("instructor")) as instructor, \
            lab.chromium_context(sync_playwright, chromium, workdir) as context:
        allowed = (student + "/", instructor + "/")

        def only_the_site(route):
            if route.request.url.startswith(allowed):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_site)
        context.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        # Not failures: MathJax 2 tests whether a web font has loaded against a blank font at about:blank, which
        # Chromium refuses (CORS) every time; ERR_ABORTED is a load cut short because the test left the page (a
        # missing file is a 404 answer, caught above).
        context.on("requestfailed", lambda r: r.url != "about:blank" and r.url not in blocked
                   and r.failure != "net::ERR_ABORTED" and failed.append(f"{r.failure} {r.url}"))
        yield {"student": student, "instructor": instructor, "context": context, "blocked": blocked}
    assert not blocked, f"the book asked for addresses off the site: {sorted(set(blocked))[:10]}"
    assert not failed, f"requests of the book that failed: {sorted(set(failed))[:10]}"


@pytest.fixture
def page(book):
    page = book["context"].new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)[:300]))
    yield page, errors
    page.close()


def open_page(page, url: str) -> None:
    """Go to ``url`` and wait until the page and its images have loaded (each check waits for its own element)."""
    page.goto(url, wait_until="load", timeout=90_000)
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60_000)


def broken_images(page) -> list[str]:
    """<img> elements that did not load or decode (0 natural width)."""
    return page.locator("img").evaluate_all(
        "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src)")


def undecodable_pngs(page, urls: list[str]) -> list[str]:
    """The figure PNG links that the browser cannot load and decode as images."""
    return page.evaluate("""urls => Promise.all(urls.map(u => new Promise(done => {
        const img = new Image(); img.onload = () => done(img.naturalWidth > 0 ? null : u);
        img.onerror = () => done(u); img.src = u; }))).then(r => r.filter(Boolean))""", urls)


@pytest.mark.parametrize("stem", NOTEBOOK_PAGES)
def test_notebook_page_is_executed_drawn_and_launchable(book, page, stem):
    page, js_errors = page
    url = f"{book['student']}/notebooks/{stem}.html"
    open_page(page, url)
    assert page.locator("div.cell_output").count() > 0, f"{stem}: no outputs: the page was not executed"
    tracebacks = page.locator("div.cell_output .output.traceback, div.cell_output .output.error")
    assert tracebacks.count() == 0, f"{stem}: error output:\n{tracebacks.first.inner_text()[:1500]}"
    assert "Traceback (most recent call last)" not in page.inner_text("main")
    for noise in TOOL_NOISE:
        assert noise not in page.inner_text("main"), f"{stem}: tool noise on the page: {noise!r}"

    figures = page.locator(".gigpo-figure .plotly-graph-div")
    assert figures.count() > 0, f"{stem}: no plotly figure on the page"
    page.wait_for_function("""() => [...document.querySelectorAll('.gigpo-figure .plotly-graph-div')]
                                    .every(d => d.querySelector('svg.main-svg'))""", timeout=60_000)
    pngs = [a.get_attribute("href") for a in page.locator(".gigpo-figure-png a").all()]
    assert len(pngs) == figures.count(), f"{stem}: {figures.count()} figures but {len(pngs)} PNG copies"
    assert not undecodable_pngs(page, [f"{book['student']}/notebooks/{h}" for h in pngs])
    assert not broken_images(page), f"{stem}: images that did not load: {broken_images(page)}"

    launch = page.locator(".gigpo-launch")
    assert launch.count() == 1, f"{stem}: no launch block"
    colab = launch.locator("a.gigpo-colab").get_attribute("href")
    assert colab.startswith("https://colab.research.google.com/github/") and colab.endswith(
        f"/notebooks/{stem}.ipynb"), colab
    assert "Run time:" in launch.inner_text()
    for link in launch.locator("a[download]").all():
        response = page.request.get(f"{book['student']}/notebooks/{link.get_attribute('href')}")
        assert response.ok, f"{stem}: download {link.get_attribute('href')} answered {response.status}"
        if link.get_attribute("href").endswith(".ipynb"):
            assert json.loads(response.text())["cells"], f"{stem}: the downloaded notebook has no cells"
    for snapshot in page.locator(".gigpo-widget-snapshot").all():
        assert "static snapshot" in snapshot.locator(".gigpo-widget-note").inner_text()
    assert not js_errors, f"{stem}: JavaScript errors: {js_errors[:5]}"
    if stem == "02_advantages":
        assert mathjax_done(page) >= 40, "notebook 02 writes out the paper's equations"
        page.locator("main div.math").first.scroll_into_view_if_needed()
        shot(page, "book-02-advantages-equations")
        page.locator(".gigpo-figure").first.scroll_into_view_if_needed()
        shot(page, "book-02-advantages-figure")


@pytest.mark.parametrize("stem", ["01_anchor_grouping", "02_advantages"])
def test_the_step_through_moves_on_the_static_page(book, page, stem):
    """The kernel-free step-through (a plotly slider over steps) works on the built page: dragging its slider to
    the end changes the step and the highlighted step group named in the figure's title."""
    page, js_errors = page
    open_page(page, f"{book['student']}/notebooks/{stem}.html")
    figure = page.locator(".gigpo-figure .plotly-graph-div", has=page.locator(".slider-rail-rect")).first
    figure.wait_for(state="attached", timeout=60_000)
    figure.locator(".slider-rail-rect").scroll_into_view_if_needed()
    title = figure.locator(".gtitle")
    before = title.text_content()
    grip = figure.locator(".slider-grip-rect").bounding_box()
    rail = figure.locator(".slider-rail-rect").bounding_box()
    y = grip["y"] + grip["height"] / 2
    page.mouse.move(grip["x"] + grip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(rail["x"] + rail["width"] - 2, y, steps=12)
    page.mouse.up()
    page.wait_for_function("([el, old]) => el.querySelector('.gtitle').textContent !== old",
                           arg=[figure.element_handle(), before], timeout=30_000)
    after = title.text_content()
    assert before.startswith("step 0"), before
    assert after.startswith("step ") and not after.startswith("step 0"), after
    assert not js_errors, f"{stem}: JavaScript errors: {js_errors[:5]}"


def test_home_page_and_search_find_anchor_state(book, page):
    page, _ = page
    open_page(page, f"{book['student']}/index.html")
    page.wait_for_url("**/README.html")  # index.html forwards to the root page
    open_page(page, page.url)
    assert page.locator("nav.bd-links a").count() >= 8, "the sidebar lists the book's pages"
    shot(page, "book-home")
    open_page(page, f"{book['student']}/search.html?q=anchor+state")
    page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li').length > 0",
                           timeout=60_000)
    hits = page.locator("#search-results ul.search li a").all_inner_texts()
    assert len(hits) >= 3, hits
    assert any("Anchor" in h or "anchor" in h for h in hits), hits


def pages_with_math(variant: str) -> list[str]:
    """The site's pages (paths under the site) whose HTML holds a Sphinx formula, read from the built files."""
    return sorted(str(f.relative_to(site(variant))) for f in site(variant).rglob("*.html")
                  if "_static" not in f.parts and 'class="math notranslate' in f.read_text(errors="replace"))


@pytest.mark.parametrize("variant", ["student", "instructor"])
def test_mathjax_typesets_every_formula_of_the_book(book, page, variant):
    page, _ = page
    paths = pages_with_math(variant)
    assert "notebooks/02_advantages.html" in paths, paths  # docs pages hold no formulas today; any that do are here
    for path in paths:
        open_page(page, f"{book[variant]}/{path}")
        assert mathjax_done(page) > 0, path


def readable(text: str) -> str:
    """Text as a reader sees it: markdown's emphasis and code marks dropped, whitespace collapsed."""
    import re

    text = text.translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\""))  # Sphinx's smart quotes
    return " ".join(re.sub(r"[*`_]", "", text).split())


def exercise_text(variant: str, stem: str) -> str:
    """One unit's exercise page of a built site and its page source, as one HTML-unescaped string (code lines
    included: Pygments splits them into spans, so tags are dropped before comparing). Per unit: a generic line of one
    unit's solution (``return out``) may stand in another unit's given code (unit 06 shows buggy functions)."""
    import re

    files = [site(variant) / "exercises" / f"{stem}.html", *site(variant).glob(f"_sources/exercises/{stem}.*")]
    text = "\n".join(re.sub(r"<[^>]+>", "", p.read_text(errors="replace")) for p in files)
    return readable(html.unescape(text))


def test_student_book_has_no_solutions_and_instructor_book_has_them(book, page):
    from book.tools.build import course_units
    from book.tools.exercises import solution_texts

    units = course_units()
    if not units:
        lab.unavailable("course/ has no otter master notebooks yet, so the book has no exercises to check")
    page, _ = page
    for unit in units:
        student_text, instructor_text = exercise_text("student", unit.stem), exercise_text("instructor", unit.stem)
        assert student_text and instructor_text, f"{unit.name}: no exercise page found for {unit.stem}"
        secrets = [readable(t) for t in solution_texts(unit)]
        assert secrets, f"{unit.name}: no solution text found to check"
        leaked = [s for s in secrets if s in student_text]
        assert not leaked, f"the student book contains solution text of {unit.name}: {leaked[:5]}"
        absent = [s for s in secrets if s not in instructor_text]
        assert not absent, f"the instructor book's pages lack solution text of {unit.name}: {absent[:5]}"
        open_page(page, f"{book['student']}/exercises/{unit.stem}.html")
        assert page.locator(".exercise").count() > 0 and page.locator(".solution").count() == 0
        mathjax_done(page)

        open_page(page, f"{book['instructor']}/exercises/{unit.stem}.html")
        solutions = page.locator(".solution")
        assert solutions.count() == page.locator(".exercise").count() > 0
        solutions.first.locator("summary, .toggle-button, button").first.click()
        text = " ".join(solutions.all_text_contents())
        # lines with math read differently once typeset; the page-source check above covers them
        missing = [s for s in secrets if "$" not in s and s not in readable(text)]
        assert not missing, f"the instructor book's solution blocks lack {unit.name}'s text: {missing[:5]}"
        if unit == units[0]:
            solutions.first.scroll_into_view_if_needed()
            shot(page, "book-instructor-solution")


# Sphinx writes each formula as span.math (inline) or div.math (display) holding \\(...\\) or \\[...\\]; MathJax 2
# moves the TeX into a script[type^="math/tex"] beside its rendering (.MathJax, in .MathJax_Display for display
# math; its fast preview is .MathJax_CHTML) and marks TeX it cannot read with .merror.
FORMULAS = "main .math.notranslate"


def mathjax_done(page) -> int:
    """Wait until MathJax 2 has typeset every formula of the page; the number of formulas. Fails naming the
    formulas left as TeX, those MathJax could not read, and "$" left around a formula (a misread $$...$$)."""
    if not page.locator(FORMULAS).count():
        return 0  # Sphinx loads MathJax only on pages with math
    try:
        page.wait_for_function(f"""() => window.MathJax && MathJax.Hub && [...document.querySelectorAll(
                                   '{FORMULAS}')].every(m => m.querySelector('script[type^="math/tex"]')
                                                          && m.querySelector('.MathJax, .MathJax_Display'))""",
                               timeout=120_000)
    except Exception as exc:
        left = page.locator(FORMULAS).evaluate_all(
            "ms => ms.filter(m => !m.querySelector('script[type^=\"math/tex\"]')).map(m => m.textContent)")
        raise AssertionError(f"{len(left)} formulas left as TeX (MathJax did not typeset them): {left[:3]}") from exc
    unreadable = page.locator(f"{FORMULAS} .merror").all_inner_texts()
    assert not unreadable, f"TeX that MathJax could not read: {unreadable[:3]}"
    dollars = page.locator(FORMULAS).evaluate_all(
        "ms => ms.filter(m => /\\$\\s*$/.test(m.previousSibling?.textContent || '')).map(m => m.textContent)")
    assert not dollars, f"formulas with a '$' left before them (display math read as inline): {dollars[:3]}"
    return page.locator(FORMULAS).count()


def shot(page, name: str) -> Path:
    mathjax_done(page)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path
