"""``GiGPOConfig``: TRL's ``GRPOConfig`` plus GiGPO's step-level settings."""
from __future__ import annotations

from dataclasses import dataclass, field

from trl import GRPOConfig

from gigpo.estimators.batch import NORMS

ANCHOR_SOURCES = ("auto", "environment", "observation")
# TRL's scale_rewards -> the estimators' norm of the episode level.
EPISODE_NORMS = {"group": "std", "none": "none"}


@dataclass
class GiGPOConfig(GRPOConfig):
    """Everything ``GRPOConfig`` holds, plus:

    The episode level (paper Eq. 3) follows TRL's own settings, so that ``step_weight=0`` trains exactly as
    ``GRPOTrainer``: ``scale_rewards="group"`` divides by the group's std (+ 1e-4, TRL's epsilon), ``"none"`` only
    centres; ``"batch"`` has no per-group counterpart and is refused.
    """

    gamma: float = field(default=0.95, metadata={"help": "Discount of the per-turn return R_t = r_t + gamma R_{t+1} "
                                                          "inside an episode (paper Eq. 6; paper: 0.95)."})
    step_weight: float = field(default=1.0, metadata={"help": "w in A = A_E + w A_S (paper Eq. 8); 0 is GRPO."})
    step_norm: str | None = field(default=None, metadata={
        "help": "Normalisation of the step level (Eq. 7): 'std' (divide by the step group's std + 1e-4) or 'none' "
                "(centre only); None uses the episode level's, i.e. TRL's scale_rewards."})
    anchor_source: str = field(default="auto", metadata={
        "help": "Where each turn's anchor state comes from: 'environment' (the environment's `anchor` attribute, "
                "required), 'observation' (the text the model read before the turn) or 'auto' (the attribute when "
                "the environment has one, else the text)."})

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if self.step_norm is not None and self.step_norm not in NORMS:
            raise ValueError(f"step_norm must be None or one of {NORMS}, got {self.step_norm!r}")
        if self.anchor_source not in ANCHOR_SOURCES:
            raise ValueError(f"anchor_source must be one of {ANCHOR_SOURCES}, got {self.anchor_source!r}")
        if self.scale_rewards not in EPISODE_NORMS:
            raise ValueError(f"GiGPO normalises per task group: scale_rewards must be one of {tuple(EPISODE_NORMS)}, "
                             f"got {self.scale_rewards!r}")
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError("GiGPO needs one reward per episode to spread over its turns: "
                             "multi_objective_aggregation must be 'sum_then_normalize'")

    @property
    def episode_norm(self) -> str:
        """The estimators' norm matching TRL's ``scale_rewards``."""
        return EPISODE_NORMS[self.scale_rewards]
