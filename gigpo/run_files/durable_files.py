"""Writes that survive a host crash, not only a killed process: fsync the data, then the folder that names it.

``os.replace`` is atomic against a killed process, but after a power loss the rename can be on disk while the file's
data is not (ext4, xfs: metadata and data are flushed separately), leaving a complete-looking file of zeros or a
truncated one. Flushing the file before the rename and the folder after it closes that window.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def fsync_file(path: str | Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: str | Path) -> None:
    """Make the folder's entries (created, renamed or deleted names) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` by ``text`` so that a crash at any moment leaves either the old file or the new one whole."""
    path = Path(path)
    tmp = path.with_name(f".tmp_{path.name}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def sha256_of(path: str | Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
