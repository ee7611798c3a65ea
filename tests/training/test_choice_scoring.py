"""Packed continuation scoring (gigpo/policy/scoring.py) against an independent plain forward pass.

The oracle scores each (prompt, continuation) pair alone: one unpadded sequence ``prompt + continuation``, no cache,
no custom mask, default positions, ``log_softmax(logits / T)`` at the positions that predict the continuation.
The packed scorer must give the same per-token log-probs, entropies and gradients, whatever the padding (prompts of
different lengths), the number of continuations per prompt, the temperature and the token budget.
"""
import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

from gigpo.policy.scoring import continuation_log_probs, pack_pass, plan_passes
from gigpo.training.config import TrainConfig

PAD = 0
T = 0.7
PROMPT_LENS = (3, 9, 17)
CONT_LENS = ((1, 4, 2), (5,), (3, 1, 6, 2))  # several continuations per prompt, of different lengths


def small_model(kind: str, attn: str):
    """A randomly initialised Qwen2 (the tiny preset's architecture) or Llama (SmolLM2's) with few weights."""
    torch.manual_seed(0)
    sizes = dict(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=128, initializer_range=0.1)
    config = Qwen2Config(**sizes) if kind == "qwen2" else LlamaConfig(**sizes)
    return AutoModelForCausalLM.from_config(config, attn_implementation=attn).eval()


def example():
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(1, 97, (n,), generator=g).tolist() for n in PROMPT_LENS]
    conts = [torch.randint(1, 97, (n,), generator=g).tolist() for lens in CONT_LENS for n in lens]
    owner = [i for i, lens in enumerate(CONT_LENS) for _ in lens]
    return prompts, conts, owner


def plain_forward(model, prompt, cont):
    """Oracle: per-token log-probs and entropies of ``cont`` after ``prompt``, one unpadded pass, nothing shared."""
    logits = model(input_ids=torch.tensor([prompt + cont])).logits[0, len(prompt) - 1:-1].float() / T
    logp = torch.log_softmax(logits, -1)
    return logp.gather(-1, torch.tensor(cont)[:, None])[:, 0], -(logp.exp() * logp).sum(-1)


BUDGETS = [None, 64, 25, 23]  # one pass; a few passes; prompts split over rows; the smallest that fits (17 + 6)


@pytest.mark.parametrize("kind,attn", [("qwen2", "sdpa"), ("qwen2", "eager"), ("llama", "sdpa")])
@pytest.mark.parametrize("budget", BUDGETS)
def test_scores_equal_an_independent_plain_forward(kind, attn, budget):
    model = small_model(kind, attn)
    prompts, conts, owner = example()
    with torch.no_grad():
        logp, mask, ent = continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, temperature=T,
                                                 entropy="detached", token_budget=budget)
        assert logp.shape == mask.shape == ent.shape == (len(conts), max(map(len, conts)))
        for s, (c, i) in enumerate(zip(conts, owner)):
            want_lp, want_ent = plain_forward(model, prompts[i], c)
            assert mask[s].tolist() == [1.0] * len(c) + [0.0] * (mask.shape[1] - len(c))
            torch.testing.assert_close(logp[s, :len(c)], want_lp, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(ent[s, :len(c)], want_ent, rtol=1e-5, atol=1e-5)
            assert not logp[s, len(c):].any() and not ent[s, len(c):].any()


@pytest.mark.parametrize("recompute", [True, False])
@pytest.mark.parametrize("budget", [None, 25])  # 25: several passes, each activation-checkpointed
def test_gradients_equal_those_of_the_plain_forward(budget, recompute):
    prompts, conts, owner = example()
    g = torch.Generator().manual_seed(2)
    weights = torch.randn(len(conts), max(map(len, conts)), generator=g)

    def grads(loss_fn):
        model = small_model("qwen2", "sdpa").train()
        loss_fn(model).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    def packed(model):
        logp, mask, ent = continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, temperature=T,
                                                 entropy="grad", token_budget=budget, recompute=recompute)
        return (weights * (logp + 0.3 * ent) * mask).sum()

    def plain(model):
        total = 0.0
        for s, (c, i) in enumerate(zip(conts, owner)):
            lp, en = plain_forward(model, prompts[i], c)
            total = total + (weights[s, :len(c)] * (lp + 0.3 * en)).sum()
        return total

    got, want = grads(packed), grads(plain)
    assert got.keys() == want.keys() and len(got) > 10
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-6, msg=name)


