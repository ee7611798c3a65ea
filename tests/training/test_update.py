"""The PPO update (gigpo/training/learning/update.py) against a plain restatement: one unpadded forward pass per
sequence, and PPO-clip, k3 and token-mean written out here, independently of continuation_log_probs and policy_loss.

Covered: choice-mode log-probs and entropy with uneven candidate counts (and a finite entropy gradient, issue 17
defect 1), the direction of one update, several epochs and minibatches (old log-probs are the rollout policy's; each
optimizer step is the token-mean gradient of its minibatch), micro-batching that changes nothing, the entropy bonus,
and the non-finite guard.
"""
import copy

import pytest
import torch

import gigpo.training.learning.update as update_module
from gigpo.policy.encoding import encode_candidate
from gigpo.policy.step_batch import StepBatch
from gigpo.training.config import TrainConfig
from gigpo.training.learning.update import UpdateSettings, policy_update, unit_log_probs
from gigpo.training.systems.models import load_model_and_tokenizer, wrap_lora


@pytest.fixture(scope="module")
def tiny():
    return load_model_and_tokenizer("tiny")


def fresh_tiny(lora: bool):
    model, tok = load_model_and_tokenizer("tiny")
    if lora:
        model = wrap_lora(model, rank=4, alpha=8, dropout=0.0, target_modules=["q_proj", "v_proj", "up_proj"])
    return model, tok


def chat_ids(tok, text: str) -> list[int]:
    prompt = tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
    return tok(prompt, add_special_tokens=False)["input_ids"]


# --- the independent restatement --------------------------------------------------------------------------------------
def plain_token_logp(model, prompt: list[int], cont: list[int], temperature: float = 1.0) -> torch.Tensor:
    """log pi(c_t | prompt, c_<t) from one unpadded forward pass over prompt + continuation (no cache, no batch)."""
    logits = model(input_ids=torch.tensor([prompt + cont])).logits[0, len(prompt) - 1:-1].float() / temperature
    return torch.log_softmax(logits, -1).gather(-1, torch.tensor(cont)[:, None])[:, 0]


def plain_choice(model, prompt, candidates, temperature=1.0) -> torch.Tensor:
    """log pi(candidate | prompt) renormalized over the candidates: log_softmax of the summed token log-probs."""
    return torch.log_softmax(torch.stack([plain_token_logp(model, prompt, c, temperature).sum() for c in candidates]),
                             0)


def close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    """Equal up to float32 round-off of a different summation order (padded batches, a cache): relative norm error."""
    return float((got - expected).norm()) <= 1e-4 * float(expected.norm()) + 1e-9


def choice_batch(tok) -> StepBatch:
    """Two steps with 2 and 3 admissible actions: a padded candidate slot in the first row (as on shop)."""
    cands = [["left", "right"], ["left", "right", "wait here"]]
    return StepBatch(group_ids=[0, 0], traj_ids=[0, 1], anchors=[0, 1], rewards=[0.0, 0.0], valid=[True, True],
                     prompt_ids=[chat_ids(tok, "Reach cell 3. Options: left, right."),
                                 chat_ids(tok, "You are in cell 1, a bench is here. Options: left, right, wait here.")],
                     candidate_ids=[[encode_candidate(tok, a) for a in c] for c in cands], chosen=[1, 2])


