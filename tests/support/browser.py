"""What the JupyterLab browser test stands on: Chromium, a JupyterLab server, and a few page helpers.

The issue (8) asks for an end-to-end check of what a student touches: open a notebook in JupyterLab, run it, move a
widget, see the output change. Papermill/nbmake only prove the cells run. So this module

* makes sure Debian's Chromium is there (installs it with apt-get when missing and we are root, as a fresh CI
  machine is), and fails loudly in CI (env CI=true) rather than skipping when it cannot;
* starts `jupyter lab` from this venv on a free loopback port with a random token, in a throwaway root dir holding
  copies of the notebooks (outputs never land in the repo), with fresh settings/workspace dirs so a developer's own
  JupyterLab layout cannot leak in, and always kills its process group at the end;
* launches Chromium through Python `playwright` (its bundled node driver only; never `playwright install`) with the
  flags this sandbox needs and a fresh user-data-dir;
* opens a notebook, runs all cells through the menu a student would use, waits for the kernel to go idle.

JupyterLab itself is driven only through its DOM (menus, keys, mouse), as a person would. The one look behind the
picture is plotly's graph div, whose decoded trace data is what it drew: heatmap colours cannot be read back to
numbers otherwise.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository root
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")

# --headless etc. are what the issue lists for this sandbox (root in a container: no sandbox, no GPU, no network
# but package registries); --disable-quic keeps Chromium off UDP entirely; --disable-dev-shm-usage because Docker's
# default 64 MB /dev/shm crashes Chromium's renderer on pages as large as a notebook full of plots.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

SERVER_START_TIMEOUT_S = 90
KERNEL_RUN_TIMEOUT_S = 150


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip on a developer machine, fail in CI: a browser test that silently skips in CI proves nothing."""
    if in_ci():
        pytest.fail(f"browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def ensure_chromium() -> Path:
    """Path of Debian's chromium, installed with apt-get when missing and we are root (a fresh CI machine)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        unavailable(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium` (needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            unavailable(f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    if not CHROMIUM.exists():
        unavailable(f"apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM


def ensure_playwright():
    """The `playwright` module (dev extra). Its wheel carries the node driver; the browser is Debian's chromium."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            unavailable(f"python package `playwright` is missing and `pip install playwright` failed: "
                        f"{done.stderr.strip()[-800:]}")
    from playwright.sync_api import sync_playwright
    return sync_playwright


def free_loopback_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LabServer:
    url: str          # http://127.0.0.1:PORT
    token: str
    root_dir: Path    # what JupyterLab serves: copies of the notebooks
    log_path: Path

    def lab_url(self, notebook: str) -> str:
        # One workspace per notebook: otherwise JupyterLab reopens every notebook opened before in this server.
        workspace = Path(notebook).stem.replace("_", "-")
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def quiet_lab_settings(settings_dir: Path) -> None:
    """User settings that keep JupyterLab from popping a news/update toast over the notebook on first start."""
    notification = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # JupyterLab 4 skips layout of off-screen cells by default; a plot laid out while skipped can come out 0 px
    # wide in a screenshot. Rendering every cell makes the check depend on the notebook, not on the scroll position.
    tracker = settings_dir / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))


