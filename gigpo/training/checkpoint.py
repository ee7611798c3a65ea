"""Checkpoints that make ``--resume`` exact: trainable weights, optimizer, every RNG state and the iteration count.

Layout: ``<output_dir>/checkpoints/iter_000005/`` holds ``trainable.safetensors`` (the LoRA adapter, or all weights
under full fine-tuning), ``optimizer.pt``, ``rng.pt`` and ``state.json`` (iterations done + config). A checkpoint is
written to a temporary folder and renamed, so an interrupted save never leaves a half checkpoint behind.
"""
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from gigpo.training import sharding
from gigpo.training.models import load_trainable_state_dict, trainable_state_dict


def rng_states() -> dict:
    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "random": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["random"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def checkpoint_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def checkpoint_states(model, optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """``(trainable weights, optimizer state)`` as a checkpoint holds them: whole, in the one-process layout, also
    for a sharded model (then every rank must call it: it gathers), so any number of processes can resume them."""
    sharded = sharding.is_sharded(model)
    return trainable_state_dict(model), (sharding.full_optimizer_state(model, optimizer) if sharded
                                         else optimizer.state_dict())


def save_checkpoint(output_dir: str | Path, iterations_done: int, model, optimizer, config: dict,
                    keep: int = 2, states: tuple[dict, dict] | None = None) -> Path:
    """Save after ``iterations_done`` iterations; keeps the ``keep`` most recent checkpoints (this one included).

    ``states``: :func:`checkpoint_states` already gathered (a sharded model: every rank gathers, one writes).
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be an int >= 1 (the checkpoint just written is always kept), got {keep!r}")
    root = checkpoint_dir(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"iter_{iterations_done:06d}"
    tmp = root / f".tmp_iter_{iterations_done:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    weights, optimizer_state = states if states is not None else checkpoint_states(model, optimizer)
    save_file({k: v.contiguous() for k, v in weights.items()}, tmp / "trainable.safetensors")
    torch.save(optimizer_state, tmp / "optimizer.pt")
    torch.save(rng_states(), tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"iterations_done": iterations_done, "config": config}, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in list_checkpoints(output_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    root = checkpoint_dir(output_dir)
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith("iter_") and (p / "state.json").exists())


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    found = list_checkpoints(output_dir)
    return found[-1] if found else None


def read_state(path: str | Path) -> dict:
    return json.loads((Path(path) / "state.json").read_text())


def load_checkpoint(path: str | Path, model, optimizer) -> int:
    """Restore weights, optimizer and RNG states from ``path``; returns the number of iterations already done.

    A sharded model takes its shard of the whole tensors (every rank reads the files)."""
    path = Path(path)
    weights = load_file(path / "trainable.safetensors")
    optimizer_state = torch.load(path / "optimizer.pt", weights_only=False)
    load_trainable_state_dict(model, weights)
    if sharding.is_sharded(model):
        sharding.load_full_optimizer_state(model, optimizer, optimizer_state)
    else:
        optimizer.load_state_dict(optimizer_state)
    set_rng_states(torch.load(path / "rng.pt", weights_only=False))
    return int(read_state(path)["iterations_done"])