def test_one_forward_pass_computes_each_prompt_once_within_the_budget():
    model = small_model("llama", "sdpa")
    prompts, conts, owner = example()
    shapes = []
    model.register_forward_pre_hook(lambda m, args, kwargs: shapes.append(tuple(kwargs["input_ids"].shape)),
                                    with_kwargs=True)
    with torch.no_grad():
        continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD)
        # one row per prompt: the longest prompt (17) + the longest block of continuations (3 + 1 + 6 + 2 = 12)
        assert shapes == [(3, 17 + 12)]
        shapes.clear()
        continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, token_budget=25)
        assert all(rows * width <= 25 for rows, width in shapes) and len(shapes) > 1


def test_plan_by_hand():
    # prompts of 5 and 3 tokens; continuations 0-2 (2 tokens each) follow prompt 0, continuation 3 (1 token) prompt 1
    lens, cont_lens, owner = [5, 3], [2, 2, 2, 1], [0, 0, 0, 1]
    # budget 9: prompt 0 + conts 0,1 = 9 fill a row; cont 2 starts a second row (5 + 2); prompt 1 + cont 3 a third;
    # no two rows fit one pass (2 x (5 + 4) = 18, 2 x (5 + 2) = 14 > 9)
    plans = plan_passes(lens, cont_lens, owner, 9)
    assert [(p.row_prompt, p.conts, p.cont_offset, p.prompt_width, p.block_width) for p in plans] == [
        ([0], [0, 1], [0, 2], 5, 4), ([0], [2], [0], 5, 2), ([1], [3], [0], 3, 1)]
    # budget 20: each prompt takes one row (11 and 4 tokens) but both rows need 2 x (5 + 6) = 22 > 20
    plans = plan_passes(lens, cont_lens, owner, 20)
    assert [(p.row_prompt, p.conts, p.tokens) for p in plans] == [([0], [0, 1, 2], 11), ([1], [3], 4)]
    # budget 22 (or none): one pass of two rows, prompt 1 left-padded to 5, its block right-padded to 6
    for budget in (22, None):
        (plan,) = plan_passes(lens, cont_lens, owner, budget)
        assert (plan.row_prompt, plan.cont_row, plan.cont_offset, plan.tokens) == (
            [0, 1], [0, 0, 0, 1], [0, 2, 4, 0], 22)


def test_packed_layout_by_hand():
    # one prompt [11, 12] and two continuations [21] and [22, 23] after it
    (plan,) = plan_passes([2], [1, 2], [0, 0], None)
    packed = pack_pass(plan, [[11, 12]], [[21], [22, 23]], pad_id=PAD)
    assert packed.input_ids.tolist() == [[11, 12, 21, 22, 23]]
    assert packed.position_ids.tolist() == [[0, 1, 2, 2, 3]]  # each continuation restarts after the prompt
    assert packed.attention_mask.tolist() == [[[  # query row x key column: the prompt, then the own continuation
        [True, False, False, False, False],
        [True, True, False, False, False],
        [True, True, True, False, False],
        [True, True, False, True, False],
        [True, True, False, True, True]]]]
    # kept logits start at the last prompt token: [12, 21, 22, 23]; token 0 of every continuation is predicted by 12
    assert packed.keep == 4
    assert packed.tok_logit.tolist() == [0, 0, 2] and packed.tok_id.tolist() == [21, 22, 23]
    eager = pack_pass(plan, [[11, 12]], [[21], [22, 23]], pad_id=PAD, additive_mask_dtype=torch.float32)
    assert torch.equal(eager.attention_mask == 0, packed.attention_mask)


