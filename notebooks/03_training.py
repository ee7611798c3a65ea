# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Training an agent with GiGPO
#
# One training run, end to end: every iteration plays G tasks x N rollouts with the current policy, computes
# the advantages (GiGPO: episode + step level; or GRPO / RLOO for comparison), and takes a PPO-clip step with a
# KL penalty to the reference policy (paper Sec. 4, Alg. 1). The trainer is `gigpo.training.trainer.train`; this notebook
# only sets its parameters, runs it, and plots `metrics.jsonl` while it runs and at the end.
#
# **Parameters.** The next cell is papermill's `parameters` cell: it holds every field of
# `gigpo.training.config.TrainConfig`, one for one (a test checks this), set to **the CPU recipe that learns**
# (`python -m gigpo demo`, `gigpo.training.demo.DEMO_RECIPE`, measured in `results/README.md`): household with 6
# receptacles and 4 objects, the whole 8-task pool x 8 rollouts every iteration (so the curve measures learning,
# not which tasks were drawn), the small `tiny-mini` model (built locally) warm-started on expert episodes of the
# pool tasks to a modest success, then GiGPO with an lr warmup, a cosine decay and PPO's target-KL stop. Success
# rises by ~0.3 in 20 iterations (first 3 iterations 0.21-0.31, last 3 0.52-0.65 on seeds 0-2), a few minutes on
# 2 CPU cores. Run with other parameters from a shell (outputs go to `runs/<name>/`: the executed notebook,
# `metrics.jsonl`, `config.json`, the figures):
#
# ```
# python -m gigpo run-notebook notebooks/03_training.ipynb --name household-grpo -p estimator grpo
# ```
#
# **The paper's setting (GPU).** Qwen2.5-1.5B-Instruct, free-form `<think>..</think><action>..</action>`
# replies generated with vLLM, 16 tasks x 8 rollouts, gamma 0.95, step weight 1, lr 1e-6, KL 0.01, 50 steps
# (ALFWorld; 15 for WebShop), 150 iterations, evaluation every 5 (`TrainConfig.paper("household")` in Python).
# The authors fine-tune all weights; LoRA (rank 16-64, a larger lr such as 1e-5) fits a smaller GPU. Needs
# `pip install -e ".[gpu]"`:
#
# ```
# python -m gigpo run-notebook notebooks/03_training.ipynb --name household-gigpo-qwen1.5b \
#     -p env household -p model Qwen/Qwen2.5-1.5B-Instruct -p device cuda -p dtype bfloat16 \
#     -p backend vllm -p action_mode free -p finetune lora -p lora_rank 32 -p lr 1e-5 \
#     -p num_groups 16 -p group_size 8 -p max_steps 50 -p history_length 2 -p max_new_tokens 512 \
#     -p kl_coef 0.01 -p entropy_coef 0.001 -p iterations 150 -p eval_every 5 -p eval_tasks 64 \
#     -p micro_batch_size 8 -p progress false
# ```
# (`-p finetune full -p lr 1e-6` is the paper exactly.)

# %% tags=["parameters"]
# papermill parameters: TrainConfig's fields, one for one (gigpo/training/config.py has the full documentation)

# environment
env = 'household'  # Environment name for ``envs.make`` (built-in or registered with ``envs.register``).
env_options = {'num_receptacles': 6, 'num_objects': 4}  # Keyword options for ``envs.make(env, **env_options)``.
max_steps = 10  # Cap on steps per episode (paper: 50 for ALFWorld, 15 for WebShop); the env's own limit applies too.
task_pool = 8  # Draw training tasks from seeds ``0..task_pool-1`` (a small pool is easier to learn); None: any s...

# model
model = 'tiny-mini'  # ``tiny`` (random Qwen2, built locally), ``smollm2-135m`` (offline instruct model), a local path or...
device = 'auto'  # ``auto`` (cuda if available, else cpu), ``cpu`` or ``cuda``.
dtype = 'float32'  # Training dtype: ``float32`` (CPU, exact resume) or ``bfloat16``/``float16`` on GPU.
finetune = 'full'  # ``lora`` (peft adapter; the reference policy is the base with the adapter disabled) or ``full``.
lora_rank = 16  # LoRA rank r.
lora_alpha = 32.0  # LoRA scaling alpha (the update is scaled by alpha / r).
lora_dropout = 0.0  # Dropout on the LoRA input; 0 keeps log-probs of the rollout and the update identical.
lora_target_modules = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']

