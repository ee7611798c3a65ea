"""The notebooks as a student uses them: JupyterLab in headless Chromium, widgets moved by keyboard and mouse.

Papermill/nbmake prove the notebooks run top to bottom; this proves the controls a person touches do something
(issue 8). For each notebook: open it in a real JupyterLab, Run > Run All Cells, move a control, and check that
what is displayed follows, cross-checking what the page shows in different places (slider readout, status line,
table, plotly figure) against each other and against the advantage formula (paper Eq. 8, A = A_E + w * A_S).

Run alone with `pytest -m browser`. Screenshots go to artifacts/browser/ (see docs/jupyterlab.md).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from tests.support import browser as lab

pytestmark = pytest.mark.browser

ANCHOR_NOTEBOOK = "01_anchor_grouping.ipynb"
ADVANTAGE_NOTEBOOK = "02_advantages.ipynb"


@pytest.fixture(scope="module")
def browser_session(tmp_path_factory, request):
    """One JupyterLab server (serving a copy of notebooks/) and one headless Chromium for the module."""
    for name in (ANCHOR_NOTEBOOK, ADVANTAGE_NOTEBOOK):
        assert (lab.NOTEBOOKS / name).exists(), f"notebooks/{name} is missing"
    chromium = lab.ensure_chromium()
    sync_playwright = lab.ensure_playwright()
    workdir = tmp_path_factory.mktemp("jupyterlab")
    lab.clear_artifacts()
    failures_before = request.session.testsfailed
    with lab.running_jupyterlab(lab.NOTEBOOKS, workdir) as server:
        try:
            with lab.chromium_context(sync_playwright, chromium, workdir) as context:
                yield server, context
        finally:
            lab.ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (lab.ARTIFACTS / "jupyterlab.log").write_text(server.log_tail(200_000))
            if request.session.testsfailed > failures_before:
                print(f"--- jupyter lab log (tail) ---\n{server.log_tail()}")


@pytest.fixture
def notebook_page(browser_session):
    """A new browser tab; JavaScript errors it logs are kept for failure messages."""
    server, context = browser_session
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text[:300]) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"[:300]))
    yield server, page, console_errors
    page.close()


def open_and_run(page, server, notebook: str, console_errors: list[str], tmp_path: Path, shot: str) -> None:
    lab.open_notebook(page, server, notebook)
    lab.run_all_cells(page)
    assert not lab.error_outputs(page), f"{notebook}: a cell raised:\n" + "\n".join(lab.error_outputs(page))
    assert not lab.widget_render_problems(page), (
        f"{notebook}: widgets did not render: {lab.widget_render_problems(page)}; console: {console_errors[-5:]}")
    lab.screenshot(page, shot, tmp_path)


# ---- 01: the step slider walks through the anchor (step) groups ------------------------------------------------

def step_view(panel) -> dict:
    """Everything the anchor-grouping explorer shows about its current step, read off the page."""
    header = lab.text_of(panel.locator(".gigpo-step-header"))
    match = re.search(r"step t = (\d+): (\d+) of (\d+) rollouts still running, in (\d+) distinct anchor states", header)
    assert match, f"step table header not as expected: {header!r}"
    t, running, total, distinct = map(int, match.groups())
    plot = panel.locator(".gigpo-rollout-graph .js-plotly-plot").first
    running_rows = panel.locator("table.gigpo-step-table tr").filter(has_text="here now")
    return {
        "slider": lab.slider_value(panel.locator(".gigpo-step-slider")),
        "status": lab.text_of(panel.locator(".gigpo-step-status")),
        "t": t, "running": running, "total": total, "distinct": distinct,
        "title": lab.text_of(plot.locator(".gtitle")),
        "svg_layers": plot.locator("svg.main-svg").count(),
        "outlined": sorted(lab.outlined_points(plot)),
        "marker_counts": [int(text) for text in lab.marker_texts(plot) if text.isdigit()],
        "group_chips": sorted(set(re.findall(r"group \d+", lab.text_of(running_rows)))),
    }


def assert_step_view_consistent(view: dict, t: int) -> None:
    """The slider, the status line, the table and the graph all describe the same step t."""
    assert view["slider"] == str(t)
    assert view["t"] == t, view
    assert f"step t = {t} " in view["status"] + " ", view["status"]
    assert f"{view['running']} rollouts act at this step" in view["status"], view["status"]
    assert view["title"].endswith(f"(step t = {t} highlighted)"), view["title"]
    assert view["svg_layers"] > 0, "the plotly figure was not drawn"
    # One outlined node per anchor state occupied at step t, each labelled with how many rollouts stand there.
    assert len(view["outlined"]) == view["distinct"], view
    assert sum(view["marker_counts"]) == view["running"], view
    assert len(view["group_chips"]) == view["distinct"], view


def walk_step_slider(page, panel, name: str, tmp_path: Path) -> dict:
    """Three presses of the right arrow on the focused step handle: the explorer must follow to step t + 3."""
    slider = panel.locator(".gigpo-step-slider")
    last_step = int(float(slider.locator(".noUi-handle").get_attribute("aria-valuemax")))
    start = int(lab.slider_value(slider))
    lab.scroll_to(panel)
    before = step_view(panel)
    assert_step_view_consistent(before, start)
    lab.screenshot(page, f"01_{name}_step_{start}", tmp_path)

    target = min(start + 3, last_step)
    assert target != start, f"{name}: the step slider has nowhere to go (max {last_step})"
    lab.press_slider(page, slider, "ArrowRight", target - start)
    lab.wait_for(page, lambda: step_view(panel)["t"], lambda t: t == target, 20, f"{name}: step table after ArrowRight")
    after = step_view(panel)
    assert_step_view_consistent(after, target)
    assert after["outlined"] != before["outlined"], f"{name}: the highlighted step groups did not move with the step"
    lab.scroll_to(panel)
    lab.screenshot(page, f"01_{name}_step_{target}", tmp_path)
    return after


def test_step_slider_moves_the_highlighted_step_groups(notebook_page, tmp_path):
    server, page, console_errors = notebook_page
    with lab.screenshot_on_failure(page, "01_anchor_grouping", tmp_path):
        open_and_run(page, server, ANCHOR_NOTEBOOK, console_errors, tmp_path, "01_anchor_grouping_run_all")
        household = lab.widget_box(page, "gigpo-rollout-explorer-household")
        sokoban = lab.widget_box(page, "gigpo-rollout-explorer-sokoban")
        sokoban_before = step_view(sokoban)
        walk_step_slider(page, household, "household", tmp_path)
        assert step_view(sokoban) == sokoban_before, "moving one explorer's slider changed the other explorer"

        # Drag the household handle with the mouse to the left end: step 0, where every rollout of the group
        # stands in the task's start state (same task seed), so exactly one node is outlined, holding all of them.
        lab.drag_slider_to(page, household.locator(".gigpo-step-slider"), 0.0)
        lab.wait_for(page, lambda: step_view(household)["t"], lambda t: t == 0, 20, "step table after dragging to 0")
        start_view = step_view(household)
        assert_step_view_consistent(start_view, 0)
        assert start_view["distinct"] == 1 and start_view["marker_counts"] == [start_view["total"]], start_view
        lab.scroll_to(household)
        lab.screenshot(page, "01_household_dragged_to_step_0", tmp_path)

        walk_step_slider(page, sokoban, "sokoban", tmp_path)
    assert not [e for e in console_errors if "widget" in e.lower()], console_errors


# ---- 02: gamma and step_weight drive the advantage heatmaps ----------------------------------------------------

def advantage_view(panel) -> dict:
    """The explorer's settings (slider readouts, figure title) and the A_E, A_S, A grids its heatmaps draw."""
    plot = panel.locator(".gigpo-advantage-heatmaps .js-plotly-plot").first
    grids = lab.heatmap_grids(plot)
    assert len(grids) == 3, f"expected the A_E, A_S, A heatmaps, found {len(grids)} heatmap traces"
    title = lab.text_of(plot.locator(".gtitle"))
    return {
        "gamma": float(lab.slider_value(panel.locator(".gigpo-gamma"))),
        "step_weight": float(lab.slider_value(panel.locator(".gigpo-step-weight"))),
        "title": title,
        "title_gamma": float(re.search(r"gamma=([\d.]+)", title).group(1)),
        "title_step_weight": float(re.search(r"step_weight=([\d.]+)", title).group(1)),
        "status": lab.text_of(panel.locator(".gigpo-advantage-status")),
        "comparison_title": lab.text_of(panel.locator(".gigpo-grpo-comparison .js-plotly-plot .gtitle")),
        "episode": grids[0], "step": grids[1], "total": grids[2],
    }


