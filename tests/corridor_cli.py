"""``python tests/corridor_cli.py train ...``: gigpo's CLI with the tests' corridor env registered, for runs under
``torchrun`` that need an env a tiny untrained model sometimes solves (the built-in envs need a warm start)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import test_trainer  # noqa: E402,F401  (registers "corridor")
from gigpo.__main__ import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
