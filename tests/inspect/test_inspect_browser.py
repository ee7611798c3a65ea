"""The page of ``gigpo inspect`` in headless Chromium, opened from ``file://`` with every network request blocked:
it draws, and moving the step slider changes the highlighted step group."""
from __future__ import annotations

import json

import pytest

from gigpo.inspect.cli import inspect_rollouts
from tests.support import browser as lab

pytestmark = pytest.mark.browser

# group A: at step 0 all three rollouts stand in s0; at step 1 two stand in "far room" (s2), one in s1
ROWS = [("A", "a1", 0, "start", 0), ("A", "a2", 0, "start", 0), ("A", "a3", 0, "start", 0),
        ("A", "a1", 1, "near room", 1), ("A", "a2", 1, "far room", 0), ("A", "a3", 1, "far room", 0),
        ("A", "a2", 2, "near room", 1), ("B", "b1", 0, "start", 0), ("B", "b2", 0, "start", 1)]


def title(page) -> str:
    return page.locator("#step-through .gtitle").text_content()


def test_page_draws_offline_and_the_slider_moves_the_highlighted_step_group(tmp_path):
    executable = lab.ensure_chromium()
    sync_playwright = lab.ensure_playwright()
    table = tmp_path / "rollouts.jsonl"
    table.write_text("".join(json.dumps(dict(zip(("group_id", "traj_id", "step", "anchor", "reward"), r),
                                             observation=r[3], action="act")) + "\n" for r in ROWS))
    _, page_path = inspect_rollouts(table, tmp_path / "out", progress=False)
    blocked, errors = [], []
    with lab.chromium_context(sync_playwright, executable, tmp_path) as context:
        def route(r):
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        for div in ("step-group-sizes", "step-through", "heatmaps"):
            page.locator(f"#{div} .main-svg").first.wait_for(state="visible")
        before = title(page)
        assert before.startswith("step 0:") and "'start'" in before and "3 of 3 rollouts here" in before
        # move the slider as a person would: press on its grip and drag it to the step-1 tick
        page.locator("#step-through .slider-rail-rect").scroll_into_view_if_needed()
        grip = page.locator("#step-through .slider-grip-rect").bounding_box()
        rail = page.locator("#step-through .slider-rail-rect").bounding_box()
        page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
        page.mouse.down()
        page.mouse.move(rail["x"] + rail["width"] / 2, grip["y"] + grip["height"] / 2, steps=8)
        page.mouse.up()
        page.wait_for_function("document.querySelector('#step-through .gtitle').textContent.startsWith('step 1:')")
        after = title(page)
        ring = page.evaluate("""() => {const gd = document.getElementById('step-through');
            const t = gd.data.find(d => d.name === 'highlighted step group'); return [t.x[0], t.y[0]];}""")
        page.screenshot(path=str(tmp_path / "inspect.png"), full_page=True)
    assert "'far room'" in after and "2 of 3 rollouts here" in after, after
    assert ring[0] == 1  # the ring moved to the column of step 1, where "far room" is first seen
    assert errors == [] and blocked == []