def free_batch(tok) -> StepBatch:
    """Three steps whose replies have 3, 5 and 9 tokens, so token-mean and row-mean weightings differ."""
    prompts = ["Reach cell 3.", "You are in cell 1.", "You are in cell 2. Nothing happens."]
    replies = ["<action>right", "<think>go</think><action>", "<think>go right</think><action>right</action>"]
    responses = [tok(r, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for r in replies]
    assert len({len(r) for r in responses}) == 3  # distinct lengths: the recorder below tells rows apart by them
    return StepBatch(group_ids=[0, 0, 0], traj_ids=[0, 1, 2], anchors=[0, 1, 2], rewards=[1.0, 0.0, 0.0],
                     valid=[True] * 3, prompt_ids=[chat_ids(tok, p) for p in prompts], response_ids=responses)


# --- scoring ----------------------------------------------------------------------------------------------------------
def test_choice_log_probs_and_entropy_equal_a_plain_forward_with_uneven_candidates(tiny):
    model, tok = tiny
    batch = choice_batch(tok)
    with torch.no_grad():
        logp, mask, ent = unit_log_probs(model, batch, [0, 1], mode="choice", temperature=0.7,
                                         pad_id=tok.pad_token_id, entropy="detached")
        for row in range(2):
            expected = plain_choice(model, batch.prompt_ids[row], batch.candidate_ids[row], 0.7)
            assert float(logp[row, 0]) == pytest.approx(float(expected[batch.chosen[row]]), abs=1e-5)
            assert float(ent[row, 0]) == pytest.approx(float(-(expected.exp() * expected).sum()), abs=1e-5)
    assert mask.tolist() == [[1.0], [1.0]]


def test_entropy_gradient_is_finite_and_exact_with_uneven_candidates(tiny):
    # issue 17 defect 1: the padded slot's log p is -inf; torch.where let 0 * -inf = NaN into every gradient
    model, tok = tiny
    batch = choice_batch(tok)
    params = [p for p in model.parameters() if p.requires_grad]
    _, _, ent = unit_log_probs(model, batch, [0, 1], mode="choice", temperature=1.0, pad_id=tok.pad_token_id,
                               entropy="grad")
    got = torch.autograd.grad(ent.sum(), params)
    expected_ent = sum(-(lp.exp() * lp).sum() for lp in (plain_choice(model, batch.prompt_ids[r],
                                                                      batch.candidate_ids[r]) for r in range(2)))
    expected = torch.autograd.grad(expected_ent, params)
    assert all(torch.isfinite(g).all() for g in got)
    assert all(close(g, e) for g, e in zip(got, expected))


# --- one update -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["free", "choice"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_one_update_moves_the_log_prob_with_the_advantage(mode, sign):
    model, tok = fresh_tiny(lora=True)
    cfg = TrainConfig(action_mode=mode, lr=1e-2, kl_coef=0.01)
    full = free_batch(tok) if mode == "free" else choice_batch(tok)
    batch = StepBatch(group_ids=[0], traj_ids=[0], anchors=[0], rewards=[1.0], valid=[True],
                      prompt_ids=full.prompt_ids[:1], response_ids=full.response_ids[:1],
                      candidate_ids=full.candidate_ids[:1], chosen=full.chosen[:1])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)

    def chosen_logp():
        with torch.no_grad():
            if mode == "free":
                return float(plain_token_logp(model, batch.prompt_ids[0], batch.response_ids[0]).sum())
            return float(plain_choice(model, batch.prompt_ids[0], batch.candidate_ids[0])[batch.chosen[0]])

    before = chosen_logp()
    policy_update(model, None, batch, torch.tensor([sign]), UpdateSettings.of(cfg), opt, pad_id=tok.pad_token_id)
    assert (chosen_logp() - before) * sign > 1e-3


def test_kl_is_measured_against_the_base_model_with_the_adapter_disabled():
    model, tok = fresh_tiny(lora=True)
    with torch.no_grad():  # a trained-looking adapter, so the policy differs from its reference
        torch.manual_seed(1)
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.05)
    batch = free_batch(tok)
    with torch.no_grad():
        logp = [plain_token_logp(model, p, r) for p, r in zip(batch.prompt_ids, batch.response_ids)]
        with model.disable_adapter():
            ref = [plain_token_logp(model, p, r) for p, r in zip(batch.prompt_ids, batch.response_ids)]
    d = torch.cat(ref) - torch.cat(logp)
    expected = float((d.exp() - d - 1).mean())  # k3 on samples of the policy, token-mean over the batch
    cfg = TrainConfig(action_mode="free", kl_coef=1.0)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.0)
    stats = policy_update(model, None, batch, torch.zeros(3), UpdateSettings.of(cfg), opt, pad_id=tok.pad_token_id)
    assert expected > 1e-4 and stats["kl"] == pytest.approx(expected, rel=1e-3)


