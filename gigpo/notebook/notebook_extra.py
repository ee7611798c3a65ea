"""The ``notebook`` extra: plotly, matplotlib and ipywidgets draw the figures and explorers and are left out of the
core install, so the modules that need them check for them first and name the extra to install."""
import importlib.util

INSTALL = 'pip install "gigpo[notebook]"'


def require_notebook_extra(what: str, packages: tuple[str, ...]) -> None:
    """Raise ``ImportError`` naming the extra when one of ``packages`` cannot be imported by ``what``."""
    missing = []
    for name in packages:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise ImportError(f"{what} needs {', '.join(missing)}, which the core install leaves out: {INSTALL}")
