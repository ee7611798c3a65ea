"""ipywidgets that wire controls to the figures of :mod:`gigpo.notebook.plots` (no computation of their own).

Each explorer is a small class holding its controls and output areas; ``display(explorer.widget)`` shows it. The
controls carry stable ``description`` labels ("step", "anchor", "similarity", "gamma", "step_weight", "norm") and
CSS classes ("gigpo-step-slider", ...) so that people, and browser tests, can find them. The current figure and
status text are kept as attributes too, so a non-interactive run (papermill, tests) can inspect them; widgets never
block, and with no frontend attached they simply do nothing.
"""
from __future__ import annotations

import html
import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from gigpo.notebook.notebook_extra import require_notebook_extra

require_notebook_extra("gigpo.notebook.widgets", ("ipywidgets", "plotly"))

import ipywidgets as widgets

from envs import StepRecord
from gigpo.estimators.grpo import grpo_advantages
from gigpo.notebook import plots
from gigpo.notebook.metrics_io import read_metrics
from gigpo.notebook.scripted_rollouts import records_details

ANCHOR_OPTIONS = (("state key", "state"), ("observation text", "observation"))
EXACT = 1.0  # the similarity slider's "exact match" end; difflib's ratio is 1.0 only for equal texts


def _similarity_or_none(anchor: str, similarity: float) -> float | None:
    """The slider only means something for text anchors; at 1.0 it is plain exact grouping."""
    return None if anchor != "observation" or similarity >= EXACT else float(similarity)


def _show(output: widgets.Output, figure) -> None:
    """Put ``figure`` in ``output`` by setting the widget's ``outputs`` state.

    Not ``with output: display(figure)``: under papermill/nbmake, nbclient emulates that capture and, with repeated
    captures inside one cell, intermittently stops receiving the kernel's messages and hangs. Setting the state is a
    plain widget update, and JupyterLab renders it with the same plotly renderer.
    """
    bundle = {"application/vnd.plotly.v1+json": {**json.loads(figure.to_json()), "config": {}},
              "text/plain": f"<plotly figure: {figure.layout.title.text or 'untitled'}>"}
    output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def _name_container(box: widgets.Box, kind: str, name: str | None) -> None:
    """CSS classes ``gigpo-<kind>`` and ``gigpo-<kind>-<name>`` tell several explorers on one page apart."""
    box.add_class(f"gigpo-{kind}")
    if name:
        box.add_class(f"gigpo-{kind}-{name}")


def _anchor_dropdown(value: str) -> widgets.Dropdown:
    dropdown = widgets.Dropdown(options=ANCHOR_OPTIONS, value=value, description="anchor")
    dropdown.add_class("gigpo-anchor")
    return dropdown


def _similarity_slider(anchor: str, value: float) -> widgets.FloatSlider:
    slider = widgets.FloatSlider(value=value, min=0.5, max=EXACT, step=0.05, description="similarity",
                                 readout_format=".2f", continuous_update=False, disabled=(anchor != "observation"),
                                 tooltip="difflib threshold for grouping observation texts; 1.0 = exact")
    slider.add_class("gigpo-similarity")
    return slider


