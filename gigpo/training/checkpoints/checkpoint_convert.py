"""One-off conversion of checkpoints written by gigpo 0.1 and 0.2 (``optimizer.pt``, ``rng.pt``: pickles) to the current
layout (``checkpoint.py``: safetensors + JSON, with a checksum manifest).

``python -m gigpo convert-checkpoint PATH`` (a run folder or one of its ``checkpoints/iter_*``). The pickles are read
with ``torch.load(weights_only=True)`` and an allow-list of the numpy objects numpy's RNG state needs (under numpy 2's
names and numpy 1's), so a file that names anything else (code to run) is refused with a message listing just those
names; only ``--trust-pickle`` reads it with ``weights_only=False``, for a checkpoint the user made and trusts. CUDA
RNG states in old files are dropped (``checkpoint.rng_states``). Converting is atomic (:func:`convert_one`).
"""
from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
import torch

from gigpo.run_files.durable_files import fsync_dir, fsync_file
from gigpo.training.checkpoints.checkpoint import FILES, LEGACY_FILES, checkpoint_dir, is_legacy, write_manifest
from gigpo.training.checkpoints.state_files import save_state

# what torch.save of np.random.get_state() names besides tensors and builtins, under numpy 2 and (the same objects
# under their numpy 1 names) numpy 1, which named the reconstructor numpy.core.multiarray._reconstruct
ALLOWED_GLOBALS = [np.ndarray, np.dtype, np._core.multiarray._reconstruct, type(np.dtype(np.uint32)),
                   (np._core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct")]


def allowed_names() -> set[str]:
    """The allow-list as the names a pickle gives its globals (``module.qualname``)."""
    return {g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}" for g in ALLOWED_GLOBALS}


def _load_pickle(file: Path, trust_pickle: bool):
    if trust_pickle:
        return torch.load(file, map_location="cpu", weights_only=False)
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = [name for name in torch.serialization.get_unsafe_globals_in_checkpoint(file)
                 if name not in allowed_names()]
        raise ValueError(f"{file} names objects outside the allow-list of a gigpo checkpoint "
                         f"({', '.join(found) or 'see: ' + str(exc).splitlines()[0]}); loading it could run code. "
                         "If you made this checkpoint yourself and trust it, convert it with --trust-pickle "
                         "(reads it with torch.load(weights_only=False))") from exc


def convert_one(folder: Path, trust_pickle: bool = False) -> None:
    """Convert one old checkpoint; a crash at any moment leaves it old (its files untouched, converted again the
    same way) or new. The new files get names the old layout does not read, then the manifest is written atomically
    (``durable_files.write_text_atomic``, as the trainer's saves): its appearance is the one step from old to new.
    ``state.json`` stays as it is (``checkpoint.saved_lr_horizon`` reads an old one); the pickles go last."""
    optimizer_state = _load_pickle(folder / "optimizer.pt", trust_pickle)
    rng = _load_pickle(folder / "rng.pt", trust_pickle)
    rng = {k: rng[k] for k in ("torch", "numpy", "random")}  # a "cuda" entry is dropped
    json.loads((folder / "state.json").read_text())  # an unreadable one stops the conversion here, before any write
    save_state(optimizer_state, folder / "optimizer.safetensors")
    save_state(rng, folder / "rng.safetensors")
    for name in FILES:
        fsync_file(folder / name)
    write_manifest(folder, in_place=True)  # atomic: from here on the folder is a current checkpoint
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
