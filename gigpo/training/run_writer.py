"""Everything a training run writes into its output folder, behind one object, so the loop never asks which rank
it runs on.

Rank 0 writes: the run marker and ``config.json``, ``metrics.jsonl`` (one row per iteration, fsynced before the
checkpoint that counts the iteration as done), the trackers (views of ``metrics.jsonl``), the checkpoints, the final
model and the trackers' learning-curve PNG. Every rank holds a :class:`RunWriter` and makes the same calls: the
other ranks take part only in the collective steps (an FSDP model's weights are gathered from every rank).
"""
from __future__ import annotations

import json
from pathlib import Path

from tqdm.auto import trange

from gigpo.run_files.durable_files import write_text_atomic
from gigpo.run_files.metrics import METRICS_FILE, append_metrics, read_metrics, write_metrics
from gigpo.run_files.run_folder import CONFIG_FILE, RUN_ENTRIES, RUN_MARKER
from gigpo.run_files.run_overwrite import remove_run_entries
from gigpo.tracking import TrackingSession, open_tracking
from gigpo.tracking.curves import training_curves_png
from gigpo.training.checkpoints.checkpoint import (
    checkpoint_states,
    latest_checkpoint,
    list_checkpoints,
    read_state,
    save_checkpoint,
    saved_lr_horizon,
)
from gigpo.training.config import RESUMABLE_CHANGES, TrainConfig
from gigpo.training.lr_schedule import schedule_horizon
from gigpo.training.systems.distributed import Distributed
from gigpo.training.systems.models import trainable_state_dict


def prepare_output(cfg: TrainConfig, out_dir: Path, resume: bool, overwrite: bool) -> Path | None:
    """Check the output folder against ``resume`` / ``overwrite`` and mark it as a run; returns the checkpoint to
    resume from (the newest intact one), if any."""
    has_run = (out_dir / METRICS_FILE).exists() or bool(list_checkpoints(out_dir))
    if has_run and not (resume or overwrite):
        raise ValueError(f"output_dir {str(out_dir)!r} already holds a run; pass resume=True (--resume) to continue "
                         "it, overwrite=True (--overwrite) to start over, or choose another output_dir")
    ckpt = None
    if overwrite and not resume:
        present = [name for name in RUN_ENTRIES if (out_dir / name).exists()]
        if present and not (out_dir / RUN_MARKER).exists():  # e.g. a Hugging Face model folder (its config.json)
            raise ValueError(f"overwrite: {str(out_dir)!r} has no {RUN_MARKER} marker, so it does not hold a gigpo "
                             f"run (or holds one of a version before the marker); refusing to delete "
                             f"{', '.join(present)} there. Delete them yourself or choose another output_dir")
        remove_run_entries(out_dir, RUN_ENTRIES)  # checks every entry first; unlinks links, never follows them
    elif resume:
        ckpt = latest_checkpoint(out_dir, set_aside_damaged=True)
    if ckpt is not None:  # a field added since the checkpoint was written holds its default there
        saved = {**json.loads(TrainConfig().to_json()), **read_state(ckpt)["config"]}
        now = json.loads(cfg.to_json())  # the serialised form the checkpoint holds: a tuple option is a list there
        differ = [k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k]]
        if differ:
            raise ValueError("resume: settings differ from the checkpointed run: "
                             + ", ".join(f"{k} (run: {saved.get(k)!r}, now: {now[k]!r})" for k in differ))
        schedule_horizon(cfg.lr_schedule, cfg.iterations, cfg.lr_horizon, saved_lr_horizon(ckpt))  # raises past it
    write_text_atomic(out_dir / RUN_MARKER, "a gigpo training run: --overwrite may delete its files here\n")
    return ckpt


