"""The book draws a step-through figure (plotly frames and a slider) interactive, opening at its first frame."""
import pytest

from book.tools import page_outputs
from gigpo.inspect import inspect_table
from gigpo.inspect.figures import step_through_figure
from gigpo.run_files.rollout_table import RolloutTable


def test_a_figure_with_frames_keeps_them_and_does_not_play_on_load(tmp_path):
    rows = [{"group_id": 0, "traj_id": r, "step": t, "anchor": f"s{(r + t) // 2}", "observation": "", "action": "",
             "reward": float(t == 2)} for r in range(3) for t in range(3)]
    fig = step_through_figure(inspect_table(RolloutTable.from_rows(rows), ["gigpo"]))
    html = page_outputs.PageFigures("01", tmp_path, "f").figure_html(fig.to_plotly_json() | {
        "frames": [f.to_plotly_json() for f in fig.frames]})
    assert "Plotly.addFrames" in html and '"sliders"' in html
    assert "Plotly.animate" not in html  # auto-play would run every frame on load and open at the last step


FIGURE = "[id='01-figure-01']"  # the id page_outputs gives the first figure of notebook 01 (starts with a digit)


@pytest.mark.browser
def test_the_books_rendering_of_the_step_through_moves_offline(tmp_path):
    """The figure as the book writes it (page_outputs.figure_html) beside plotly.js, opened from file:// in Chromium
    with every request blocked: dragging the slider to step 1 changes the highlighted step group in the title."""
    from plotly.offline import get_plotlyjs

    from tests.support import browser as lab

    rows = [{"group_id": 0, "traj_id": r, "step": t, "anchor": a, "observation": "", "action": "", "reward": 0.0}
            for r, path in enumerate([["start", "hall"], ["start", "hall"], ["start", "yard"]])
            for t, a in enumerate(path)]
    fig = step_through_figure(inspect_table(RolloutTable.from_rows(rows), ["gigpo"]))
    figure = fig.to_plotly_json() | {"frames": [f.to_plotly_json() for f in fig.frames]}
    body = page_outputs.PageFigures("01", tmp_path, "f").figure_html(figure)
    page_path = tmp_path / "page.html"
    page_path.write_text(f"<html><head><script>{get_plotlyjs()}</script></head><body>{body}</body></html>")
    executable, sync_playwright = lab.ensure_chromium(), lab.ensure_playwright()
    blocked = []
    with lab.chromium_context(sync_playwright, executable, tmp_path) as context:
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
                      else (blocked.append(r.request.url), r.abort()))
        page = context.new_page()
        page.goto(page_path.as_uri(), wait_until="load")
        title = page.locator(f"{FIGURE} .gtitle")
        title.wait_for(state="attached")
        before = title.text_content()
        page.locator(f"{FIGURE} .slider-rail-rect").scroll_into_view_if_needed()
        grip = page.locator(f"{FIGURE} .slider-grip-rect").bounding_box()
        rail = page.locator(f"{FIGURE} .slider-rail-rect").bounding_box()
        page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
        page.mouse.down()
        page.mouse.move(rail["x"] + rail["width"] - 2, grip["y"] + grip["height"] / 2, steps=8)
        page.mouse.up()
        page.wait_for_function(f"document.querySelector({FIGURE!r} + ' .gtitle').textContent.startsWith('step 1')")
        after = title.text_content()
    assert before.startswith("step 0:") and "'start'" in before  # opens at the first frame
    assert "'hall'" in after and "2 of 3 rollouts here" in after
    assert blocked == []
