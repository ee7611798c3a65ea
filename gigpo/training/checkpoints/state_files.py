"""Nested Python state (an optimizer's ``state_dict``, random-generator states) in one file that cannot carry code.

A pickle (``torch.save``, ``torch.load(weights_only=False)``) runs whatever its bytes name when loaded, so a run
folder received from someone else would execute their code on ``--resume``. Here the tensors go into a safetensors
file and the structure around them (dicts, lists, tuples, ints, floats, strings, None) into that file's JSON
metadata: loading parses JSON and copies tensor bytes, nothing else.

Encoding of the structure: JSON as is, except ``{"__tuple__": [...]}`` for a tuple (an optimizer's ``betas`` must
come back a tuple), ``{"__dict__": [[key, value], ...]}`` for a dict with a key that is not a plain string
(``state_dict()["state"]`` is keyed by int), ``{"__tensor__": name}`` and ``{"__ndarray__": name}`` for arrays
stored in the file (numpy's Mersenne Twister state is a uint32 array).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

_TAGS = ("__tuple__", "__dict__", "__tensor__", "__ndarray__")


def save_state(tree: Any, path: str | Path) -> None:
    tensors: dict[str, torch.Tensor] = {}

    def encode(value, where):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, torch.Tensor):
            name = f"t{len(tensors)}"
            tensors[name] = value.detach().cpu().contiguous()
            return {"__tensor__": name}
        if isinstance(value, np.ndarray):
            name = f"t{len(tensors)}"
            tensors[name] = torch.from_numpy(np.ascontiguousarray(value))
            return {"__ndarray__": name}
        if isinstance(value, (np.integer, np.floating)):
            return value.item()
        if isinstance(value, tuple):
            return {"__tuple__": [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: encode(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"__dict__": [[encode(k, where), encode(v, f"{where}[{k!r}]")] for k, v in value.items()]}
        raise TypeError(f"cannot store {type(value).__name__} at state{where} without pickle; "
                        "only tensors, arrays, dicts, lists, tuples, numbers, strings and None")

    structure = json.dumps(encode(tree, ""))
    save_file(tensors, str(path), metadata={"gigpo_state": structure})


def load_state(path: str | Path) -> Any:
    """Inverse of :func:`save_state`; a file that is not one (e.g. a pickle) raises ``ValueError`` naming it."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{path} is not a readable safetensors state file: {exc}") from exc
    if "gigpo_state" not in metadata:
        raise ValueError(f"{path} holds no gigpo state structure (metadata key 'gigpo_state' missing)")

    def decode(value):
        if isinstance(value, list):
            return [decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1 and next(iter(value)) in _TAGS:
            (tag, inner), = value.items()
            if tag == "__tuple__":
                return tuple(decode(v) for v in inner)
            if tag == "__dict__":
                return {decode(k): decode(v) for k, v in inner}
            if inner not in tensors:
                raise ValueError(f"{path}: the structure names tensor {inner!r}, which the file does not hold")
            return tensors[inner] if tag == "__tensor__" else tensors[inner].numpy()
        return {k: decode(v) for k, v in value.items()}

    try:
        return decode(json.loads(metadata["gigpo_state"]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: its state structure is not valid JSON: {exc}") from exc