def test_padding_attends_only_to_itself():
    # prompt lengths 1 and 3: the first row is left-padded by 2; its block (1 token) right-padded to 2
    (plan,) = plan_passes([1, 3], [1, 2], [0, 1], None)
    packed = pack_pass(plan, [[5], [6, 7, 8]], [[9], [10, 11]], pad_id=PAD)
    assert packed.input_ids.tolist() == [[PAD, PAD, 5, 9, PAD], [6, 7, 8, 10, 11]]
    mask = packed.attention_mask[0, 0]
    for pad in (0, 1, 4):
        assert mask[pad].nonzero().flatten().tolist() == [pad]  # no empty softmax row
        assert mask[:, pad].nonzero().flatten().tolist() == [pad]  # and no real token reads it
    assert packed.position_ids[0, 2:4].tolist() == [0, 1]


def test_a_prompt_that_cannot_fit_is_a_clear_error():
    model = small_model("qwen2", "sdpa")
    prompts, conts, owner = example()
    with pytest.raises(ValueError, match=r"budget 20 is too small: prompt 2 has 17 tokens and continuation 6 has 6"):
        continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, token_budget=20)
    with pytest.raises(ValueError, match="token_budget must be a positive int"):
        continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, token_budget=0)
    with pytest.raises(ValueError, match="attn_implementation 'flex_attention'"):
        model.config._attn_implementation = "flex_attention"
        continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD)


def test_config_budget_must_hold_a_prompt_and_a_continuation():
    assert TrainConfig().scoring_token_budget >= TrainConfig().max_prompt_tokens + 1
    with pytest.raises(ValueError, match="scoring_token_budget must be >= max_prompt_tokens \\+ 1 = 513"):
        TrainConfig(max_prompt_tokens=512, scoring_token_budget=512)
    with pytest.raises(ValueError, match="max_prompt_tokens \\+ max_new_tokens = 576"):
        TrainConfig(action_mode="free", max_prompt_tokens=512, max_new_tokens=64, scoring_token_budget=575)
    TrainConfig(action_mode="free", max_prompt_tokens=512, max_new_tokens=64, scoring_token_budget=576)
    with pytest.raises(ValueError, match="scoring_token_budget must be an int"):
        TrainConfig(scoring_token_budget=4096.0)


def test_under_grad_layers_and_passes_are_recomputed_and_the_switch_is_restored():
    """The update's memory bound: with gradients into a training model each decoder layer keeps only its input and is
    recomputed in backward (the MLP of layer 0 runs twice); with several passes each pass is recomputed as a whole
    too (three times: forward, pass recompute, layer recompute). Without gradients it runs once."""
    model = small_model("qwen2", "sdpa").train()
    calls, mlp = [], model.model.layers[0].mlp
    forward = mlp.forward
    mlp.forward = lambda *args, **kwargs: calls.append(1) or forward(*args, **kwargs)  # hooks skip the recompute
    prompts, conts, owner = example()
    passes = len(plan_passes(list(map(len, prompts)), list(map(len, conts)), owner, 25))
    for budget, runs in ((None, 2), (25, 3 * passes)):
        calls.clear()
        logp, _, _ = continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, token_budget=budget)
        assert len(calls) == runs // 2 if budget is None else passes
        assert not any(getattr(m, "gradient_checkpointing", False) for m in model.modules())  # switched back off
        logp.sum().backward()
        assert len(calls) == runs
    with torch.no_grad():
        calls.clear()
        continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, token_budget=25)
        assert len(calls) == passes
    calls.clear()  # recompute=False (activation_checkpointing off): one forward per pass, nothing replayed
    logp, _, _ = continuation_log_probs(model, prompts, conts, owner=owner, pad_id=PAD, token_budget=25,
                                        recompute=False)
    logp.sum().backward()
    assert len(calls) == passes