# rollouts
backend = 'hf'  # ``hf`` (transformers generate, CPU or GPU) or ``vllm`` (GPU, ``pip install gigpo[gpu]``, free mode).
action_mode = 'choice'  # ``free``: generate ``<think>..</think><action>..</action>`` and parse (the paper); ``choic...
num_groups = 8  # G, tasks per iteration (paper: 16).
group_size = 8  # N, rollouts per task, the group of GRPO/GiGPO (paper: 8).
history_length = 0  # Past (observation, action) turns shown in the prompt (paper: 2).
max_prompt_tokens = 2048  # Prompts longer than this keep their last tokens (paper: 2048).
max_new_tokens = 64  # Response budget per step in free mode (paper: 512).
temperature = 1.0  # Sampling temperature of training rollouts (paper: 1.0); the update scores tokens at the same te...
invalid_penalty = 0.1  # Subtracted from the reward of a step whose reply is not a well-formed admissible action (pa...

# advantages
estimator = 'gigpo'  # Any registered estimator (``gigpo.estimator_names()``): ``gigpo`` (episode + anchor-state ste...
gamma = 0.95  # Discount for GiGPO's step-level returns (paper: 0.95).
step_weight = 1.0  # omega, weight of the step-level advantage A_S (paper: 1.0).
norm = 'std'  # Advantage normalization: ``std`` (GRPO/GiGPO) or ``none`` (mean-only, the paper's 'w/o std' variant).
similarity = None  # None: exact anchor-state groups; a threshold in (0, 1] groups similar states (paper's similarit...
episode_stats = 'trajectory'  # ``trajectory`` (paper Eq. 3) or ``step`` (verl-agent: statistics over every step row).
estimator_options = {}  # Further keyword options of the chosen estimator beyond the shared ones above (JSON on the...

# update
lr = 0.0003  # AdamW learning rate (paper, full FT of 1.5B: 1e-6; LoRA on the tiny model needs far more).
weight_decay = 0.01  # AdamW weight decay (paper: 0.01).
max_grad_norm = 1.0  # Gradient clipping by global norm (paper: 1.0).
ppo_epochs = 1  # Passes over each iteration's batch (paper: 1).
minibatch_size = 64  # Steps per optimizer step; None: the whole batch in one step.
micro_batch_size = 64  # Steps per forward/backward pass (gradient accumulation inside a minibatch; memory only, sam...
scoring_token_budget = 2560  # Most token positions (rows x padded length) in one forward pass that scores prompts an...
activation_checkpointing = False  # Recompute activations in backward (per layer, and per forward pass when a call needs sev...
host_mmap_threshold = 0  # Bytes: CPU allocations at least this large are mmapped and go back to the OS when freed (glibc...
fsdp = False  # Under a launcher with several processes: shard the weights, gradients and optimizer state over th...
clip_ratio = 0.2  # PPO clip epsilon (paper: 0.2); the shorthand for ``clip_ratio_low = clip_ratio_high``.
clip_ratio_low = None  # Clip-higher's lower side: a unit with A < 0 stops gaining past ratio 1 - clip_ratio_low (N...
clip_ratio_high = None  # Clip-higher's upper side: a unit with A > 0 stops gaining past ratio 1 + clip_ratio_high (...
loss_agg_mode = 'token-mean'  # How each loss term is aggregated over a minibatch, verl's names: ``token-mean`` (pap...
kl_coef = 0.0  # beta, weight of the k3 KL to the reference policy (paper: 0.01); 0 skips the reference pass.
entropy_coef = 0.0  # Entropy bonus weight (paper: 0.001).
target_kl = 0.1  # PPO's early stop: before each optimizer step, if the minibatch's approx KL(pi_old || pi_theta) ex...
lr_schedule = 'cosine'  # Learning rate per iteration after the warmup: ``constant`` (paper), ``linear`` or ``cosin...
warmup_iterations = 2  # Iterations of linear lr warmup, lr x (i+1)/(W+1): keeps Adam's first, full-size steps small ...