class RolloutExplorer:
    """Step through a group of rollouts: who stands where at step t, and which steps share an anchor state.

    Controls: ``step`` (time index), ``anchor`` (state key or observation text) and ``similarity`` (threshold for
    text anchors). Shows a status line ("step t = 3: ..."), the rollout graph with the states of step t outlined
    (:func:`gigpo.notebook.plots.rollout_graph`) and the per-rollout table of step t
    (:func:`gigpo.notebook.plots.step_snapshot_html`).
    """

    def __init__(self, records: Sequence[StepRecord], *, anchor: str = "state", similarity: float = EXACT,
                 step: int = 0, name: str | None = None):
        if not records:
            raise ValueError("records is empty: collect some rollouts first")
        self.records = list(records)
        last_step = max(r.step for r in self.records)
        self.step = widgets.IntSlider(value=min(step, last_step), min=0, max=last_step, description="step",
                                      continuous_update=True)
        self.step.add_class("gigpo-step-slider")
        self.anchor = _anchor_dropdown(anchor)
        self.similarity = _similarity_slider(anchor, similarity)
        self.status = widgets.HTML()
        self.status.add_class("gigpo-step-status")
        self.graph = widgets.Output()
        self.graph.add_class("gigpo-rollout-graph")
        self.table = widgets.HTML()
        self.table.add_class("gigpo-step-table")
        self._labels_cache: dict[tuple[str, float | None], list[int]] = {}
        self.figure = None
        self.widget = widgets.VBox([widgets.HBox([self.step, self.anchor, self.similarity]), self.status,
                                    self.graph, self.table])
        _name_container(self.widget, "rollout-explorer", name)
        self.step.observe(self._redraw, names="value")
        self.anchor.observe(self._on_anchor, names="value")
        self.similarity.observe(self._redraw, names="value")
        self._redraw()

    def labels(self) -> list[int]:
        """Step-group labels under the current anchor settings (from ``gigpo.advantage_details``)."""
        key = (self.anchor.value, _similarity_or_none(self.anchor.value, self.similarity.value))
        if key not in self._labels_cache:
            details = records_details(self.records, anchor=key[0], similarity=key[1])
            self._labels_cache[key] = details.step_group.tolist()
        return self._labels_cache[key]

    def _on_anchor(self, change=None) -> None:
        self.similarity.disabled = self.anchor.value != "observation"
        self._redraw()

    def _redraw(self, change=None) -> None:
        labels, t = self.labels(), self.step.value
        sim = _similarity_or_none(self.anchor.value, self.similarity.value)
        anchor_text = dict((v, k) for k, v in ANCHOR_OPTIONS)[self.anchor.value]
        if sim is not None:
            anchor_text += f", similarity >= {sim:.2f}"
        live = sum(1 for r in self.records if r.step == t)
        self.status.value = (f"<b>step t = {t}</b> &middot; anchor: {anchor_text} &middot; "
                             f"{len(set(labels))} step groups in the batch &middot; {live} rollouts act at this step")
        self.figure = plots.rollout_graph(self.records, labels, highlight_step=t,
                                          title=f"Rollouts through anchor states ({anchor_text})")
        _show(self.graph, self.figure)
        self.table.value = plots.step_snapshot_html(self.records, labels, t)


class AdvantageExplorer:
    """GiGPO's advantages on one batch, recomputed as gamma, step_weight, norm and the anchor change.

    Shows the A_E / A_S / A heatmaps (:func:`gigpo.notebook.plots.advantage_heatmaps`, whose title carries the current
    gamma and step_weight), GRPO beside GiGPO, and the credit inside the step group where rollouts disagree most.
    """

    def __init__(self, records: Sequence[StepRecord], *, gamma: float = 0.95, step_weight: float = 1.0,
                 norm: str = "std", anchor: str = "state", similarity: float = EXACT, name: str | None = None):
        if not records:
            raise ValueError("records is empty: collect some rollouts first")
        self.records = list(records)
        self.gamma = widgets.FloatSlider(value=gamma, min=0.0, max=1.0, step=0.05, description="gamma",
                                         readout_format=".2f", continuous_update=False)
        self.gamma.add_class("gigpo-gamma")
        self.step_weight = widgets.FloatSlider(value=step_weight, min=0.0, max=2.0, step=0.1,
                                               description="step_weight", readout_format=".1f",
                                               continuous_update=False)
        self.step_weight.add_class("gigpo-step-weight")
        self.norm = widgets.Dropdown(options=["std", "none"], value=norm, description="norm")
        self.norm.add_class("gigpo-norm")
        self.anchor = _anchor_dropdown(anchor)
        self.similarity = _similarity_slider(anchor, similarity)
        self.status = widgets.HTML()
        self.status.add_class("gigpo-advantage-status")
        self.heatmaps = widgets.Output()
        self.heatmaps.add_class("gigpo-advantage-heatmaps")
        self.comparison = widgets.Output()
        self.comparison.add_class("gigpo-grpo-comparison")
        self.credit = widgets.Output()
        self.credit.add_class("gigpo-step-group-credit")
        self.details = None
        self.figures: dict[str, object] = {}
        self.widget = widgets.VBox([
            widgets.HBox([self.gamma, self.step_weight, self.norm]), widgets.HBox([self.anchor, self.similarity]),
            self.status, self.heatmaps, self.comparison, self.credit])
        _name_container(self.widget, "advantage-explorer", name)
        for control in (self.gamma, self.step_weight, self.norm, self.similarity):
            control.observe(self._redraw, names="value")
        self.anchor.observe(self._on_anchor, names="value")
        self._redraw()

    def params(self) -> dict:
        """The current settings, as keyword arguments of ``gigpo.advantage_details``."""
        return {"gamma": round(self.gamma.value, 4), "step_weight": round(self.step_weight.value, 4),
                "norm": self.norm.value, "similarity": _similarity_or_none(self.anchor.value, self.similarity.value)}

    def _on_anchor(self, change=None) -> None:
        self.similarity.disabled = self.anchor.value != "observation"
        self._redraw()

    def _redraw(self, change=None) -> None:
        params = self.params()
        self.details = records_details(self.records, anchor=self.anchor.value, **params)
        grpo = grpo_advantages([r.group_id for r in self.records], [r.traj_id for r in self.records],
                               [r.reward for r in self.records], norm=params["norm"])
        shown = {k: v for k, v in params.items() if v is not None}
        stats = self.details.step_group_stats()
        self.status.value = (f"<b>gamma = {params['gamma']}, step_weight = {params['step_weight']}, "
                             f"norm = {params['norm']}</b> &middot; anchor: {self.anchor.value}"
                             + (f" (similarity {params['similarity']})" if params["similarity"] else "")
                             + f" &middot; {int(stats['step_groups'])} step groups, "
                               f"{stats['step_group_share_grouped']:.0%} of steps share a state")
        self.figures = {
            "heatmaps": plots.advantage_heatmaps(self.details, params=shown),
            "comparison": plots.gigpo_vs_grpo_heatmaps(self.details, grpo, params=shown),
            "credit": plots.step_group_credit(self.records, self.details, grpo),
        }
        _show(self.heatmaps, self.figures["heatmaps"])
        _show(self.comparison, self.figures["comparison"])
        _show(self.credit, self.figures["credit"])


