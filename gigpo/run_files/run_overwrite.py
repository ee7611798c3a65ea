"""``--overwrite``: delete a run's entries from its output folder, all of them or none.

Every entry is checked before anything is deleted: a folder the process cannot empty, a mount point, or a file that
is neither a regular file, a folder nor a symbolic link (a FIFO, a socket, a device: something live, not a run's
output) stops the overwrite with a message naming each, and the folder is left as it was. Symbolic links are unlinked,
never followed, so a link to data elsewhere loses only the link.
"""
from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path


def deletion_problems(target: Path) -> list[str]:
    """Why ``target`` (and, for a folder, what it holds) could not be deleted whole; empty when it can."""
    problems = []

    def check_entry(path: Path) -> None:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            return
        problems.append(f"{path} is not a regular file, folder or link (mode {stat.filemode(mode)})")

    def check_folder(folder: Path) -> None:
        if os.path.ismount(folder):
            problems.append(f"{folder} is a mount point")
        elif not os.access(folder, os.W_OK | os.X_OK):
            problems.append(f"{folder} is not writable, so its entries cannot be deleted")

    if not os.access(target.parent, os.W_OK | os.X_OK):
        problems.append(f"{target.parent} is not writable, so {target.name} cannot be deleted")
    if target.is_symlink() or not target.is_dir():
        check_entry(target)
        return problems
    walk_errors: list[OSError] = []
    for root, dirs, files in os.walk(target, followlinks=False, onerror=walk_errors.append):
        check_folder(Path(root))
        for name in dirs + files:  # os.walk lists a link to a folder under dirs and does not descend into it
            check_entry(Path(root) / name)
    problems += [f"{err.filename} cannot be read ({err.strerror})" for err in walk_errors]
    return problems


def remove_run_entries(out_dir: str | Path, names: Iterable[str]) -> list[Path]:
    """Delete the entries ``names`` of ``out_dir`` that exist (links included, also dangling ones); returns them.

    Raises ``ValueError`` listing every problem :func:`deletion_problems` finds, before deleting anything."""
    out_dir = Path(out_dir)
    targets = [out_dir / name for name in names if os.path.lexists(out_dir / name)]
    problems = [p for target in targets for p in deletion_problems(target)]
    if problems:
        raise ValueError(f"overwrite: nothing was deleted in {str(out_dir)!r}, because " + "; ".join(problems[:10])
                         + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""))
    for target in targets:
        if target.is_symlink() or not target.is_dir():
            target.unlink()
        else:
            shutil.rmtree(target)  # unlinks the links inside without following them
    return targets
