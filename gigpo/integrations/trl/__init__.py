"""GiGPO for TRL users (TRL >= 1.16, the ``trl`` extra): a ``GRPOTrainer`` with step-level credit.

- :class:`GiGPOConfig`: ``GRPOConfig`` plus ``gamma``, ``step_weight``, ``step_norm``, ``anchor_source``;
- :class:`GiGPOTrainer`: a ``GRPOTrainer`` subclass training each turn on ``A = A_E + w * A_S`` (paper Eq. 8);
- :func:`environment_factory` / :func:`task_dataset`: the package's envs (household, shop, sokoban, ...) as TRL
  environments with their anchor states, and a dataset of task seeds;
- :func:`tool_chat_model`: the package's ``tiny`` model with a chat template TRL can parse tool calls from.

See docs/trl.md.
"""
try:
    import trl  # noqa: F401
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError("gigpo.integrations.trl needs TRL 1.16: pip install 'gigpo[trl]'") from exc

from gigpo.integrations.trl.config import GiGPOConfig
from gigpo.integrations.trl.environments import TextEnvironment, environment_factory, task_dataset
from gigpo.integrations.trl.tool_model import tool_chat_model
from gigpo.integrations.trl.trainer import GiGPOTrainer

__all__ = ["GiGPOConfig", "GiGPOTrainer", "TextEnvironment", "environment_factory", "task_dataset", "tool_chat_model"]
