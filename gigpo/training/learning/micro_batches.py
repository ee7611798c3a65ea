"""The update's micro-batches: rows of similar length, as many as one scoring pass holds within the token budget.

A forward pass costs ``rows x (longest prompt + longest continuation block)`` token positions
(``scoring.plan_passes``), so rows taken in shuffle order pay for the longest prompt and reply of a random set;
sorted by length, the rows of a micro-batch are padded to nearly their own length. Filling each micro-batch up to
the pass budget (and no further) also keeps every ``continuation_log_probs`` call to a single pass, which is what
spares the whole-pass recompute under activation checkpointing (``scoring.py``: one extra forward instead of two).

The loss is a sum over units weighted by the whole minibatch's denominators (``policy_loss.unit_weights``), so the
grouping of rows into micro-batches changes the gradient only at float rounding; the plan depends on the set of rows,
not on their order.
"""
from __future__ import annotations

from typing import Hashable

from gigpo.policy.step_batch import StepBatch


def row_shape(batch: StepBatch, row: int, mode: str) -> tuple[int, int, Hashable]:
    """``(prompt tokens, continuation block tokens, decision key)`` of one step row.

    Free mode: the block is the reply, and the key None. Choice mode: the block is every candidate back to back, and
    the key the (prompt, candidates) pair, which ``update.unit_log_probs`` scores once however many rows repeat it.
    """
    prompt = batch.prompt_ids[row]
    if mode == "free":
        return len(prompt), len(batch.response_ids[row]), None
    cands = batch.candidate_ids[row]
    return len(prompt), sum(len(c) for c in cands), (tuple(prompt), tuple(map(tuple, cands)))


def plan_micro_batches(rows: list[int], shapes: dict[int, tuple[int, int, Hashable]], *, token_budget: int,
                       max_rows: int) -> list[list[int]]:
    """Split ``rows`` into micro-batches of similar length, each within ``token_budget`` token positions.

    Rows are sorted by (total length, prompt length, key, row), so repeats of a decision sit side by side and the
    result depends on the set of rows only. A micro-batch grows while its distinct decisions x (longest prompt +
    longest block) stays within ``token_budget`` and it holds at most ``max_rows`` rows; a repeat of the previous
    row's decision adds no positions. A row too long for the budget on its own gets a micro-batch to itself (the
    scoring then splits its continuations over several passes).
    """
    order = sorted(rows, key=lambda r: (shapes[r][0] + shapes[r][1], shapes[r][0],
                                        () if shapes[r][2] is None else shapes[r][2], r))
    batches: list[list[int]] = []
    current: list[int] = []
    distinct = prompt_width = block_width = 0
    for r in order:
        p, b, key = shapes[r]
        repeat = bool(current) and key is not None and key == shapes[current[-1]][2]
        grown = (distinct + (not repeat)) * (max(prompt_width, p) + max(block_width, b))
        if current and (len(current) >= max_rows or grown > token_budget):
            batches.append(current)
            current, distinct, prompt_width, block_width, repeat = [], 0, 0, 0, False
        current.append(r)
        distinct += not repeat
        prompt_width, block_width = max(prompt_width, p), max(block_width, b)
    if current:
        batches.append(current)
    return batches

