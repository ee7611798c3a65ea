"""The LLM trainer. This package keeps the loop and its settings: ``config`` (TrainConfig), ``trainer`` (the loop),
``train_process`` (the loop in a child process, for notebooks), ``lr_schedule``, ``seeds`` (keyed random streams),
``rank_metrics`` (an iteration's metrics over every rank), ``warm_start`` (SFT on expert episodes), ``expert_path``
(diagnostics), ``demo``. What the loop calls sits in four subpackages, split by what their modules serve:

- ``rollouts``: playing episodes with the policy (``rollout``, G x N episodes; ``prompts``; ``sampling``;
  ``policy_backends``, hf, and ``vllm_backend``) and choosing which groups to train on (``group_filter``,
  ``dynamic_sampling``);
- ``learning``: the gradient step (``update``, ``policy_loss`` (PPO-clip + k3 KL), ``micro_batches``, ``scoring``);
- ``checkpoints``: exact resume (``checkpoint``, ``state_files``, ``durable_files``, ``checkpoint_convert``);
- ``systems``: devices, processes, memory and model loading (``distributed``, ``sharding``, ``host_memory``,
  ``models`` and ``tiny_model``, loading and locally built presets).

Nothing is imported here or in the subpackages' ``__init__``, so ``import gigpo.training.config`` does not pull in
transformers.
"""