# warm start
warm_start_steps = 90  # Supervised steps on expert trajectories before RL (0: none); a tiny model then starts with s...
warm_start_episodes = 64  # Expert episodes collected for the warm start.
warm_start_lr = 0.001  # Learning rate of the warm start (full-parameter, before LoRA is added).
warm_start_batch = 16  # Examples per warm-start step.

# run
iterations = 20  # Training iterations (rollout + update); paper: 150.
seed = 0  # Seeds torch, numpy and random; same seed on CPU gives identical metrics.
output_dir = 'runs/gigpo'  # Where metrics.jsonl, config.json, checkpoints/ and final/ go.
eval_every = 0  # Evaluate on held-out task seeds every k iterations and after the last (0: never; paper: 5).
eval_tasks = 8  # Held-out tasks per evaluation.
eval_temperature = 0.4  # Temperature of the sampled evaluation (paper: 0.4); a greedy evaluation runs too.
eval_seed_offset = 1000000  # Held-out task seeds are ``eval_seed_offset + 0..eval_tasks-1``; training seeds stay be...
checkpoint_every = 0  # Save a checkpoint every k iterations (and after the last); 0: only after the last.
keep_checkpoints = 2  # How many recent checkpoints to keep on disk.
progress = True  # Show a tqdm progress bar.

# %%
from IPython.display import display

from gigpo.notebook import plots
from gigpo.training.config import TrainConfig
from gigpo.notebook.metrics_io import final_value, read_metrics
from gigpo.training.train_process import training_command
from gigpo.notebook.widgets import LiveCurves

# the parameters above (and any papermill injected after them) become the run's config
config = TrainConfig.from_dict({name: globals()[name] for name in TrainConfig.field_names()})
print(f"{config.estimator} on {config.env}: {config.iterations} iterations of {config.num_groups} tasks x "
      f"{config.group_size} rollouts, model {config.model!r} ({config.finetune}), output in {config.output_dir}")

# %% [markdown]
# ## Train, with live curves
#
# Training (`gigpo.training.trainer.train`) runs in a child process (`gigpo.training.train_process`), its progress going to
# `train.log` in `output_dir`; the curves below redraw after every iteration, read back from `metrics.jsonl`.
# Re-running this cell starts the run over. An environment you registered in this notebook with
# `envs.register` is not known to the child: put the registration in a module and pass it with
# `training_command(config, setup_modules=["my_envs"])`.

# %%
curve_keys = ['success_rate', 'mean_return', 'invalid_rate', 'entropy', 'kl', 'adv_episode_abs', 'adv_step_abs', 'step_group_size_per_group', 'step_group_share_grouped']
live = LiveCurves(config.output_dir, curve_keys, title=f"{config.estimator} on {config.env}")
display(live.widget)
history = live.follow_process(training_command(config))

# %% [markdown]
# ## Final curves
#
# **success_rate** and **mean_return** are over the training rollouts of each iteration; **invalid_rate** is the
# share of steps whose reply was not an admissible action; **kl** and **entropy** describe the policy update;
# **adv_episode_abs** / **adv_step_abs** are the mean |A_E| and |A_S| of the batch, and the step-group statistics
# say how often rollouts shared a state (computed for every estimator so runs can be compared). Evaluation on
# held-out tasks (greedy and sampled) appears every `eval_every` iterations.

# %%
metrics = read_metrics(config.output_dir)
figures = {"learning_curves": plots.learning_curves(
    metrics, curve_keys, title=f"{config.estimator} on {config.env}: training metrics per iteration")}
eval_keys = [k for k in ("eval_greedy_success_rate", "eval_sampled_success_rate") if final_value(metrics, k) is not None]
if eval_keys:
    figures["eval_curves"] = plots.learning_curves(metrics, eval_keys, cols=2,
                                                   title=f"{config.estimator} on {config.env}: held-out tasks")
for fig in figures.values():
    fig.show()

# %%
summary = {k: final_value(metrics, k) for k in ["success_rate", "mean_return", "invalid_rate", *eval_keys]}
print(f"{len(metrics)} iterations logged; last:", {k: round(v, 3) for k, v in summary.items() if v is not None})
saved = plots.save_figures(figures, config.output_dir)
print("figures:", [str(p) for p in saved])
assert len(metrics) == config.iterations, "every iteration must log one metrics row"