def lab_command(port: int, token: str, root_dir: Path, state_dir: Path) -> list[str]:
    """The same `jupyter lab` as `make lab` (loopback, no browser, --allow-root as root), plus test isolation."""
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [
        str(jupyter), "lab",
        "--ip", "127.0.0.1", f"--port={port}", "--no-browser",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.user_settings_dir={state_dir / 'settings'}",
        f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def wait_until_answering(process: subprocess.Popen, server: LabServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    status_url = f"{server.url}/api/status?token={server.token}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer within {timeout_s:.0f} s:\n{server.log_tail()}")


def stop_process_group(process: subprocess.Popen) -> None:
    """TERM the server's whole group (it spawned kernels), then KILL what is left."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def running_jupyterlab(notebook_dir: Path, workdir: Path) -> Iterator[LabServer]:
    """JupyterLab serving a copy of `notebook_dir` (outputs never land in the repo); it dies when the block ends."""
    root_dir, state_dir = workdir / "root", workdir / "lab-state"
    # The whole folder, not just the .ipynb files: a notebook may read a sibling file by relative path.
    shutil.copytree(notebook_dir, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    quiet_lab_settings(state_dir / "settings")
    port, token = free_loopback_port(), secrets.token_hex(16)
    server = LabServer(url=f"http://127.0.0.1:{port}", token=token, root_dir=root_dir,
                       log_path=workdir / "jupyterlab.log")
    env = {**os.environ,
           # Jupyter's per-user folders in the tmp dir: a developer's ~/.jupyter config or a "python3" kernelspec
           # in ~/.local/share/jupyter must not change which kernel runs; the venv's own dirs are still searched.
           "JUPYTER_CONFIG_DIR": str(state_dir / "config"),
           "JUPYTER_DATA_DIR": str(state_dir / "data"),
           "JUPYTER_RUNTIME_DIR": str(state_dir / "runtime"),
           "IPYTHONDIR": str(state_dir / "ipython"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT)}
    with open(server.log_path, "wb") as log:
        process = subprocess.Popen(lab_command(port, token, root_dir, state_dir), cwd=root_dir, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_answering(process, server, SERVER_START_TIMEOUT_S)
        yield server
    finally:
        stop_process_group(process)


@contextlib.contextmanager
def chromium_context(sync_playwright, executable: Path, workdir: Path, viewport=(1400, 1000)):
    """A fresh headless Chromium profile (a new --user-data-dir); the browser is closed when the block ends."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(workdir / "chromium-profile"), executable_path=str(executable), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


# ---- page helpers: what a student does ------------------------------------------------------------------------

def kernel_status(page) -> str:
    """The status bar's kernel item, e.g. "Python 3 (ipykernel) | Idle" ("No Kernel | Initializing" at first)."""
    texts = page.locator(".jp-StatusBar-Widget").all_inner_texts()
    return next((line for text in texts for line in text.splitlines() if " | " in line), "")


def code_cell_prompts(page) -> list[str]:
    """Execution prompts of the open notebook's code cells: "[ ]:" not run, "[*]:" queued/running, "[3]:" done."""
    prompts = page.locator(".jp-NotebookPanel:visible .jp-CodeCell .jp-InputPrompt")
    return [text.strip() for text in prompts.all_inner_texts()]


def wait_until(page, condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; kernel: {kernel_status(page)!r}, "
                         f"prompts: {code_cell_prompts(page)}")


def kernel_is_idle(page) -> bool:
    status = kernel_status(page)
    return status.endswith("| Idle") and not status.startswith("No Kernel")


def open_notebook(page, server: LabServer, notebook: str) -> None:
    """Open `notebook` in JupyterLab and wait until its kernel has started and is idle."""
    page.goto(server.lab_url(notebook), wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=60_000)
    # A kernel that never starts shows up here, before any cell runs.
    wait_until(page, lambda: kernel_is_idle(page), 60, "the kernel to start")


def run_all_cells(page) -> None:
    """Run > Run All Cells from the menu bar, then wait until every code cell has run and the kernel is idle."""
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Run$")).click()
    # Exact label: the menus also hold "Restart Kernel and Run All Cells…".
    page.locator(".lm-Menu:visible .lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$")).click()

    def all_cells_ran() -> bool:
        prompts = code_cell_prompts(page)
        return bool(prompts) and all(p.strip("[]:").isdigit() for p in prompts) and kernel_is_idle(page)

    # Run All marks every cell "[*]" at once, so "[ ]" or "[*]" left means not finished (or never started).
    wait_until(page, all_cells_ran, KERNEL_RUN_TIMEOUT_S, "Run All Cells to finish")


def error_outputs(page) -> list[str]:
    """Text of traceback outputs shown in the open notebook (a cell that raised)."""
    stderr = "application/vnd.jupyter.stderr"  # JupyterLab's mime type for both stderr streams and tracebacks
    errors = page.locator(f".jp-NotebookPanel:visible .jp-OutputArea-output[data-mime-type='{stderr}']")
    return [text for text in errors.all_inner_texts() if "Traceback" in text or "Error" in text]


def widget_box(page, css_class: str):
    """The rendered ipywidget carrying `css_class` (set in Python with `add_class`) in the open notebook."""
    found = page.locator(f".jp-NotebookPanel:visible .jupyter-widgets.{css_class}")
    found.first.wait_for(state="attached", timeout=30_000)
    assert found.count() == 1, f"expected one widget with class {css_class!r}, found {found.count()}"
    return found.first


