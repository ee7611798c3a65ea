"""The policy as the trainer sees it, below rollouts and the update: ``step_batch`` (one row per env step),
``prompts`` (the agent's prompt and the parsing of its reply), ``encoding`` (text to token ids), ``scoring`` (token
log-probs of continuations within a token budget), ``sampling`` (keyed sampling), ``replies`` and the two rollout
backends, ``hf_backend`` and ``vllm_backend``. Nothing is imported here, so importing one module pulls in only what
it needs (``vllm`` only when an engine starts).
"""
