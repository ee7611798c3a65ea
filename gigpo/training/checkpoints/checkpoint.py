"""Checkpoints that make ``--resume`` exact and survive a host crash: trainable weights, optimizer, RNG states and the
iteration count, each file checksummed.

Layout: ``<output_dir>/checkpoints/iter_000005/`` holds ``trainable.safetensors`` (the LoRA adapter, or all weights
under full fine-tuning), ``optimizer.safetensors`` and ``rng.safetensors`` (tensors plus their structure as JSON,
``state_files.py``: nothing in a checkpoint is a pickle, so loading one received from someone else runs no code),
``state.json`` (iterations done, the lr schedule's horizon, the config) and ``manifest.json`` (sha256 of each file).

Durability: a checkpoint is written to a temporary folder, every file and the folder are fsynced, then it is renamed
into place and the parent folder fsynced, and only then are older checkpoints pruned (renamed away first, so a prune
cut short never leaves a half-deleted ``iter_*``). Resume verifies the manifest and falls back to the newest intact
checkpoint, warning about each one it skipped (a crash of the host can still leave a damaged file behind on a
filesystem or disk that does not honour fsync). Checkpoints of earlier versions (``optimizer.pt``, ``rng.pt``) are
refused with the one-off command that converts them (``checkpoint_convert.py``).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gigpo.training.systems import sharding
from gigpo.run_files.durable_files import fsync_dir, fsync_file, sha256_of
from gigpo.training.systems.models import load_trainable_state_dict, trainable_state_dict
from gigpo.training.checkpoints.state_files import load_state, save_state

FILES = ("trainable.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json")
MANIFEST = "manifest.json"
LEGACY_FILES = ("optimizer.pt", "rng.pt")
# seconds to sleep inside a checkpoint write / a prune, so a test can kill the process there (never set otherwise)
PAUSE_ENV = "GIGPO_TEST_CHECKPOINT_PAUSE"


def rng_states() -> dict:
    """torch, numpy and ``random`` states. No CUDA states: the trainer re-seeds every draw each iteration, and a
    state per visible GPU could not be restored on a machine that shows fewer (issue 22)."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "random": random.getstate()}


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["random"])  # a "cuda" entry of an older checkpoint is ignored on purpose (see rng_states)


def checkpoint_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def checkpoint_states(model, optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """``(trainable weights, optimizer state)`` as a checkpoint holds them: whole, in the one-process layout, also
    for a sharded model (then every rank must call it: it gathers), so any number of processes can resume them."""
    sharded = sharding.is_sharded(model)
    return trainable_state_dict(model), (sharding.full_optimizer_state(model, optimizer) if sharded
                                         else optimizer.state_dict())


def _pause(window: str) -> None:
    spec = dict(part.split("=") for part in os.environ.get(PAUSE_ENV, "").split(",") if "=" in part)
    if window in spec:
        time.sleep(float(spec[window]))


def write_manifest(folder: Path) -> None:
    """sha256 of every checkpoint file present, fsynced; written last, so its presence means the rest is complete."""
    sums = {name: sha256_of(folder / name) for name in FILES if (folder / name).exists()}
    (folder / MANIFEST).write_text(json.dumps({"sha256": sums}, indent=2))
    fsync_file(folder / MANIFEST)
    fsync_dir(folder)


def save_checkpoint(output_dir: str | Path, iterations_done: int, model, optimizer, config: dict,
                    keep: int = 2, states: tuple[dict, dict] | None = None, lr_horizon: int | None = None) -> Path:
    """Save after ``iterations_done`` iterations; keeps the ``keep`` most recent checkpoints (this one included).

    ``states``: :func:`checkpoint_states` already gathered (a sharded model: every rank gathers, one writes).
    ``lr_horizon``: the iterations the run's lr schedule spans, fixed when it started (``lr_schedule.py``).
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be an int >= 1 (the checkpoint just written is always kept), got {keep!r}")
    root = checkpoint_dir(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    for leftover in root.glob(".t*_iter_*"):  # .tmp_ (a save cut short) and .trash_ (a prune cut short)
        shutil.rmtree(leftover, ignore_errors=True)
    final = root / f"iter_{iterations_done:06d}"
    tmp = root / f".tmp_iter_{iterations_done:06d}"
    tmp.mkdir()
    weights, optimizer_state = states if states is not None else checkpoint_states(model, optimizer)
    save_file({k: v.contiguous() for k, v in weights.items()}, tmp / "trainable.safetensors")
    save_state(optimizer_state, tmp / "optimizer.safetensors")
    _pause("write")
    save_state(rng_states(), tmp / "rng.safetensors")
    state = {"iterations_done": iterations_done, "lr_horizon": lr_horizon, "config": config}
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    for name in FILES:
        fsync_file(tmp / name)
    write_manifest(tmp)  # fsyncs the folder too
    if final.exists():  # e.g. a damaged checkpoint resume skipped: moved aside first, os.replace needs a free name
        os.replace(final, root / f".trash_{final.name}")
    os.replace(tmp, final)
    fsync_dir(root)  # the new checkpoint is durable before any older one goes
    _prune(root, list_checkpoints(output_dir)[:-keep])
    return final


def _prune(root: Path, old: list[Path]) -> None:
    trash = [root / f".trash_{p.name}" for p in old]
    for src, dst in zip(old, trash):
        os.replace(src, dst)
    if old:
        fsync_dir(root)
    _pause("prune")
    for p in root.glob(".trash_iter_*"):
        shutil.rmtree(p, ignore_errors=True)


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Every ``iter_*`` folder, oldest first (intact or not: see :func:`checkpoint_problem`)."""
    root = checkpoint_dir(output_dir)
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith("iter_") and p.is_dir())