def notebook_parameters(path: Path) -> dict:
    """The values set by the notebook's papermill "parameters" cell (plain assignments, run here as Python)."""
    cells = json.loads(path.read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    values: dict = {}
    exec(source, {}, values)
    return values


def max_abs_difference(a, b) -> float:
    """Largest |a - b| over two grids of the same shape; blank (None) cells must match."""
    assert len(a) == len(b) and all(len(ra) == len(rb) for ra, rb in zip(a, b)), "grids differ in shape"
    worst = 0.0
    for ra, rb in zip(a, b):
        for x, y in zip(ra, rb):
            assert (x is None) == (y is None), "blank cells (ended trajectories) moved"
            if x is not None:
                worst = max(worst, abs(x - y))
    return worst


def assert_advantage_view_consistent(view: dict, gamma: float, step_weight: float) -> None:
    """Readouts, titles and status agree on the settings, and the A panel is A_E + w * A_S (Eq. 8) cell by cell."""
    assert math.isclose(view["gamma"], gamma) and math.isclose(view["step_weight"], step_weight), view
    assert math.isclose(view["title_gamma"], gamma) and math.isclose(view["title_step_weight"], step_weight), view
    assert f"gamma = {view['title_gamma']}, step_weight = {view['title_step_weight']}" in view["status"], view
    assert f"gamma={view['title_gamma']}, step_weight={view['title_step_weight']}" in view["comparison_title"]
    combined = [[None if e is None else e + step_weight * s for e, s in zip(re, rs)]
                for re, rs in zip(view["episode"], view["step"])]
    # float32 advantages: 1e-5 is a few ulps at |A| ~ 3
    assert max_abs_difference(view["total"], combined) < 1e-5


def test_gamma_and_step_weight_update_the_advantage_heatmaps(notebook_page, tmp_path):
    server, page, console_errors = notebook_page
    with lab.screenshot_on_failure(page, "02_advantages", tmp_path):
        open_and_run(page, server, ADVANTAGE_NOTEBOOK, console_errors, tmp_path, "02_advantages_run_all")
        panel = lab.widget_box(page, "gigpo-advantage-explorer-batch")
        step_weight_slider, gamma_slider = panel.locator(".gigpo-step-weight"), panel.locator(".gigpo-gamma")
        lab.scroll_to(panel)
        before = advantage_view(panel)
        # The explorer starts at the notebook's papermill parameters.
        parameters = notebook_parameters(lab.NOTEBOOKS / ADVANTAGE_NOTEBOOK)
        assert_advantage_view_consistent(before, parameters["gamma"], parameters["step_weight"])
        assert any(v not in (None, 0.0) for row in before["step"] for v in row), "A_S is zero everywhere"

        # step_weight: five presses of an arrow key (slider step 0.1) move it by 0.5; only A = A_E + w A_S moves.
        key, change = ("ArrowLeft", -0.5) if before["step_weight"] >= 0.5 else ("ArrowRight", 0.5)
        new_weight = round(before["step_weight"] + change, 1)
        lab.press_slider(page, step_weight_slider, key, 5)
        lab.wait_for(page, lambda: advantage_view(panel)["title_step_weight"],
                     lambda w: math.isclose(w, new_weight), 30, "heatmap title after changing step_weight")
        weighted = advantage_view(panel)
        assert_advantage_view_consistent(weighted, before["gamma"], new_weight)
        assert max_abs_difference(weighted["episode"], before["episode"]) == 0.0
        assert max_abs_difference(weighted["step"], before["step"]) == 0.0
        assert max_abs_difference(weighted["total"], before["total"]) > 1e-3, "A did not change with step_weight"
        lab.scroll_to(panel)
        lab.screenshot(page, f"02_advantages_step_weight_{new_weight}", tmp_path)

        # gamma: typed into the readout. Discounted returns R_t change, so A_S changes; A_E (episode level) does not.
        new_gamma = 0.5 if not math.isclose(before["gamma"], 0.5) else 0.8
        lab.set_readout(page, gamma_slider, new_gamma)
        lab.wait_for(page, lambda: advantage_view(panel)["title_gamma"],
                     lambda g: math.isclose(g, new_gamma), 30, "heatmap title after changing gamma")
        discounted = advantage_view(panel)
        assert_advantage_view_consistent(discounted, new_gamma, new_weight)
        assert max_abs_difference(discounted["episode"], before["episode"]) == 0.0
        assert max_abs_difference(discounted["step"], weighted["step"]) > 1e-3, "A_S did not change with gamma"
        lab.scroll_to(panel)
        lab.screenshot(page, f"02_advantages_gamma_{new_gamma}", tmp_path)
    assert not [e for e in console_errors if "widget" in e.lower()], console_errors
