"""The LLM trainer. This package keeps the loop and its settings: ``config`` (TrainConfig), ``trainer`` (the loop),
``run_writer`` (everything rank 0 writes into the output folder), ``dynamic_sampling`` (the filtered refill of an
update batch), ``rank_metrics`` (an iteration's metrics over every rank), ``lr_schedule``, ``warm_start`` (SFT on
expert episodes), ``train_process`` (the loop in a child process, for notebooks) and ``demo`` (the CPU recipe).
What the loop calls sits in four subpackages, below it:

- ``rollouts``: ``rollout``, G tasks x N episodes played in lock step into a step batch;
- ``learning``: the gradient step (``update``, ``policy_loss`` (PPO-clip + k3 KL), ``micro_batches``);
- ``checkpoints``: exact resume (``checkpoint``, ``state_files``, ``checkpoint_convert``);
- ``systems``: devices, processes, memory, random streams and model loading (``distributed``, ``sharding``,
  ``host_memory``, ``seeds``, ``models`` and ``tiny_model``).

The policy they share (step batch, prompts, scoring, backends) is ``gigpo.policy``; the run's files are
``gigpo.run_files``. Nothing is imported here, so ``import gigpo.training.config`` does not pull in transformers.
"""
