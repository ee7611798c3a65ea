"""``python tests/support/corridor_cli.py train ...``: gigpo's CLI with the tests' corridor env registered, for runs
under ``torchrun`` that need an env a tiny untrained model sometimes solves (the built-in envs need a warm start)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, so ``tests.support`` imports
from gigpo.__main__ import main  # noqa: E402
from tests.support import corridor  # noqa: E402,F401  (registers "corridor")

if __name__ == "__main__":
    raise SystemExit(main())
