# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# init_cell: true
# check_all_cell: true
# export_cell: false
# generate: true
# tests:
#   files: false

# %% [markdown]
# # Unit 03 · From advantages to a policy update (exercises)
#
# Goes with `notebooks/03_training.ipynb` and the paper's Sec. 4.3 / Eq. 9: each environment step's advantage
# is broadcast over the tokens of that step's reply and enters a PPO-clip loss averaged over all real tokens of
# the batch ("token-mean"). Runs in a few seconds (no model is trained here; notebook 03 does that).

# %%
import torch

from gigpo.training.learning.policy_loss import ppo_clip_terms

torch.set_num_threads(1)

# %% [raw]
# # BEGIN QUESTION
# name: q1_ppo_clip_loss
# points: 4

# %% [markdown]
# **Q1 (implement).** `ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2)`: the token-mean PPO-clip
# loss to *minimise*. `logp_new`, `logp_old` and `mask` are tensors of shape `[rows, tokens]` (one row per reply,
# right-padded; `mask` is 1 on real tokens, 0 on padding), `advantages` has one value per row, the same for all
# of that row's tokens. With $r = \exp(\log\pi_{new} - \log\pi_{old})$ per token, the loss is
# $-\frac{1}{\#\text{real tokens}} \sum_{\text{real tokens}} \min(r A, \operatorname{clip}(r, 1-\epsilon, 1+\epsilon) A)$.
# Return a 0-d tensor that still carries the gradient to `logp_new`.

# %% [raw]
# # BEGIN SOLUTION

# %%
def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip=0.2):
    # BEGIN SOLUTION
    ratio = torch.exp(logp_new - logp_old)
    adv = advantages[:, None]
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv)
    return -(surrogate * mask).sum() / mask.sum()
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("ppo_clip_loss", ppo_clip_loss)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("ppo_clip_loss", ppo_clip_loss, random_batches=100, seed=31)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2_predict_clipped_gradient
# points: 2

# %% [markdown]
# **Q2 (predict, then run).** One token each, clip 0.2, four (advantage, ratio) pairs:
# `(+1, 1.5)`, `(+1, 0.7)`, `(-1, 1.5)`, `(-1, 0.7)`. For which is the gradient of the loss with respect to
# $\log\pi_{new}$ exactly zero (the clip is active)? Write four booleans, in this order.

# %% [raw]
# # BEGIN SOLUTION

# %%
predicted_zero_gradient = [True, False, False, True]  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(predicted_zero_gradient, list) and len(predicted_zero_gradient) == 4 \
    and all(v in (True, False) for v in predicted_zero_gradient), "write a list of four booleans"

# %%
# HIDDEN
assert predicted_zero_gradient == [True, False, False, True]

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it with the library's PPO-clip terms.

# %%
pairs = [(1.0, 1.5), (1.0, 0.7), (-1.0, 1.5), (-1.0, 0.7)]
logp_old = torch.zeros(4, dtype=torch.float64)
logp_new = torch.log(torch.tensor([r for _, r in pairs], dtype=torch.float64)).requires_grad_(True)
per_token, _ = ppo_clip_terms(logp_new, logp_old, torch.tensor([a for a, _ in pairs], dtype=torch.float64), 0.2)
per_token.sum().backward()
for (a, r), g in zip(pairs, logp_new.grad.tolist()):
    print(f"A={a:+.0f} ratio={r}: gradient {g:+.3f}", "(clipped: zero)" if g == 0 else "")

# %% [raw]
# # BEGIN QUESTION
# name: q3_token_mean
# manual: true
# points: 3

# %% [markdown]
# **Q3 (explain, graded by hand).** Under the token-mean, how much does one environment step weigh in the loss,
# as a function of its reply's length? What changes in choice mode (notebook 03's CPU recipe scores each
# admissible action as one unit) and what would change with a per-reply mean instead? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** Each real token is one term of the average, and a step's advantage is copied to all of its
# tokens, so a step weighs in proportion to its number of tokens: a 40-token reply pushes 40 times as hard as a
# 1-token one with the same advantage (long reasoning is reinforced or punished more). In choice mode a step is
# one unit (a categorical over the admissible actions), so every step weighs the same and the token-mean is a
# mean over steps. A per-reply ("sample") mean would give every step equal weight in free mode too, at the price
# of a per-token gradient that shrinks with reply length. Full marks: proportional to length + choice-mode point.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