class LiveCurves:
    """Learning curves that follow a run's ``metrics.jsonl`` while the run is going.

    ``live.follow_process(command)`` starts the training command (see ``gigpo.training.train_process.training_command``)
    as a child process, its output going to a log file, and every ``poll_seconds`` re-reads the metrics file and redraws
    :func:`gigpo.notebook.plots.learning_curves` when a new iteration has arrived. The cell runs until training ends; a
    failed run raises ``RuntimeError`` with the end of its log, and interrupting the kernel stops the child.
    """

    def __init__(self, output_dir: str | Path, keys: Sequence[str], *, title: str = "Learning curves",
                 poll_seconds: float = 2.0):
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be > 0, got {poll_seconds!r}")
        self.output_dir, self.keys, self.title, self.poll_seconds = Path(output_dir), list(keys), title, poll_seconds
        self.status = widgets.HTML("waiting for the first iteration ...")
        self.status.add_class("gigpo-live-status")
        self.plot = widgets.Output()
        self.plot.add_class("gigpo-live-curves")
        self.widget = widgets.VBox([self.status, self.plot])
        self.records: list[dict] = []
        self.figure = None

    def refresh(self) -> int:
        """Re-read the metrics; redraw if there are new rows. Returns the number of rows."""
        records = read_metrics(self.output_dir)
        if len(records) != len(self.records):
            self.records = records
            last = records[-1]
            self.status.value = (f"iteration {last.get('iteration', len(records) - 1)} done &middot; "
                                 + " &middot; ".join(f"{k} {last[k]:.3g}" for k in self.keys[:3]
                                                     if isinstance(last.get(k), (int, float))))
            self.figure = plots.learning_curves(records, self.keys, title=f"{self.title} (live)")
            _show(self.plot, self.figure)
        return len(self.records)

    def follow_process(self, command: Sequence[str], *, log_path: str | Path | None = None) -> list[dict]:
        """Run ``command``, refreshing the curves until it exits; returns the metric records."""
        log_path = Path(log_path) if log_path is not None else self.output_dir / "train.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w") as log:
            child = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT)
            try:
                while child.poll() is None:
                    time.sleep(self.poll_seconds)
                    self.refresh()
            except BaseException:  # a kernel interrupt must not leave the training running
                child.terminate()
                child.wait()
                raise
        self.refresh()
        if child.returncode != 0:
            tail = "\n".join(log_path.read_text().splitlines()[-25:])
            self.status.value = f"run failed (exit code {child.returncode}); see {html.escape(str(log_path))}"
            raise RuntimeError(f"training exited with code {child.returncode}; end of {log_path}:\n{tail}")
        self.status.value += " &middot; finished"
        return self.records
