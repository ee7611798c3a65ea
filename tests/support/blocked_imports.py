"""Run Python code in a fresh interpreter where some top-level packages cannot be imported, as on an install without
them: a meta-path finder placed first refuses each name (and its submodules) with ``ModuleNotFoundError``."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_EXTRA = ("plotly", "matplotlib", "ipywidgets")

BLOCKER = """
import sys

class Blocked:
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {{fullname!r}} (blocked)", name=fullname)
        return None

sys.meta_path.insert(0, Blocked({names!r}))
"""


def run_without(packages, code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -c code`` from the repository root with ``packages`` unimportable; the completed process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    program = BLOCKER.format(names=tuple(packages)) + code
    return subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
