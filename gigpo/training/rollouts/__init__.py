"""Playing episodes with the policy: ``rollout`` (G tasks x N rollouts in lock step, one batched model call per
turn, into a :class:`~gigpo.policy.step_batch.StepBatch`). The backends, prompts and keyed sampling it uses are in
``gigpo.policy``. Nothing is imported here.
"""
