"""Checkpoints that make ``--resume`` exact and survive a host crash: trainable weights, optimizer, RNG states and the
iteration count, each file checksummed.

Layout: ``<output_dir>/checkpoints/iter_000005/`` holds ``trainable.safetensors`` (the LoRA adapter, or all weights
under full fine-tuning), ``optimizer.safetensors`` and ``rng.safetensors`` (tensors plus their structure as JSON,
``state_files.py``: nothing in a checkpoint is a pickle, so loading one received from someone else runs no code),
``state.json`` (iterations done, the lr schedule's horizon, the config) and ``manifest.json`` (sha256 of each file).

Durability: a checkpoint is written to a temporary folder, every file and the folder are fsynced, then it is renamed
into place and the parent folder fsynced, and only then are older checkpoints pruned (renamed away first, so a prune
cut short never leaves a half-deleted ``iter_*``). Pruning keeps the checkpoint just written and the ``keep - 1``
newest before it. Resume verifies every file (checksum, and that it holds what loading reads) and falls back to the
newest intact checkpoint, warning about each one it skipped and renaming it ``damaged_iter_*``, so it is neither
resumed nor counted again (a crash of the host can still leave a damaged file behind on a filesystem or disk that
does not honour fsync; a run folder from someone else can hold anything). Checkpoints of earlier versions
(``optimizer.pt``, ``rng.pt``) are refused with the one-off command that converts them (``checkpoint_convert.py``).
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
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from gigpo.run_files.durable_files import fsync_dir, fsync_file, sha256_of, write_text_atomic
from gigpo.training.checkpoints.state_files import load_state, save_state, state_file_problem
from gigpo.training.systems import sharding
from gigpo.training.systems.models import load_trainable_state_dict, trainable_state_dict

FILES = ("trainable.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json")
MANIFEST = "manifest.json"
LEGACY_FILES = ("optimizer.pt", "rng.pt")
# seconds to sleep inside a checkpoint write / a prune, so a test can kill the process there (never set otherwise)
PAUSE_ENV = "GIGPO_TEST_CHECKPOINT_PAUSE"


def rng_states() -> dict:
    """torch, numpy and ``random`` states. No CUDA states: the trainer re-seeds every draw each iteration, and a
    state per visible GPU could not be restored on a machine that shows fewer."""
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


def write_manifest(folder: Path, *, in_place: bool = False) -> None:
    """sha256 of every checkpoint file present, fsynced; written last, so its presence means the rest is complete.

    ``in_place``: the folder is already a checkpoint's (a conversion), so the manifest is written atomically (a
    temporary file renamed); a save writes it into a temporary folder that is itself renamed into place."""
    sums = {name: sha256_of(folder / name) for name in FILES if (folder / name).exists()}
    text = json.dumps({"sha256": sums}, indent=2)
    if in_place:
        write_text_atomic(folder / MANIFEST, text)  # fsyncs it and the folder
        return
    (folder / MANIFEST).write_text(text)
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
    _prune(root, prunable(list_checkpoints(output_dir), final, keep))
    return final


def prunable(checkpoints: list[Path], written: Path, keep: int) -> list[Path]:
    """What pruning removes after ``written`` was saved: every checkpoint but ``written`` and the ``keep - 1``
    newest older than it. One named after a later iteration (left by a run that resumed from an earlier one) is
    removed, never kept in place of ``written``."""
    older = [p for p in checkpoints if p.name < written.name]
    kept = {written, *older[len(older) - (keep - 1):]}
    return [p for p in checkpoints if p not in kept]


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
    """What is wrong with the checkpoint at ``path`` (a missing, damaged or malformed file, named), or ``None`` if
    it is intact: every file matches the manifest's checksum and holds what :func:`load_checkpoint` reads."""
    path = Path(path)
    try:
        sums = json.loads((path / MANIFEST).read_text())["sha256"]
    except FileNotFoundError:
        return f"no {MANIFEST} (incomplete)"
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return f"{MANIFEST} is unreadable ({type(exc).__name__})"
    if not isinstance(sums, dict):
        return f"{MANIFEST}: its sha256 entry is a {type(sums).__name__}, not a table of file names"
    for name in FILES:
        if name not in sums:
            return f"{MANIFEST} does not list {name}"
        if not isinstance(sums[name], str):
            return f"{MANIFEST}: the sha256 of {name} is a {type(sums[name]).__name__}, not a hex digest"
        if not (path / name).exists():
            return f"{name} is missing"
        if sha256_of(path / name) != sums[name]:
            return f"{name} does not match its checksum (truncated or corrupted)"
    for name in ("optimizer.safetensors", "rng.safetensors"):
        problem = state_file_problem(path / name)
        if problem is not None:
            return problem
    try:
        with safe_open(str(path / "trainable.safetensors"), framework="pt"):
            pass
    except (SafetensorError, OSError) as exc:
        return f"{path / 'trainable.safetensors'} is not a readable safetensors file ({exc})"
    return _state_json_problem(path / "state.json")


def _state_json_problem(file: Path) -> str | None:
    try:
        state = json.loads(file.read_text())
    except (ValueError, RecursionError) as exc:
        return f"{file} is not valid JSON ({type(exc).__name__})"
    if not isinstance(state, dict):
        return f"{file} holds a {type(state).__name__}, not an object"
    done, horizon = state.get("iterations_done"), state.get("lr_horizon")
    if isinstance(done, bool) or not isinstance(done, int) or done < 0:
        return f"{file}: iterations_done is {done!r}, not an int >= 0"
    if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1):
        return f"{file}: lr_horizon is {horizon!r}, not an int >= 1 or null"
    if not isinstance(state.get("config"), dict):
        return f"{file}: config is {type(state.get('config')).__name__}, not an object"
    return None


def set_aside(path: Path) -> Path:
    """Rename a damaged checkpoint to ``damaged_iter_*`` (a free name), so it is neither resumed nor counted by
    :func:`list_checkpoints` (hence never kept by pruning), but stays for the user to inspect."""
    target, k = path.with_name(f"damaged_{path.name}"), 1
    while target.exists():
        target, k = path.with_name(f"damaged_{path.name}.{k}"), k + 1
    os.replace(path, target)
    fsync_dir(path.parent)
    return target


def latest_checkpoint(output_dir: str | Path, *, set_aside_damaged: bool = False) -> Path | None:
    """The newest intact checkpoint; each newer damaged one is skipped with a warning that names it and why.

    ``set_aside_damaged`` (the trainer's resume): when it falls back, the damaged checkpoints it skipped are renamed
    by :func:`set_aside` (the warning names where), so the resumed run's own checkpoints and pruning never meet them.
    Raises ``ValueError`` for a checkpoint of an earlier version (with the command that converts it) and when there
    are checkpoints but none is intact (then nothing is renamed)."""
    skipped = []
    for path in reversed(list_checkpoints(output_dir)):
        if is_legacy(path):
            raise ValueError(legacy_message(path))
        problem = checkpoint_problem(path)
        if problem is None:
            if skipped:
                notes = [f"{p} ({why})" + (f", moved to {set_aside(p).name}" if set_aside_damaged else "")
                         for p, why in skipped]
                warnings.warn(f"resuming from {path.name}, the newest intact checkpoint; skipped " + "; ".join(notes),
                              stacklevel=2)
            return path
        skipped.append((path, problem))
    if skipped:
        raise ValueError(f"no intact checkpoint in {str(checkpoint_dir(output_dir))!r}: "
                         + "; ".join(f"{p} ({why})" for p, why in skipped)
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