class RunWriter:
    """The run's output folder as the loop sees it: open, start, log a row, checkpoint, finish."""

    def __init__(self, cfg: TrainConfig, dist: Distributed, resume_from: Path | None, *, resume: bool = False):
        self.cfg, self.dist, self.resume_from, self.resume = cfg, dist, resume_from, resume
        self.out_dir = Path(cfg.output_dir)
        self.tracking = TrackingSession([], None)
        self.horizon = 0

    @classmethod
    def open(cls, cfg: TrainConfig, dist: Distributed, *, resume: bool, overwrite: bool) -> "RunWriter":
        """Check and mark the output folder (rank 0; a bad folder raises on every rank) and find the checkpoint a
        resume continues from."""
        out_dir = Path(cfg.output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        return cls(cfg, dist, dist.on_main(lambda: prepare_output(cfg, out_dir, resume, overwrite)), resume=resume)

    def lr_horizon(self) -> int:
        """The lr schedule's horizon, fixed when the run first started: extending a run keeps the rates it trained
        with."""
        saved = saved_lr_horizon(self.resume_from) if self.resume_from is not None else None
        self.horizon = schedule_horizon(self.cfg.lr_schedule, self.cfg.iterations, self.cfg.lr_horizon, saved)
        return self.horizon

    def start(self, start: int) -> list[dict]:
        """The rows of the iterations before ``start`` (rows of unfinished iterations are dropped from the file), and
        the trackers opened (a resumed run continues their runs from ``start``)."""
        history = [m for m in read_metrics(self.out_dir) if m["iteration"] < start]
        self.dist.barrier()  # every rank has read the metrics before rank 0 rewrites them
        if self.dist.is_main:
            write_metrics(self.out_dir, history)
            write_text_atomic(self.out_dir / CONFIG_FILE, self.cfg.to_json())
            self.tracking = open_tracking(self.cfg.report_to, self.out_dir, project=self.cfg.project,
                                          run_name=self.cfg.run_name, config=self.cfg.to_dict(),
                                          resume=self.resume, start=start)
        return history

    def progress(self, start: int):
        """The iterations from ``start`` on, with a progress bar on rank 0 when ``cfg.progress`` asks for one."""
        cfg = self.cfg
        return trange(start, cfg.iterations, desc=f"{cfg.estimator} on {cfg.env}", initial=start,
                      total=cfg.iterations, disable=not (cfg.progress and self.dist.is_main))

    def log(self, row: dict) -> None:
        """One iteration's row into ``metrics.jsonl`` (durable) and the trackers; every rank holds the same row."""
        if self.dist.is_main:
            append_metrics(self.out_dir, row)
            self.tracking.log_row(row)

    def checkpoint_due(self, done: int) -> bool:
        every = self.cfg.checkpoint_every
        return done == self.cfg.iterations or bool(every and done % every == 0)

    def checkpoint(self, done: int, model, optimizer) -> None:
        """``checkpoints/iter_<done>``: weights, optimizer and RNG states (gathered from every rank under FSDP)."""
        states = checkpoint_states(model, optimizer) if self.dist.fsdp or self.dist.is_main else None
        if self.dist.is_main:
            save_checkpoint(self.out_dir, done, model, optimizer, self.cfg.to_dict(), keep=self.cfg.keep_checkpoints,
                            states=states, lr_horizon=self.horizon)

    def finish(self, model, tokenizer, history: list[dict]) -> None:
        """``final/`` (the LoRA adapter or the full model, with its tokenizer), the trackers' curves and closing;
        no rank returns before the final model is on disk."""
        whole = trainable_state_dict(model) if self.dist.fsdp else None  # every rank gathers, rank 0 writes
        if self.dist.is_main:
            final = self.out_dir / "final"
            model.save_pretrained(final, state_dict=whole)
            tokenizer.save_pretrained(final)
            if self.tracking:
                title = f"{self.cfg.estimator} on {self.cfg.env}"
                self.tracking.finish([training_curves_png(history, self.out_dir, title=title)])
        self.dist.barrier()