# --- epochs, minibatches, micro-batches -------------------------------------------------------------------------------
class RecordingSGD(torch.optim.SGD):
    """SGD that, before each step, restates the step's expected gradient and metrics at the current weights.

    ``seen`` holds the response lengths of the rows the update scored since the last step (recorded by a wrapper of
    ``policy_loss``); lengths are distinct, so they name the rows.
    """

    def __init__(self, model, batch, advantages, old, clip, temperature, **kw):
        self.model, self.batch, self.adv, self.old, self.clip, self.temperature = (model, batch, advantages, old,
                                                                                   clip, temperature)
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.seen: list[int] = []
        self.steps: list[dict] = []
        super().__init__(self.trainable, **kw)

    def step(self, closure=None):
        length_to_row = {len(r): i for i, r in enumerate(self.batch.response_ids)}
        rows = [length_to_row[n] for n in self.seen]
        self.seen = []
        grads = [p.grad.clone() for p in self.trainable]
        per_token, clipped, k3_old = [], [], []
        for r in rows:
            lp = plain_token_logp(self.model, self.batch.prompt_ids[r], self.batch.response_ids[r], self.temperature)
            ratio = torch.exp(lp - self.old[r])
            a = self.adv[r]
            per_token.append(-torch.minimum(ratio * a, ratio.clamp(1 - self.clip, 1 + self.clip) * a))
            clipped.append(((a > 0) & (ratio > 1 + self.clip)) | ((a < 0) & (ratio < 1 - self.clip)))
            k3_old.append(ratio - 1 - torch.log(ratio))  # KL(pi_old || pi_theta) on samples of pi_old
        loss = torch.cat(per_token).sum() / sum(len(t) for t in per_token)  # token-mean over the minibatch
        expected = torch.autograd.grad(loss, self.trainable)
        self.steps.append({"rows": rows, "grads": grads, "expected": expected,
                           "units": sum(len(t) for t in per_token), "clipped": float(torch.cat(clipped).sum()),
                           "k3": float(torch.cat(k3_old).detach().sum())})
        return super().step(closure)


@pytest.mark.parametrize("micro_batch_size", [1, 8])
def test_epochs_and_minibatches_step_on_the_token_mean_gradient_against_the_rollout_policy(micro_batch_size,
                                                                                          monkeypatch):
    model, tok = fresh_tiny(lora=False)
    batch = free_batch(tok)
    advantages = torch.tensor([1.5, -1.0, 0.5])
    cfg = TrainConfig(action_mode="free", ppo_epochs=2, minibatch_size=2, micro_batch_size=micro_batch_size,
                      kl_coef=0.0, temperature=0.8, max_grad_norm=1e9)
    with torch.no_grad():  # the rollout ("old") policy: the weights before the update
        old = [plain_token_logp(model, p, r, 0.8) for p, r in zip(batch.prompt_ids, batch.response_ids)]
    opt = RecordingSGD(model, batch, advantages, old, cfg.clip_ratio, 0.8, lr=1e-3)
    real_loss = update_module.policy_loss

    def recording_loss(logp, old_logp, adv, mask, **kw):
        opt.seen += [int(n) for n in mask.sum(1)]
        return real_loss(logp, old_logp, adv, mask, **kw)

    monkeypatch.setattr(update_module, "policy_loss", recording_loss)
    stats = policy_update(model, None, batch, advantages, UpdateSettings.of(cfg), opt, pad_id=tok.pad_token_id)

    # 2 epochs x minibatches of 2 + 1 rows, every row once per epoch
    assert [len(s["rows"]) for s in opt.steps] == [2, 1, 2, 1]
    assert sorted(opt.steps[0]["rows"] + opt.steps[1]["rows"]) == [0, 1, 2]
    for s in opt.steps:  # each step: the token-mean PPO-clip gradient of its own rows, ratios against the old policy
        assert all(close(g, e) for g, e in zip(s["grads"], s["expected"]))
    units = sum(s["units"] for s in opt.steps)
    assert stats["clip_frac"] == pytest.approx(sum(s["clipped"] for s in opt.steps) / units, abs=1e-6)
    assert stats["approx_kl"] == pytest.approx(sum(s["k3"] for s in opt.steps) / units, rel=1e-3, abs=1e-7)
    assert stats["clip_frac"] > 0 and stats["approx_kl"] > 0  # the later steps did see a moved policy


