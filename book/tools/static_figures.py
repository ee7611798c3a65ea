"""PNG copies of plotly figures, drawn by plotly.js itself in headless Chromium: every figure type, no network.

``gigpo.notebook.plots.static`` redraws line figures with matplotlib and refuses heatmaps and bars; kaleido needs
its own Chrome download. The book already needs Chromium for its browser test, so the same Debian Chromium and
Playwright driver (``tests.support.browser``) open one blank page holding the installed package's
``plotly.min.js`` and export every figure with ``Plotly.toImage``: the PNG is what the interactive figure draws.
"""
from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path

import plotly

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
DEFAULT_SIZE = (900, 450)


def chromium_executable() -> Path:
    """Debian's Chromium (apt-get installs it when missing and we are root), or a RuntimeError naming the fix."""
    from tests.support import browser as browser_support

    try:
        return browser_support.ensure_chromium()
    except BaseException as exc:  # pytest's skip/fail outcome outside pytest: keep its reason, drop the type
        raise RuntimeError(f"the book's static figures need Chromium: {exc}") from None


def figure_size(figure: dict) -> tuple[int, int]:
    layout = figure.get("layout", {})
    return int(layout.get("width") or DEFAULT_SIZE[0]), int(layout.get("height") or DEFAULT_SIZE[1])


def render_pngs(figures: dict[Path, dict]) -> list[Path]:
    """Write each figure (plotly JSON: data, layout) to its PNG path; one browser for all of them."""
    if not figures:
        return []
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM_ARGS

    executable = chromium_executable()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        page_file = Path(tmp) / "render.html"
        page_file.write_text(f"<html><head><script src='{PLOTLY_JS.as_uri()}'></script></head>"
                             "<body><div id='fig'></div></body></html>")
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else route.abort())
            page.goto(page_file.as_uri())
            for path, figure in figures.items():
                width, height = figure_size(figure)
                url = page.evaluate(
                    """([fig, w, h]) => Plotly.toImage(
                           {data: fig.data || [], layout: fig.layout || {}},
                           {format: 'png', width: w, height: h})""",
                    [json.loads(json.dumps(figure)), width, height])
                prefix = "data:image/png;base64,"
                if not url.startswith(prefix):
                    raise RuntimeError(f"plotly.js did not return a PNG for {path.name}: {url[:80]!r}")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(base64.b64decode(url[len(prefix):]))
        finally:
            browser.close()
    return list(figures)
