"""An executed notebook made ready for a static, offline page: figures served by the site, widgets as snapshots.

* A plotly output (``application/vnd.plotly.v1+json``) becomes HTML that draws it with the ``plotly.min.js`` the
  site serves itself (loaded once per page by the book's config; nothing from a CDN), plus a PNG of the same
  figure: shown in ``<noscript>`` and linked under the figure, so the page reads without scripts too.
* An ipywidget output needs a live kernel. It becomes a snapshot read from the widget state the run stored
  (papermill keeps it in ``metadata.widgets``): the controls with their values, HTML panes, and the figures in its
  output areas, under a sentence saying it is a snapshot. The widget state is then dropped, so the page does not
  pull the widget manager's scripts from a CDN.
* Tool noise leaves the printed text: what a kernel or papermill logs while a notebook runs another one (the kernel's
  TCP-transport warning, papermill's parameter-parsing messages) says nothing about the notebook to a reader.
"""
from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import plotly.io as pio

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_NOTE = ("<p class='gigpo-widget-note'><strong>Interactive widget, shown as a static snapshot.</strong> Its "
               "controls need a running Python kernel; this is the state it was left in when the notebook was "
               "executed for this book. Open the notebook (links at the top of the page) to move them.</p>")
INJECTED_TAG = "injected-parameters"  # papermill's tag on the cell it adds after the parameters cell
# Lines a notebook's stream outputs carry from the tools that ran it, not from its own code.
TOOL_NOISE = re.compile(r"^.*(?:\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption"
                        r"|Unable to parse line \d+ '|Passed unknown parameter: "
                        r"|Input notebook does not contain a cell with tag 'parameters').*(?:\n|$)", re.M)
CONTAINER_MODELS = {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel"}


@dataclass
class PageFigures:
    """What converting one notebook produced: PNGs still to draw (path -> plotly JSON) and counts for the log."""
    stem: str
    figure_dir: Path          # where the PNGs go (inside the book's _static/)
    figure_url: str           # the same folder as the page links it
    pngs: dict[Path, dict] = field(default_factory=dict)
    widgets: int = 0

    def figure_html(self, figure: dict) -> str:
        n = len(self.pngs) + 1
        name = f"{self.stem}-figure-{n:02d}.png"
        self.pngs[self.figure_dir / name] = figure
        # auto_play off: a figure with frames (a step-through slider) opens at its first frame, as in the notebook
        interactive = pio.to_html(figure, include_plotlyjs=False, full_html=False, validate=False,
                                  div_id=f"{self.stem}-figure-{n:02d}", default_width="100%",
                                  config={"responsive": True}, auto_play=False)
        title = ((figure.get("layout") or {}).get("title") or {})
        alt = html.escape(title.get("text", "") if isinstance(title, dict) else str(title)) or f"figure {n}"
        png = f"{self.figure_url}/{name}"
        return (f"<div class='gigpo-figure'>{interactive}"
                f"<noscript><img class='gigpo-static-figure' src='{png}' alt='{alt}'></noscript>"
                f"<p class='gigpo-figure-png'><a href='{png}'>static image (PNG)</a></p></div>")


def _output_html(output: dict, figures: PageFigures) -> str:
    """One output (of a cell or of a widget's Output area) as static HTML."""
    kind = output.get("output_type")
    if kind == "stream":
        return f"<pre class='gigpo-stream'>{html.escape(output.get('text', ''))}</pre>"
    data = output.get("data", {})
    if PLOTLY_MIME in data:
        return figures.figure_html(data[PLOTLY_MIME])
    if "text/html" in data:
        return _text(data["text/html"])
    if "image/png" in data:
        return f"<img src='data:image/png;base64,{_text(data['image/png']).strip()}'>"
    return f"<pre>{html.escape(_text(data.get('text/plain', '')))}</pre>"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def widget_snapshot(model_id: str, state: dict, figures: PageFigures) -> str:
    """The widget tree under ``model_id`` drawn from its stored state: controls as "label = value", HTML panes
    as they were, Output areas with their last outputs."""
    def draw(ref: str) -> str:
        model = state.get(ref.removeprefix("IPY_MODEL_"))
        if model is None:
            raise ValueError(f"widget {ref} is displayed but its state was not stored with the notebook")
        name, s = model["model_name"], model["state"]
        classes = " ".join(["gigpo-snapshot", *s.get("_dom_classes", [])])
        if name in CONTAINER_MODELS:
            direction = "row" if name == "HBoxModel" else "column"
            inner = "".join(draw(child) for child in s.get("children", []))
            return f"<div class='{classes}' style='display:flex;flex-direction:{direction};gap:0.5em'>{inner}</div>"
        if name == "OutputModel":
            return f"<div class='{classes}'>{''.join(_output_html(o, figures) for o in s.get('outputs', []))}</div>"
        if name in ("HTMLModel", "HTMLMathModel"):
            return f"<div class='{classes}'>{s.get('value', '')}</div>"
        if name == "LabelModel":
            return f"<div class='{classes}'>{html.escape(str(s.get('value', '')))}</div>"
        if "_options_labels" in s:  # Dropdown, RadioButtons, ToggleButtons, SelectionSlider: the chosen label
            index = s.get("index")
            value = s["_options_labels"][index] if isinstance(index, int) else index
        else:
            value = s.get("value", "")
        label = html.escape(str(s.get("description") or name.removesuffix("Model")))
        return f"<div class='{classes} gigpo-snapshot-control'><code>{label} = {html.escape(str(value))}</code></div>"

    figures.widgets += 1
    return f"<div class='gigpo-widget-snapshot'>{WIDGET_NOTE}{draw(model_id)}</div>"


def without_tool_noise(outputs: list[dict]) -> list[dict]:
    """The cell's ``outputs`` with the :data:`TOOL_NOISE` lines cut from its stream outputs (an output left empty is
    dropped); every other output is kept as it is."""
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream":
            text = TOOL_NOISE.sub("", _text(output.get("text", "")))
            if not text:
                continue
            output = {**output, "text": text}
        kept.append(output)
    return kept


def static_notebook(notebook: dict, figures: PageFigures) -> dict:
    """A copy of the executed ``notebook`` (nbformat JSON) with figures and widgets converted as described above,
    tool noise cut from its printed text and papermill's injected-parameters cell left out."""
    nb = copy.deepcopy(notebook)
    # papermill's injected cell holds only output_dir for the book's default-parameter runs: the folder of the machine
    # that ran it, nothing a reader needs (the notebook's own parameters cell shows the values it ran with).
    nb["cells"] = [c for c in nb["cells"] if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    state = (nb.get("metadata", {}).pop("widgets", {}) or {}).get(WIDGET_STATE_MIME, {}).get("state", {})
    for cell in nb["cells"]:
        if "outputs" in cell:
            cell["outputs"] = without_tool_noise(cell["outputs"])
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW_MIME in data:
                content = widget_snapshot(data[WIDGET_VIEW_MIME]["model_id"], state, figures)
            elif PLOTLY_MIME in data:
                content = figures.figure_html(data[PLOTLY_MIME])
            else:
                continue
            output["data"] = {"text/html": content, "text/plain": data.get("text/plain", "")}
            output["metadata"] = {}
    return nb
