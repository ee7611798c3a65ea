"""One-off conversion of checkpoints written before issue 28 (``optimizer.pt``, ``rng.pt``: pickles) to the current
layout (``checkpoint.py``: safetensors + JSON, with a checksum manifest).

``python -m gigpo convert-checkpoint PATH`` (a run folder or one of its ``checkpoints/iter_*``). The pickles are read
with ``torch.load(weights_only=True)`` and an allow-list of the three numpy types numpy's RNG state needs, so a file
that names anything else (code to run) is refused; only ``--trust-pickle`` reads it with ``weights_only=False``, for
a checkpoint the user made and trusts. CUDA RNG states in old files are dropped (``checkpoint.rng_states``).
"""
from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
import torch

from gigpo.training.checkpoints.checkpoint import FILES, LEGACY_FILES, checkpoint_dir, is_legacy, write_manifest
from gigpo.run_files.durable_files import fsync_dir, fsync_file
from gigpo.training.checkpoints.state_files import save_state

# what torch.save of np.random.get_state() names besides tensors and builtins
ALLOWED_GLOBALS = [np.ndarray, np.dtype, np._core.multiarray._reconstruct, type(np.dtype(np.uint32))]


def _load_pickle(file: Path, trust_pickle: bool):
    if trust_pickle:
        return torch.load(file, map_location="cpu", weights_only=False)
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(file)
        raise ValueError(f"{file} names objects outside the allow-list of a gigpo checkpoint "
                         f"({', '.join(found) or 'see: ' + str(exc).splitlines()[0]}); loading it could run code. "
                         "If you made this checkpoint yourself and trust it, convert it with --trust-pickle "
                         "(reads it with torch.load(weights_only=False))") from exc


def convert_one(folder: Path, trust_pickle: bool = False) -> None:
    optimizer_state = _load_pickle(folder / "optimizer.pt", trust_pickle)
    rng = _load_pickle(folder / "rng.pt", trust_pickle)
    rng = {k: rng[k] for k in ("torch", "numpy", "random")}  # a "cuda" entry is dropped
    state = json.loads((folder / "state.json").read_text())
    state.setdefault("lr_horizon", state["config"].get("lr_horizon") or state["config"]["iterations"])
    save_state(optimizer_state, folder / "optimizer.safetensors")
    save_state(rng, folder / "rng.safetensors")
    (folder / "state.json").write_text(json.dumps(state, indent=2))
    for name in FILES:
        fsync_file(folder / name)
    write_manifest(folder)  # from here on the folder is a current checkpoint; the pickles go last
    for name in LEGACY_FILES:
        (folder / name).unlink(missing_ok=True)
    fsync_dir(folder)


def convert_checkpoints(path: str | Path, trust_pickle: bool = False) -> list[Path]:
    """Convert the old-layout checkpoint at ``path``, or every one in the run folder ``path``; returns them."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"convert-checkpoint: {str(path)!r} is not a folder")
    folders = [path] if is_legacy(path) else [p for p in sorted(checkpoint_dir(path).glob("iter_*")) if is_legacy(p)]
    if not folders:
        raise ValueError(f"convert-checkpoint: no checkpoint with optimizer.pt / rng.pt (and no manifest) at "
                         f"{str(path)!r} or in its checkpoints/ folder")
    for folder in folders:
        convert_one(folder, trust_pickle)
    return folders


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a run folder (converts every old checkpoint in it) or one checkpoint folder")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="read the old pickles with weights_only=False: only for checkpoints you made and trust")


def run(ns: argparse.Namespace) -> int:
    for folder in convert_checkpoints(ns.path, trust_pickle=ns.trust_pickle):
        print(f"converted {folder}")
    return 0