def scroll_to(locator) -> None:
    """Bring an element to the top of the notebook's own scroll area, as a student scrolling down would."""
    locator.evaluate("el => el.scrollIntoView({block: 'start'})")


def slider_value(slider) -> str:
    """What the slider's readout shows (ipywidgets 8 draws it next to the noUiSlider track)."""
    return slider.locator(".widget-readout").inner_text().strip()


def press_slider(page, slider, key: str, times: int = 1) -> None:
    """Focus the slider handle and press an arrow key, as a keyboard user moves it (noUiSlider keyboard support)."""
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.click()
    for _ in range(times):
        handle.press(key)
        # A person's pace: each value reaches the kernel and redraws before the next press.
        page.wait_for_timeout(150)


def set_readout(page, slider, value) -> None:
    """Type a value into the slider's editable readout and press Enter (the other way a student sets a slider)."""
    readout = slider.locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def wait_for(page, read, accept, timeout_s: float, what: str):
    """Poll `read()` until `accept(value)` holds and the kernel is idle again; return that value.

    Waiting for the expected value (not just any change) matters: a slider moved three steps redraws three times."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while time.monotonic() < deadline:
        value = read()
        if accept(value) and kernel_is_idle(page):
            return value
        page.wait_for_timeout(200)
    raise AssertionError(f"{what}: not reached within {timeout_s:.0f} s, last seen {value!r}")


def text_of(locator) -> str:
    """Text of every match joined (SVG text has no innerText, so textContent), '' when nothing matches."""
    return " | ".join(t.strip() for t in locator.all_text_contents())


def widget_render_problems(page) -> list[str]:
    """Signs that ipywidgets did not render: its error box, or a widget's text repr shown instead of the widget."""
    notebook = page.locator(".jp-NotebookPanel:visible")
    problems = [t for t in notebook.locator(".jupyter-widgets").all_inner_texts() if "Error displaying widget" in t]
    plain = notebook.locator(".jp-OutputArea-output[data-mime-type='text/plain']").all_inner_texts()
    problems += [t[:200] for t in plain if t.startswith(("VBox(", "HBox(", "IntSlider(", "FloatSlider(", "Output("))]
    return problems


def outlined_points(plot) -> list[str]:
    """Positions of the scatter markers drawn with a thick outline (how a figure marks highlighted points)."""
    return plot.locator("path.point").evaluate_all(
        "points => points.filter(p => parseFloat(p.style.strokeWidth) > 1).map(p => p.getAttribute('transform'))")


def marker_texts(plot) -> list[str]:
    """The texts plotly drew on markers (mode "markers+text"), empty ones left out."""
    return [t for t in plot.locator(".textpoint text").all_text_contents() if t.strip()]


def heatmap_grids(plot) -> list[list[list[float | None]]]:
    """The z grid of every heatmap trace as plotly drew it (its decoded full data), NaN as None."""
    return plot.evaluate("""el => el._fullData.filter(t => t.type === 'heatmap').map(t =>
        Array.from(t.z, row => Array.from(row, v => (v === null || Number.isNaN(v)) ? null : v)))""")


def drag_slider_to(page, slider, fraction: float) -> None:
    """Drag the slider handle with the mouse to `fraction` (0 = left end, 1 = right end) of its track."""
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    box, track = handle.bounding_box(), slider.locator(".noUi-base").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    target_x = track["x"] + fraction * track["width"]
    page.mouse.move(target_x, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()


@contextlib.contextmanager
def screenshot_on_failure(page, name: str, tmp_path: Path):
    """Keep a picture of the moment a browser check failed."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(page, f"{name}-FAILED", tmp_path)
        raise


def clear_artifacts() -> None:
    """Empty artifacts/browser/ so that what is there after a run is that run's pictures only."""
    if ARTIFACTS.exists():
        for old in ARTIFACTS.iterdir():
            if old.is_file():
                old.unlink()


def screenshot(page, name: str, tmp_path: Path, element=None) -> Path:
    """PNG of the window (or of one element) in pytest's tmp dir, copied to artifacts/browser/ (gitignored).

    JupyterLab scrolls the notebook inside its own panel, so a "full page" shot is just the window: scroll the
    part that matters into view first."""
    target = tmp_path / f"{name}.png"
    (element or page).screenshot(path=str(target))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target, ARTIFACTS / target.name)
    return target
