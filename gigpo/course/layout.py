"""Where the course lives in the repository: the master notebooks (``course/``) and their build (``course/_build/``).

Shared by ``build`` (which writes the build) and ``grade`` (which reads its autograders), so neither imports the
other for a path.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "course"
BUILD = SOURCES / "_build"
