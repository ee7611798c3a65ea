"""``LabConfig``: every setting of a credit-lab comparison, shared by the Python API, ``python -m gigpo lab`` and
notebook 05's papermill parameters (field for field). Each field's docstring sits right under it.

The defaults are the issue's headline setting at notebook scale: household with 6 receptacles and 4 objects, a
16-task pool, G = N = 8, an expert prior tuned to 0.25 initial success, GiGPO vs GRPO on 3 paired seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gigpo.estimators.group_filter import FILTER_GROUPS
from gigpo.job_config import JobConfig

NORMS = ("std", "none")
EPISODE_STATS = ("trajectory", "step")
LR_GRID = [0.03, 0.1, 0.3, 1.0, 3.0]
# env_options=None means these (a small household keeps the from-a-prior comparison to a minute of CPU)
LAB_ENV_DEFAULTS: dict[str, dict[str, Any]] = {"household": {"num_receptacles": 6, "num_objects": 4}}


@dataclass
class LabConfig(JobConfig):
    # --- environment -------------------------------------------------------------------------------------------
    env: str = "household"
    """Environment name for ``envs.make`` (any registered env whose ``info`` follows the contract)."""
    env_options: dict[str, Any] | None = None
    """Keyword options for ``envs.make(env, **env_options)`` (JSON on the command line); None: the lab's default
    for the env (household: 6 receptacles and 4 objects, the issue's setting; any other env: its own defaults)."""
    max_steps: int | None = None
    """Extra cap on steps per episode; None: the env's own limit (household 50, shop 15, sokoban 30)."""
    task_pool: int = 16
    """Tasks are the env seeds ``0..task_pool-1``; each iteration draws ``num_groups`` of them."""

    # --- rollouts ------------------------------------------------------------------------------------------------
    num_groups: int = 8
    """G, tasks per iteration (drawn without replacement from the pool when G <= task_pool)."""
    group_size: int = 8
    """N, rollouts per task: the group of GRPO/GiGPO."""
    filter_groups: str = "none"
    """Dynamic sampling, as ``TrainConfig.filter_groups``: ``none``; ``outcome`` (DAPO) drops groups whose episode
    returns are all equal, ``advantage`` groups whose every row has A = 0 under the estimator; new groups are played
    until ``num_groups`` pass (``episodes_generated`` in lab.jsonl counts them all)."""
    max_gen_batches: int = 10
    """Cap on generation batches per iteration under ``filter_groups``; at the cap the last batch fills the update
    batch unfiltered (``filter_capped``)."""

    # --- estimators ----------------------------------------------------------------------------------------------
    estimators: list[str] = field(default_factory=lambda: ["gigpo", "grpo"])
    """Registered estimators to compare (``gigpo.estimator_names()``); the first is the reference of the paired
    differences and ratios in ``summary.json``."""
    gamma: float = 0.95
    """Discount of step-level returns, for estimators that take ``gamma``."""
    step_weight: float = 1.0
    """omega, weight of A_S, for estimators that take ``step_weight``."""
    norm: str = "std"
    """``std`` or ``none`` (mean only), for estimators that take ``norm``."""
    similarity: float | None = None
    """None: exact anchor groups; a threshold in (0, 1] for estimators that take ``similarity``."""
    episode_stats: str = "trajectory"
    """``trajectory`` (paper Eq. 3) or ``step``, for estimators that take ``episode_stats``."""
    estimator_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per-estimator extra options, ``{"name": {"option": value}}``; they override the shared fields above."""

    # --- policy and update ---------------------------------------------------------------------------------------
    prior_success: float | None = 0.25
    """Target initial success in (0, 1): the expert logit bonus is calibrated to reach it (needs ``expert_action``).
    None: no calibration (see ``prior_beta``)."""
    prior_beta: float | None = None
    """Logit bonus on the expert action in every new state (the prior itself); None with ``prior_success`` None:
    from scratch (uniform over admissible actions)."""
    calibration_rollouts: int = 16
    """Rollouts per pool task for each probe of the prior calibration (more: a tighter calibration, slower)."""
    lr: float | str = 0.3
    """Policy-gradient step size on the logits, or ``auto``: tuned per estimator over ``lr_grid`` on ``tune_seed``."""
    lr_grid: list[float] = field(default_factory=lambda: list(LR_GRID))
    """Step sizes tried by ``lr="auto"``."""
    tune_seed: int = 1000
    """Seed of the tuning runs of ``lr="auto"``; keep it out of ``seeds`` so tuning and evaluation are separate."""
    iterations: int = 60
    """Training iterations per (estimator, seed) run."""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Paired seeds: every estimator sees the same task draws and the same uniforms for a given seed."""

    # --- summary and output --------------------------------------------------------------------------------------
    thresholds: list[float] = field(default_factory=lambda: [0.5, 0.8, 0.9])
    """Success levels for iterations-to-threshold in ``summary.json``."""
    window: int = 5
    """A threshold counts as reached at the first iteration whose trailing ``window``-iteration mean reaches it."""
    output_dir: str | None = "runs/lab"
    """Where ``lab.jsonl``, ``summary.json`` and ``config.json`` go; None: keep results in memory only."""
    progress: bool = False
    """Print one line per finished run."""
    save_rollouts: bool = False
    """Write every iteration's update batch as a rollout table, ``rollouts/<estimator>_seed<seed>/iter_NNNN.jsonl``
    in ``output_dir``, for ``python -m gigpo inspect`` (docs/inspect.md). Needs ``output_dir``."""
    report_to: list[str] = field(default_factory=list)
    """Experiment trackers that show the lab beside ``lab.jsonl`` (the source of truth): any of ``tensorboard``,
    ``mlflow``, ``trackio``, ``wandb`` (each an extra: ``pip install 'gigpo[mlflow]'``); [] or ``["none"]``: none.
    One tracker run per lab, each row's numbers as ``<key>/<estimator>/seed<seed>`` at its iteration, the config as
    parameters, the success curves as an artifact (docs/metrics.md). Needs ``output_dir``."""
    run_name: str | None = None
    """The lab's name in the trackers; None: the output folder's name."""
    project: str = "gigpo-lab"
    """The trackers' project (MLflow: experiment) the lab is filed under."""

    # -------------------------------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "LabConfig":
        """Raise ``ValueError`` naming the problem on an unknown or contradictory setting."""
        from gigpo.estimators.registry import get_estimator

        def integer(name: str, low: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an int >= {low}, got {v!r}")

        for name in ("task_pool", "num_groups", "group_size", "iterations", "calibration_rollouts", "window",
                     "max_gen_batches"):
            integer(name, 1)
        integer("tune_seed", 0)
        if self.max_steps is not None:
            integer("max_steps", 1)
        if not isinstance(self.env, str) or not self.env:
            raise ValueError(f"env must be an environment name, got {self.env!r}")
        if self.env_options is not None and not isinstance(self.env_options, dict):
            raise ValueError(f"env_options must be a dict or None, got {type(self.env_options).__name__}")
        if self.filter_groups not in FILTER_GROUPS:
            raise ValueError(f"filter_groups must be one of {FILTER_GROUPS}, got {self.filter_groups!r}")
        if not self.estimators or len(set(self.estimators)) != len(self.estimators):
            raise ValueError(f"estimators must be a non-empty list of distinct names, got {self.estimators!r}")
        for name in self.estimators:
            get_estimator(name)  # raises ValueError naming the registered ones
        if not self.seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds) \
                or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be a non-empty list of distinct ints >= 0, got {self.seeds!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if not math.isfinite(self.step_weight):
            raise ValueError(f"step_weight must be finite, got {self.step_weight!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.episode_stats not in EPISODE_STATS:
            raise ValueError(f"episode_stats must be one of {EPISODE_STATS}, got {self.episode_stats!r}")
        if self.similarity is not None and not 0.0 < self.similarity <= 1.0:
            raise ValueError(f"similarity must be None or in (0, 1], got {self.similarity!r}")
        if not isinstance(self.estimator_options, dict):
            raise ValueError(f"estimator_options must be a dict of dicts, got {type(self.estimator_options).__name__}")
        for name, opts in self.estimator_options.items():
            if name not in self.estimators:
                raise ValueError(f"estimator_options names {name!r}, which is not in estimators {self.estimators}")
            accepted = get_estimator(name).options
            unknown = sorted(set(opts) - set(accepted)) if isinstance(opts, dict) else None
            if unknown is None or unknown:
                raise ValueError(f"estimator_options[{name!r}] must be a dict of its options {list(accepted)}, "
                                 f"got {opts!r}")
        if self.prior_success is not None and self.prior_beta is not None:
            raise ValueError("give prior_success (calibrated) or prior_beta (fixed), not both")
        if self.prior_success is not None and not (isinstance(self.prior_success, (int, float))
                                                   and 0.0 < self.prior_success < 1.0):
            raise ValueError(f"prior_success must be in (0, 1) (exclusive), got {self.prior_success!r}")
        if self.prior_beta is not None and not (isinstance(self.prior_beta, (int, float))
                                                and math.isfinite(self.prior_beta)):
            raise ValueError(f"prior_beta must be a finite number, got {self.prior_beta!r}")
        if isinstance(self.lr, str):
            if self.lr != "auto":
                raise ValueError(f"lr must be a positive number or 'auto', got {self.lr!r}")
        elif isinstance(self.lr, bool) or not (isinstance(self.lr, (int, float)) and 0 < self.lr < math.inf):
            raise ValueError(f"lr must be a positive number or 'auto', got {self.lr!r}")
        if not self.lr_grid or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < math.inf
                                   for x in self.lr_grid):
            raise ValueError(f"lr_grid must be a non-empty list of positive numbers, got {self.lr_grid!r}")
        if self.lr == "auto" and self.tune_seed in self.seeds:
            raise ValueError(f"tune_seed {self.tune_seed} is also an evaluation seed; tune on a separate seed")
        if not self.thresholds or any(not 0.0 < t <= 1.0 for t in self.thresholds):
            raise ValueError(f"thresholds must be a non-empty list in (0, 1], got {self.thresholds!r}")
        from gigpo.tracking.factory import check_report_to  # no backend imported: names and installed extras only

        if check_report_to(self.report_to) and self.output_dir is None:
            raise ValueError(f"report_to={self.report_to} needs an output_dir (the trackers' files and run ids go "
                             "there); output_dir is None")
        if self.save_rollouts and self.output_dir is None:
            raise ValueError("save_rollouts=True needs an output_dir (the tables go to <output_dir>/rollouts/)")
        if self.run_name is not None and not (isinstance(self.run_name, str) and self.run_name):
            raise ValueError(f"run_name must be a non-empty string or None, got {self.run_name!r}")
        if not (isinstance(self.project, str) and self.project):
            raise ValueError(f"project must be a non-empty string, got {self.project!r}")
        return self

    def resolved_env_options(self) -> dict[str, Any]:
        """``env_options``, or the lab's default for ``env`` when it is None."""
        if self.env_options is not None:
            return dict(self.env_options)
        return dict(LAB_ENV_DEFAULTS.get(self.env, {}))

    def estimator_kwargs(self, name: str) -> dict[str, Any]:
        """Options for estimator ``name``: the shared fields it accepts, then its own ``estimator_options``."""
        from gigpo.estimators.registry import applicable_options

        shared = dict(gamma=self.gamma, step_weight=self.step_weight, norm=self.norm, similarity=self.similarity,
                      episode_stats=self.episode_stats)
        if self.similarity is None:
            shared.pop("similarity")  # estimators without a similarity mode must still accept the default
        return {**applicable_options(name, shared), **self.estimator_options.get(name, {})}

