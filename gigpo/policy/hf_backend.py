"""The ``hf`` rollout backend (transformers ``generate`` on the trained model itself, CPU or GPU); ``vllm_backend``
is the other one, behind the same small interface.

A backend turns chat-formatted prompt strings into replies:

- ``generate(prompts, temperature=..., max_new_tokens=..., greedy=...)`` -> :class:`Generation` per prompt
  (free mode: the model writes ``<think>..</think><action>..</action>``);
- ``choose(prompts, candidates, temperature=..., greedy=...)`` -> :class:`Choice` per prompt (choice mode: the policy's
  distribution restricted to the admissible actions, each candidate scored by the log-probability of its tokens and
  renormalized over the candidates);
- ``sync(model, version)`` makes the next rollouts use the current policy weights; ``policy_version`` says which
  weights the backend holds. The trainer asserts it equals the iteration before every rollout, because a stale or
  base model rolling out silently is the classic bug of split trainer/inference stacks.

Choice mode scores candidates with :func:`~gigpo.policy.scoring.continuation_log_probs`, the function the update
scores them with, within the same token budget per forward pass.
"""
from __future__ import annotations

import contextlib

import torch

from gigpo.policy.encoding import encode_candidate, encode_prompt
from gigpo.policy.replies import Choice, Generation
from gigpo.policy.sampling import GumbelSampler, default_keys, sample_rows
from gigpo.policy.scoring import continuation_log_probs


@contextlib.contextmanager
def neutral_generation_config(model, **settings):
    """A ``GenerationConfig`` of ``settings`` and nothing else, installed as the model's own while ``generate`` runs.

    ``generate`` fills the fields a passed config leaves unset from ``model.generation_config`` (and transformers 4.x
    also overwrote fields left at their global default, so an explicit neutral value is no guard), and checkpoints
    ship settings there (``repetition_penalty``, ``suppress_tokens``, ``no_repeat_ngram_size``, ``min_new_tokens``,
    ``bad_words_ids``, ...) whose logits processors run even without ``do_sample``. Any of them would make the
    behaviour policy differ from ``softmax(logits / T)``, the policy whose log-probs enter the PPO ratio and the KL.
    Swapping the model's own config leaves ``generate`` nothing to fill in, on every transformers version.
    """
    from transformers import GenerationConfig

    target = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft reads the base model's
    config = GenerationConfig(do_sample=False, num_beams=1, **settings)
    saved = target.generation_config
    target.generation_config = config
    try:
        yield config
    finally:
        target.generation_config = saved


class HFBackend:
    """transformers ``generate`` on the very model object being trained, so the weights can never be stale."""

    def __init__(self, model, tokenizer, *, max_prompt_tokens: int = 2048, token_budget: int | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.max_prompt_tokens = max_prompt_tokens
        self.token_budget = token_budget  # token positions per scoring forward pass (choice mode); None: one pass
        self.policy_version = 0

    def sync(self, model, version: int) -> None:
        self.model, self.policy_version = model, version

    @property
    def device(self):
        return next(self.model.parameters()).device

    @torch.no_grad()
    def generate(self, prompts: list[str], *, temperature: float, max_new_tokens: int,
                 greedy: bool = False, sample_keys: list[int] | None = None) -> list[Generation]:
        """``sample_keys``: one random-stream key per prompt (``sampling.py``); None: one stream from the global RNG."""
        from transformers import LogitsProcessorList

        tok = self.tokenizer
        encoded = [encode_prompt(tok, p, self.max_prompt_tokens) for p in prompts]
        width = max(len(e) for e in encoded)
        ids = torch.full((len(encoded), width), tok.pad_token_id, dtype=torch.long)
        attn = torch.zeros_like(ids)
        for i, e in enumerate(encoded):
            ids[i, width - len(e):] = torch.tensor(e)
            attn[i, width - len(e):] = 1
        # Sampling is greedy decoding over Gumbel-perturbed scores (sampling.GumbelSampler): plain sampling from the
        # full distribution at `temperature` (no top-k/top-p, as the update's log-probs assume), from keyed streams.
        processors = LogitsProcessorList() if greedy else LogitsProcessorList(
            [GumbelSampler(sample_keys if sample_keys is not None else default_keys(len(prompts)), temperature)])
        was_training = self.model.training
        self.model.eval()
        with neutral_generation_config(self.model, max_new_tokens=max_new_tokens, eos_token_id=tok.eos_token_id,
                                       pad_token_id=tok.pad_token_id) as config:
            out = self.model.generate(input_ids=ids.to(self.device), attention_mask=attn.to(self.device),
                                      generation_config=config, logits_processor=processors).cpu()
        self.model.train(was_training)
        results = []
        for i, e in enumerate(encoded):
            response = out[i, width:].tolist()
            if tok.eos_token_id in response:  # keep the end-of-turn token: the policy must learn to stop
                response = response[:response.index(tok.eos_token_id) + 1]
            results.append(Generation(e, response, tok.decode(response, skip_special_tokens=True)))
        return results

    @torch.no_grad()
    def choose(self, prompts: list[str], candidates: list[list[str]], *, temperature: float,
               greedy: bool = False, sample_keys: list[int] | None = None) -> list[Choice]:
        """``sample_keys``: one random-stream key per prompt (``sampling.py``); None: one stream from the global RNG."""
        tok = self.tokenizer
        encoded = [encode_prompt(tok, p, self.max_prompt_tokens) for p in prompts]
        cand_ids = [[encode_candidate(tok, a) for a in cands] for cands in candidates]
        owner = [i for i, cands in enumerate(cand_ids) for _ in cands]
        was_training = self.model.training
        self.model.eval()
        logp, _, _ = continuation_log_probs(self.model, encoded, [c for cands in cand_ids for c in cands],
                                            owner=owner, pad_id=tok.pad_token_id,
                                            temperature=temperature if not greedy else 1.0,
                                            token_budget=self.token_budget)
        self.model.train(was_training)
        scores = logp.sum(-1).cpu().split([len(c) for c in cand_ids])
        probs = [torch.softmax(s.double(), dim=0) for s in scores]
        if greedy:
            chosen = [int(p.argmax()) for p in probs]
        else:
            chosen = sample_rows(probs, sample_keys if sample_keys is not None else default_keys(len(prompts)))
        return [Choice(e, cands, index, s.tolist()) for e, cands, index, s in zip(encoded, cand_ids, chosen, scores)]