def test_micro_batch_size_leaves_weights_and_metrics_unchanged():
    base, tok = fresh_tiny(lora=True)
    batch = free_batch(tok)
    results = []
    for micro in (1, 2, 3):
        model = copy.deepcopy(base)
        cfg = TrainConfig(action_mode="free", ppo_epochs=2, minibatch_size=3, micro_batch_size=micro, kl_coef=0.05,
                          entropy_coef=0.01, lr=1e-2)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
        torch.manual_seed(0)
        stats = policy_update(model, None, batch, torch.tensor([1.0, -0.5, 0.25]), UpdateSettings.of(cfg), opt,
                              pad_id=tok.pad_token_id)
        results.append(([p.detach().clone() for p in model.parameters() if p.requires_grad], stats))
    (w1, s1), *others = results
    assert any(not torch.equal(a, b) for a, b in zip(w1, [p for p in base.parameters() if p.requires_grad]))
    for w, s in others:
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(w1, w))
        assert s1.keys() == s.keys() and all(s[k] == pytest.approx(s1[k], rel=1e-4, abs=1e-7) for k in s1)


# --- the entropy bonus ------------------------------------------------------------------------------------------------
def test_entropy_bonus_raises_the_entropy_of_uneven_choices():
    model, tok = fresh_tiny(lora=False)
    batch = choice_batch(tok)

    def entropies():
        with torch.no_grad():
            lps = [plain_choice(model, batch.prompt_ids[r], batch.candidate_ids[r]) for r in range(2)]
        return [float(-(lp.exp() * lp).sum()) for lp in lps]

    before = entropies()
    cfg = TrainConfig(action_mode="choice", kl_coef=0.0, entropy_coef=1.0)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    stats = policy_update(model, None, batch, torch.zeros(2), UpdateSettings.of(cfg), opt, pad_id=tok.pad_token_id)
    after = entropies()
    # zero advantages: the bonus is the only force, and a small step up its gradient raises the mean entropy. Not
    # each row's: a row already near uniform (ln 2 here) can lose a little through the weights the rows share, as
    # row 0 does under transformers 5.0 (its tokenizer keeps a merge of ' 3' that 5.25's Qwen2 tokenizer splits).
    assert sum(after) > sum(before)
    assert stats["entropy"] == pytest.approx(sum(before) / 2, abs=1e-5)  # measured at the update's start
    assert all(torch.isfinite(p).all() for p in model.parameters())


# --- the non-finite guard ---------------------------------------------------------------------------------------------
def test_a_non_finite_loss_or_gradient_stops_the_update_before_the_optimizer_step():
    model, tok = fresh_tiny(lora=True)
    batch = choice_batch(tok)
    cfg = TrainConfig(action_mode="choice", kl_coef=0.0)
    trainable = [p for p in model.parameters() if p.requires_grad]
    start = [p.detach().clone() for p in trainable]
    opt = torch.optim.AdamW(trainable, lr=1e-2)
    with pytest.raises(FloatingPointError, match="non-finite loss"):
        policy_update(model, None, batch, torch.tensor([1.0, float("nan")]), UpdateSettings.of(cfg), opt,
                      pad_id=tok.pad_token_id)
    hook = trainable[0].register_hook(lambda g: g * float("nan"))  # a finite loss whose gradient is not
    with pytest.raises(FloatingPointError, match="non-finite gradient"):
        policy_update(model, None, batch, torch.tensor([1.0, -1.0]), UpdateSettings.of(cfg), opt,
                      pad_id=tok.pad_token_id)
    hook.remove()
    assert all(torch.equal(p, s) for p, s in zip(trainable, start))  # no step was taken


@pytest.mark.parametrize("mode", ["choice", "free"])
def test_rollout_tokens_count_prompts_and_what_the_policy_scored_or_wrote(tiny, mode):
    from gigpo.training.rank_metrics import rollout_metrics
    from gigpo.training.systems.distributed import Distributed

    _, tok = tiny
    batch = choice_batch(tok) if mode == "choice" else free_batch(tok)
    batch.episode = {"success_rate": 0.0, "mean_return": 0.0, "mean_length": 1.0}
    cfg = TrainConfig(action_mode=mode, group_size=len(batch), num_groups=1)
    stats = rollout_metrics(cfg, batch, torch.zeros(len(batch)), Distributed(), range(0, 1))
    prompts = sum(len(p) for p in batch.prompt_ids)
    if mode == "choice":  # every candidate of every step is scored, the chosen one and the others
        want = prompts + sum(len(c) for step in batch.candidate_ids for c in step)
    else:
        want = prompts + sum(len(r) for r in batch.response_ids)
    assert stats["rollout_tokens"] == want > prompts


