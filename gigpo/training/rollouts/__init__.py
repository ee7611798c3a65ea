"""Playing episodes with the policy, and choosing which groups to train on: ``rollout`` (G tasks x N rollouts in lock
step, one batched model call per turn, into a :class:`StepBatch`), ``prompts`` (the agent's prompt and the parsing of
its reply), ``policy_backends`` (the ``hf`` backend and the interface) and ``vllm_backend`` (a vLLM engine, imported
only on first use), ``sampling`` (keyed sampling, so a group's draws never depend on which groups share its batch),
``group_filter`` and ``dynamic_sampling`` (which groups carry a learning signal, and the generation batches played
until enough do). They sit together because they all run before the update, produce the step batch it consumes and
change no weights. Nothing is imported here, so importing one of them pulls in only what it needs.
"""
