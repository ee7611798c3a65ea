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


MAX_DEPTH = 64  # nesting a state structure may have (an optimizer's state_dict needs 5); deeper is a crafted file


def _decode(path, value, tensors, depth=0):
    """The structure's JSON value as Python, with the tensors it names; ``ValueError`` naming ``path`` for anything
    :func:`save_state` does not write (so a crafted file is reported as damage, never a ``TypeError``)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{path}: its state structure is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        return [_decode(path, v, tensors, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and next(iter(value)) in _TAGS:
        (tag, inner), = value.items()
        if tag in ("__tensor__", "__ndarray__"):
            if not isinstance(inner, str) or inner not in tensors:
                raise ValueError(f"{path}: the structure names tensor {inner!r}, which the file does not hold")
            return tensors[inner] if tag == "__tensor__" else tensors[inner].numpy()
        if not isinstance(inner, list):
            raise ValueError(f"{path}: {tag} holds {type(inner).__name__}, not a list")
        if tag == "__tuple__":
            return tuple(_decode(path, v, tensors, depth + 1) for v in inner)
        out = {}
        for pair in inner:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError(f"{path}: a __dict__ entry is not a [key, value] pair: {pair!r:.80}")
            key = _decode(path, pair[0], tensors, depth + 1)
            if not _hashable(key):
                raise ValueError(f"{path}: a __dict__ key is a {type(key).__name__}, which cannot key a dict")
            out[key] = _decode(path, pair[1], tensors, depth + 1)
        return out
    return {k: _decode(path, v, tensors, depth + 1) for k, v in value.items()}


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _structure(path, metadata: dict) -> Any:
    if "gigpo_state" not in metadata:
        raise ValueError(f"{path} holds no gigpo state structure (metadata key 'gigpo_state' missing)")
    try:
        return json.loads(metadata["gigpo_state"])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: its state structure is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ValueError(f"{path}: its state structure is nested too deeply to parse") from exc


def load_state(path: str | Path) -> Any:
    """Inverse of :func:`save_state`; a file that is not one (e.g. a pickle, or a structure it does not write) raises
    ``ValueError`` naming it."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{path} is not a readable safetensors state file: {exc}") from exc
    return _decode(path, _structure(path, metadata), tensors)


def state_file_problem(path: str | Path) -> str | None:
    """Why :func:`load_state` would refuse ``path`` (a message naming it), or None; reads the file's header only: the
    structure is checked against the tensor names, no tensor data is read."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            names = {name: _NamedOnly(name) for name in f.keys()}
    except (SafetensorError, OSError) as exc:
        return f"{path} is not a readable safetensors state file ({exc})"
    try:
        _decode(path, _structure(path, metadata), names)
    except ValueError as exc:
        return str(exc)
    return None


class _NamedOnly:
    """Stands in for a tensor while a structure is checked (``.numpy()`` for ``__ndarray__`` entries)."""

    def __init__(self, name: str):
        self.name = name

    def numpy(self):
        return self