# --- micro-batches by length within the token budget ------------------------------------------------------------------
def test_micro_batch_plan_by_hand():
    from gigpo.training.learning.micro_batches import plan_micro_batches

    # (prompt, block, key): free rows (key None) of totals 10, 12, 30, 31, 11; two repeats of a choice decision "d"
    shapes = {0: (8, 2, None), 1: (9, 3, None), 2: (20, 10, None), 3: (20, 11, None), 4: (9, 2, None)}
    # sorted by total: 0 (10), 4 (11), 1 (12), 2 (30), 3 (31); budget 40: 3 rows x (9 + 3) = 36 fit, a 4th row
    # would cost 4 x (20 + 10) = 120; rows 2 and 3 together 2 x 31 = 62 > 40, so each goes alone
    plan = plan_micro_batches([3, 1, 4, 0, 2], shapes, token_budget=40, max_rows=16)
    assert plan == [[0, 4, 1], [2], [3]]
    assert plan_micro_batches([0, 1, 2, 3, 4], shapes, token_budget=40, max_rows=16) == plan  # order-free
    assert plan_micro_batches([0, 1, 2, 3, 4], shapes, token_budget=40, max_rows=2) == [[0, 4], [1], [2], [3]]
    assert plan_micro_batches([0, 1, 2, 3, 4], shapes, token_budget=10, max_rows=16) == [[0], [4], [1], [2], [3]]
    choice = {0: (5, 5, "d"), 1: (5, 5, "d"), 2: (5, 5, "d"), 3: (5, 6, "e")}
    # repeats of "d" cost nothing more: 1 x 10 <= 10; "e" would make 2 x 11 = 22 > 10
    assert plan_micro_batches([3, 2, 1, 0], choice, token_budget=10, max_rows=16) == [[0, 1, 2], [3]]


def varied_free_batch(tok) -> StepBatch:
    """Eight steps whose prompts and replies differ in length (as history grows over an episode)."""
    prompts = ["Reach cell 3.", "You are in cell 1.", "You are in cell 2. Nothing happens.",
               "You are in cell 2. Nothing happens. You moved left, then right, then left again.", "Go.",
               "A bench, a lamp and a door are here.", "Cell 4: the goal is east.", "Cell 0."]
    replies = ["<action>right", "<think>go</think><action>", "<think>go right</think><action>right</action>",
               "<action>left</action>", "<think>the door</think><action>open door</action>", "<action>wait",
               "<think>east is the goal, go</think><action>right</action>", "<action>up</action>"]
    responses = [tok(r, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for r in replies]
    n = len(prompts)
    return StepBatch(group_ids=[0] * n, traj_ids=list(range(n)), anchors=list(range(n)), rewards=[0.0] * n,
                     valid=[True] * n, prompt_ids=[chat_ids(tok, p) for p in prompts], response_ids=responses)


class GradRecorder(torch.optim.SGD):
    """SGD that keeps a copy of the gradient at every step."""

    def __init__(self, params, **kw):
        self.grads: list[list[torch.Tensor]] = []
        super().__init__(params, **kw)

    def step(self, closure=None):
        self.grads.append([p.grad.clone() for g in self.param_groups for p in g["params"]])
        return super().step(closure)


@pytest.mark.parametrize("mode", ["free", "choice"])
@pytest.mark.parametrize("agg", ["token-mean", "seq-mean-token-mean"])
def test_micro_batching_leaves_loss_gradients_and_metrics_unchanged(mode, agg):
    base, tok = fresh_tiny(lora=True)
    with torch.no_grad():  # a trained-looking adapter, so the KL and the ratios are not trivially 0 and 1
        torch.manual_seed(1)
        for name, p in base.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.05)
    if mode == "free":
        batch = varied_free_batch(tok)
    else:  # repeated decisions, as rollouts of one task have: rows 0 and 2 show the model the same choice
        two = choice_batch(tok)
        batch = StepBatch(group_ids=[0] * 4, traj_ids=[0, 1, 2, 3], anchors=[0, 1, 0, 1], rewards=[0.0] * 4,
                          valid=[True] * 4, prompt_ids=two.prompt_ids * 2, candidate_ids=two.candidate_ids * 2,
                          chosen=[1, 2, 0, 1])
    n = len(batch)
    advantages = torch.linspace(-1.0, 1.5, n)
    budget = 160 if mode == "free" else 120  # small: several micro-batches of different widths
    cfg = TrainConfig(action_mode=mode, ppo_epochs=2, minibatch_size=n // 2 + 1, micro_batch_size=2, kl_coef=0.05,
                      entropy_coef=0.01, loss_agg_mode=agg, scoring_token_budget=budget, max_prompt_tokens=100,
                      max_new_tokens=20, clip_ratio_high=0.28, max_grad_norm=1e9)
    runs = {}
    whole = cfg.replace(micro_batch_size=n, scoring_token_budget=100_000)  # every minibatch in one pass
    for batching, settings in (("whole", whole), ("length", cfg)):
        model = copy.deepcopy(base)
        opt = GradRecorder([p for p in model.parameters() if p.requires_grad], lr=0.05)  # moves, stays smooth
        stats = policy_update(model, None, batch, advantages, UpdateSettings.of(settings), opt, pad_id=tok.pad_token_id,
                              shuffle=torch.Generator().manual_seed(3))
        runs[batching] = (opt.grads, stats, [p.detach().clone() for p in model.parameters() if p.requires_grad])
    (g1, s1, w1), (g2, s2, w2) = runs["whole"], runs["length"]
    assert len(g1) == len(g2) == 4  # 2 epochs x 2 minibatches
    for a, b in zip(g1, g2):
        assert all(close(x, y) for x, y in zip(a, b))
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(w1, w2))
    assert s1.keys() == s2.keys() and all(s2[k] == pytest.approx(s1[k], rel=1e-4, abs=1e-6) for k in s1)
    assert s1["clip_frac"] > 0 and s1["kl"] > 0


