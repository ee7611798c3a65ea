"""The LLM trainer: ``config`` (TrainConfig), ``trainer`` (the loop), ``rollout`` (G x N episodes), ``prompts``,
``policy_backends`` (hf, vllm), ``policy_loss`` (PPO-clip + k3 KL), ``models`` and ``tiny_model`` (loading and
locally built presets), ``warm_start`` (SFT on expert episodes), ``checkpoint`` (exact resume), ``demo``.

Nothing is imported here, so ``import gigpo.training.config`` does not pull in transformers.
"""