def is_legacy(path: str | Path) -> bool:
    path = Path(path)
    return not (path / MANIFEST).exists() and any((path / name).exists() for name in LEGACY_FILES)


def legacy_message(path: str | Path) -> str:
    return (f"checkpoint {str(path)!r} was written by an earlier gigpo: its optimizer.pt / rng.pt are pickles, which "
            "can run code when loaded, so they are no longer read. Convert it once (tensors to safetensors, no code "
            f"run) with: python -m gigpo convert-checkpoint {str(Path(path).parent.parent)!r}")


def checkpoint_problem(path: str | Path) -> str | None:
    """What is wrong with the checkpoint at ``path`` (a missing or damaged file), or ``None`` if it is intact."""
    path = Path(path)
    try:
        sums = json.loads((path / MANIFEST).read_text())["sha256"]
    except FileNotFoundError:
        return f"no {MANIFEST} (incomplete)"
    except (ValueError, KeyError, TypeError) as exc:
        return f"{MANIFEST} is unreadable ({type(exc).__name__})"
    for name in FILES:
        if name not in sums:
            return f"{MANIFEST} does not list {name}"
        if not (path / name).exists():
            return f"{name} is missing"
        if sha256_of(path / name) != sums[name]:
            return f"{name} does not match its checksum (truncated or corrupted)"
    return None


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest intact checkpoint; each newer damaged one is skipped with a warning that names it and why.

    Raises ``ValueError`` for a checkpoint of an earlier version (with the command that converts it) and when there
    are checkpoints but none is intact."""
    skipped = []
    for path in reversed(list_checkpoints(output_dir)):
        if is_legacy(path):
            raise ValueError(legacy_message(path))
        problem = checkpoint_problem(path)
        if problem is None:
            if skipped:
                warnings.warn(f"resuming from {path.name}, the newest intact checkpoint; skipped "
                              + "; ".join(skipped), stacklevel=2)
            return path
        skipped.append(f"{path} ({problem})")
    if skipped:
        raise ValueError(f"no intact checkpoint in {str(checkpoint_dir(output_dir))!r}: " + "; ".join(skipped)
                         + ". Start over with --overwrite or choose another output_dir")
    return None


def read_state(path: str | Path) -> dict:
    return json.loads((Path(path) / "state.json").read_text())


def load_checkpoint(path: str | Path, model, optimizer) -> int:
    """Restore weights, optimizer and RNG states from ``path`` after checking its manifest; returns the number of
    iterations already done. A sharded model takes its shard of the whole tensors (every rank reads the files)."""
    path = Path(path)
    if is_legacy(path):
        raise ValueError(legacy_message(path))
    problem = checkpoint_problem(path)
    if problem is not None:
        raise ValueError(f"checkpoint {str(path)!r} is damaged: {problem}")
    try:
        weights = load_file(path / "trainable.safetensors")
    except SafetensorError as exc:
        raise ValueError(f"{path / 'trainable.safetensors'} is not a readable safetensors file: {exc}") from exc
    optimizer_state = load_state(path / "optimizer.safetensors")
    rng = load_state(path / "rng.safetensors")
    load_trainable_state_dict(model, weights)
    if sharding.is_sharded(model):
        sharding.load_full_optimizer_state(model, optimizer, optimizer_state)
    else:
        optimizer.load_state_dict(optimizer_state)
    set_rng_states(rng)
    return int(read_state(path)["iterations_done"])


def saved_lr_horizon(path: str | Path) -> int:
    """The lr schedule's horizon the checkpointed run started with (converted checkpoints: their ``iterations``)."""
    state = read_state(path)
    return int(state.get("lr_horizon") or state["config"].get("lr_horizon") or state["config"]["iterations"])