def test_no_forward_pass_the_loss_does_not_need(monkeypatch):
    """kl_coef = 0: no reference pass; the old log-probs of the first minibatch's rows come from its gradient pass,
    so the no-grad pass scores only the other minibatch's rows."""
    model, tok = fresh_tiny(lora=True)
    batch = varied_free_batch(tok)
    scored = {"no_grad": [], "grad": []}
    real = update_module.unit_log_probs

    def counting(model_, batch_, rows, **kw):
        scored["grad" if torch.is_grad_enabled() else "no_grad"].append(list(rows))
        return real(model_, batch_, rows, **kw)

    monkeypatch.setattr(update_module, "unit_log_probs", counting)
    cfg = TrainConfig(action_mode="free", ppo_epochs=1, minibatch_size=4, kl_coef=0.0)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.0)
    policy_update(model, None, batch, torch.ones(8), UpdateSettings.of(cfg), opt, pad_id=tok.pad_token_id,
                  shuffle=torch.Generator().manual_seed(0))
    assert sum(len(r) for r in scored["no_grad"]) == 4
    assert sorted(r for rows in scored["grad"] for r in rows) == list(range(8))
    scored = {"no_grad": [], "grad": []}
    policy_update(model, None, batch, torch.ones(8), UpdateSettings.of(cfg.replace(minibatch_size=None)), opt,
                  pad_id=tok.pad_token_id)
    assert scored["no_grad"] == []  # one epoch, one minibatch, no KL: the gradient pass is the only one
    scored = {"no_grad": [], "grad": []}
    policy_update(model, None, batch, torch.ones(8),
                  UpdateSettings.of(cfg.replace(minibatch_size=None, kl_coef=0.01)), opt, pad_id=tok.pad_token_id)
    assert sum(len(r) for r in scored["no_grad"]) == 8  # the reference pass, once per row


def test_seq_mean_token_mean_update_steps_on_the_gradient_of_a_plain_restatement():
    model, tok = fresh_tiny(lora=False)
    batch = free_batch(tok)
    advantages = torch.tensor([1.5, -1.0, 0.5])
    cfg = TrainConfig(action_mode="free", kl_coef=0.0, micro_batch_size=1, loss_agg_mode="seq-mean-token-mean",
                      max_grad_norm=1e9)
    params = [p for p in model.parameters() if p.requires_grad]
    # one epoch, one minibatch: ratio 1, so the loss is -A per token; the mean over each reply, then over the replies
    loss = sum(-(advantages[r] * plain_token_logp(model, p, c)).mean()
               for r, (p, c) in enumerate(zip(batch.prompt_ids, batch.response_ids))) / 3
    expected = torch.autograd.grad(loss, params)
    opt = GradRecorder(params, lr=0.0)
    policy_update(model, None, batch, advantages, UpdateSettings.of(cfg), opt, pad_id=tok.pad_token_id)
    assert all(close(g, e) for g, e in zip(opt.grads[0], expected))
