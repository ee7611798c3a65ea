"""Token log-probs of continuations given prompts, packed so that memory stays within a token budget.

Choice mode scores every admissible action (10-40 per household step) by ``sum_t log pi(c_t | prompt, c_<t)``; free
mode scores one reply per prompt the same way. Both go through :func:`continuation_log_probs`, in rollouts, in the
update (with gradients) and in the warm start.

Packing. All continuations of one prompt are laid out after it in one sequence::

    [pad .. pad | prompt | cont 1 | cont 2 | ... | pad .. pad]
     left-padded prompt   right-padded continuation block

with a 4-D attention mask under which a prompt token sees the earlier prompt tokens and a continuation token sees the
prompt and the earlier tokens of its own continuation, nothing else, and position ids that restart right after the
prompt for every continuation. Each continuation thus gets exactly the attention context and rotary positions of a
plain forward pass over ``prompt + continuation``, while the prompt is computed once and no key/value cache is copied
per candidate (a cache copy per candidate multiplies memory by the number of candidates). Vocabulary-sized logits
exist only for the continuation block.

Budget. ``token_budget`` caps the token positions of one forward pass, ``rows x (prompt width + block width)``
(activations and logits grow with it, the 4-D mask with ``rows x width^2``). A prompt whose continuations do not fit
in one row is repeated over several rows; rows are grouped into passes; a prompt that cannot fit even with a single
continuation is a ``ValueError``.

Gradients. A decoder layer keeps some twenty activations of the hidden size per token for its backward, far more
than a pass's inputs. So when gradients flow into a model in training
mode, each pass runs with the model's own activation checkpointing (transformers' per-layer recompute, switched on
for the pass and restored after): a pass then keeps one hidden state per layer and token plus its continuation
logits. When a call needs several passes, each pass is also checkpointed as a whole (only its per-token log-probs
are kept until ``backward``, which recomputes one pass at a time), so the memory of forward and backward is bounded
by one pass, that is by the budget, not by the micro-batch. The values and gradients are those of a plain forward;
the price is compute: one more forward per pass, two when a call has several passes.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch.utils.checkpoint import checkpoint

ENTROPY_MODES = ("none", "detached", "grad")


@dataclass(frozen=True)
class Pass:
    """One forward pass of the plan: its rows (a prompt and a run of its continuations) and their layout."""

    row_prompt: list[int]  # prompt index of each row
    conts: list[int]  # continuation indices scored in this pass
    cont_row: list[int]  # row of each of them
    cont_offset: list[int]  # start of each inside its row's continuation block
    prompt_width: int  # longest prompt of the pass (prompts are left-padded to it)
    block_width: int  # longest continuation block (right-padded to it)

    @property
    def tokens(self) -> int:
        return len(self.row_prompt) * (self.prompt_width + self.block_width)


def plan_passes(prompt_lens: list[int], cont_lens: list[int], owner: list[int],
                token_budget: int | None) -> list[Pass]:
    """Split the scoring into forward passes of at most ``token_budget`` token positions (None: one pass).

    Greedy and order-preserving: each prompt's continuations (in their order) fill rows of ``prompt + block`` up to
    the budget, then consecutive rows fill passes while ``rows x (max prompt + max block) <= token_budget``.
    """
    if token_budget is not None and (isinstance(token_budget, bool) or not isinstance(token_budget, int)
                                     or token_budget < 1):
        raise ValueError(f"token_budget must be a positive int or None, got {token_budget!r}")
    fits = (lambda n: True) if token_budget is None else (lambda n: n <= token_budget)
    by_prompt: dict[int, list[int]] = {}
    for s, i in enumerate(owner):
        by_prompt.setdefault(i, []).append(s)
    rows: list[tuple[int, list[int], list[int], int]] = []  # (prompt, conts, offsets, block length)
    for i in sorted(by_prompt):
        conts, offsets, used = [], [], 0
        for s in by_prompt[i]:
            if not fits(prompt_lens[i] + cont_lens[s]):
                raise ValueError(
                    f"scoring token budget {token_budget} is too small: prompt {i} has {prompt_lens[i]} tokens and "
                    f"continuation {s} has {cont_lens[s]}, so one forward pass needs at least "
                    f"{prompt_lens[i] + cont_lens[s]}; raise scoring_token_budget or lower max_prompt_tokens")
            if conts and not fits(prompt_lens[i] + used + cont_lens[s]):
                rows.append((i, conts, offsets, used))
                conts, offsets, used = [], [], 0
            conts.append(s)
            offsets.append(used)
            used += cont_lens[s]
        rows.append((i, conts, offsets, used))
    passes: list[list[tuple[int, list[int], list[int], int]]] = []
    width = (0, 0)
    for row in rows:
        grown = (max(width[0], prompt_lens[row[0]]), max(width[1], row[3]))
        if passes and fits((len(passes[-1]) + 1) * sum(grown)):
            passes[-1].append(row)
            width = grown
        else:
            passes.append([row])
            width = (prompt_lens[row[0]], row[3])
    return [Pass(row_prompt=[r[0] for r in group], conts=[s for r in group for s in r[1]],
                 cont_row=[j for j, r in enumerate(group) for _ in r[1]],
                 cont_offset=[o for r in group for o in r[2]],
                 prompt_width=max(prompt_lens[r[0]] for r in group), block_width=max(r[3] for r in group))
            for group in passes]


def _segments(lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For ragged segments of ``lengths``: the segment of every flat element and its index inside the segment."""
    seg = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    starts = torch.cumsum(lengths, 0) - lengths
    return seg, torch.arange(int(lengths.sum())) - starts[seg]


@dataclass
class PackedInputs:
    """The model inputs of one pass and where each continuation token's prediction is read."""

    input_ids: torch.Tensor  # (rows, W)
    attention_mask: torch.Tensor  # (rows, 1, W, W): True/0.0 where attending is allowed
    position_ids: torch.Tensor  # (rows, W)
    keep: int  # logits kept: the last prompt position and the continuation block
    tok_row: torch.Tensor  # per continuation token (flat): its row,
    tok_logit: torch.Tensor  # the kept logit position that predicts it,
    tok_id: torch.Tensor  # its id,
    tok_cont: torch.Tensor  # its continuation (index into Pass.conts),
    tok_pos: torch.Tensor  # its position inside the continuation


def pack_pass(plan: Pass, prompts: list[list[int]], continuations: list[list[int]], *, pad_id: int,
              additive_mask_dtype: torch.dtype | None = None) -> PackedInputs:
    """Build one pass's padded ids, 4-D mask and position ids (see the module docstring for the layout).

    ``additive_mask_dtype``: None gives a boolean mask (sdpa: True = attend); a float dtype gives the additive mask
    eager attention adds to its scores (0 = attend, the dtype's minimum = masked). Padding positions attend to
    themselves only, so no softmax row is empty (an all-masked row would give NaN, which a later 0-weight would
    still turn into NaN in the sum).
    """
    P, B = plan.prompt_width, plan.block_width
    width, n = P + B, len(plan.row_prompt)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    seg = torch.full((n, width), -1, dtype=torch.long)  # -1 padding, 0 prompt, k + 1 continuation k of the pass
    pos = torch.zeros((n, width), dtype=torch.long)
    plens = torch.tensor([len(prompts[i]) for i in plan.row_prompt])
    prow, pj = _segments(plens)
    pcol = P - plens[prow] + pj
    ids[prow, pcol] = torch.tensor([t for i in plan.row_prompt for t in prompts[i]], dtype=torch.long)
    seg[prow, pcol] = 0
    pos[prow, pcol] = pj
    clens = torch.tensor([len(continuations[s]) for s in plan.conts])
    cidx, ct = _segments(clens)
    crow = torch.tensor(plan.cont_row)[cidx]
    ccol = P + torch.tensor(plan.cont_offset)[cidx] + ct
    tok = torch.tensor([t for s in plan.conts for t in continuations[s]], dtype=torch.long)
    ids[crow, ccol] = tok
    seg[crow, ccol] = cidx + 1
    pos[crow, ccol] = plens[crow] + ct  # every continuation restarts right after its prompt
    q, k = seg[:, :, None], seg[:, None, :]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    allowed = (causal & (((k == 0) & (q >= 0)) | ((k == q) & (k > 0)))) | torch.eye(width, dtype=torch.bool)
    allowed = allowed[:, None]
    if additive_mask_dtype is not None:
        allowed = torch.zeros((), dtype=additive_mask_dtype).masked_fill(~allowed, torch.finfo(additive_mask_dtype).min)
    # kept logit 0 sits on the last prompt token and predicts token 0; token t >= 1 is predicted at its predecessor
    tok_logit = torch.where(ct == 0, 0, ccol - P)  # kept index of position ccol - 1
    return PackedInputs(ids, allowed, pos, B + 1, crow, tok_logit, tok, cidx, ct)


def _mask_dtype(model) -> torch.dtype | None:
    """sdpa takes a boolean 4-D mask, eager an additive one in the model's dtype; other kernels take no custom mask."""
    impl = getattr(model.config, "_attn_implementation", None) or "eager"
    if impl == "sdpa":
        return None
    if impl == "eager":
        return model.get_input_embeddings().weight.dtype
    raise ValueError(f"continuation scoring packs continuations with a 4-D attention mask, which attn_implementation "
                     f"{impl!r} does not take; load the model with attn_implementation='sdpa' or 'eager'")


@contextlib.contextmanager
def _layer_checkpointing(model):
    """Per-layer activation checkpointing while gradients flow into a training model (no-op otherwise).

    Only the switch is scoped: a layer's recompute during the later ``backward`` replays its saved forward and does
    not read the switch. A model that already checkpoints, or cannot, is left as it is.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # under a peft wrapper
    if not (torch.is_grad_enabled() and model.training and getattr(base, "supports_gradient_checkpointing", False)
            and not _checkpointing_on(base)):
        yield
        return
    # transformers renamed gradient_* to activation_* checkpointing in 5.23 (the old names warn, to go in v6)
    if hasattr(base, "activation_checkpointing_enable"):
        base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    try:
        yield
    finally:
        (base.activation_checkpointing_disable if hasattr(base, "activation_checkpointing_enable")
         else base.gradient_checkpointing_disable)()


def _checkpointing_on(base) -> bool:
    """Whether any module of the model checkpoints its activations, read the same way on every transformers version."""
    return any(getattr(m, "gradient_checkpointing", False) is True for m in base.modules())


def _score_pass(model, packed: PackedInputs, temperature: float, entropy: str, recompute: bool = True):
    """Per-token log-probs (and entropies, else an empty tensor) of one pass, flat in ``packed.tok_*`` order."""
    # entered here, so that a recompute of the whole pass in backward checkpoints its layers too
    with _layer_checkpointing(model) if recompute else contextlib.nullcontext():
        out = model(input_ids=packed.input_ids, attention_mask=packed.attention_mask,
                    position_ids=packed.position_ids, use_cache=False, logits_to_keep=packed.keep)
    logits = out.logits  # (rows, keep, V)
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    flat = logp[packed.tok_row, packed.tok_logit, packed.tok_id]
    if entropy == "none":
        return flat, flat.new_zeros(0)
    lp = logp if entropy == "grad" else logp.detach()  # = policy_loss.entropy_from_logits, reusing the softmax
    per_position = -(lp.exp() * lp).sum(-1)
    return flat, per_position[packed.tok_row, packed.tok_logit]


def continuation_log_probs(model, prompts: list[list[int]], continuations: list[list[int]], *, pad_id: int,
                           owner: list[int] | None = None, temperature: float = 1.0, entropy: str = "none",
                           token_budget: int | None = None, recompute: bool = True):
    """Per-token ``log pi(c_t | prompt, c_<t)`` of each continuation, ``pi = softmax(logits / temperature)``.

    ``owner[s]`` is the index of the prompt continuation ``s`` follows (default: one continuation per prompt).
    ``token_budget`` caps the token positions per forward pass (None: a single pass); the result does not depend on
    it beyond float rounding. Gradients flow to the model (its layers activation-checkpointed, see the module doc;
    ``recompute=False`` keeps every activation instead: the same values, less compute, memory that grows with
    the whole call rather than one pass).
    ``entropy``: ``"none"``, ``"detached"`` (for metrics) or ``"grad"`` (for an entropy bonus).
    Returns ``(logp, mask, entropy)``, each (continuations, R) with R the longest continuation, right-padded with 0;
    entropy ``None`` when not asked.
    """
    owner = list(range(len(prompts))) if owner is None else list(owner)
    if len(owner) != len(continuations) or not continuations or min(len(c) for c in continuations) == 0:
        raise ValueError("continuation_log_probs: need one owner per continuation and non-empty continuations")
    if min(owner) < 0 or max(owner) >= len(prompts) or min(len(prompts[i]) for i in set(owner)) == 0:
        raise ValueError("continuation_log_probs: every owner must index a non-empty prompt")
    if entropy not in ENTROPY_MODES:
        raise ValueError(f"entropy must be one of {ENTROPY_MODES}, got {entropy!r}")
    plans = plan_passes([len(p) for p in prompts], [len(c) for c in continuations], owner, token_budget)
    device = next(model.parameters()).device
    mask_dtype = _mask_dtype(model)
    # several passes under grad: each is recomputed in backward, so between forward and backward only per-token
    # log-probs are kept and the peak is one pass (with layer checkpointing inside it), whatever the micro-batch
    whole_pass = recompute and torch.is_grad_enabled() and len(plans) > 1
    conts, positions, logps, ents = [], [], [], []
    for plan in plans:
        packed = pack_pass(plan, prompts, continuations, pad_id=pad_id, additive_mask_dtype=mask_dtype)
        packed = PackedInputs(*(t.to(device) if isinstance(t, torch.Tensor) else t for t in vars(packed).values()))
        if whole_pass:
            lp, en = checkpoint(_score_pass, model, packed, temperature, entropy, use_reentrant=False)
        else:
            lp, en = _score_pass(model, packed, temperature, entropy, recompute)
        conts.append(torch.tensor(plan.conts, device=device)[packed.tok_cont])
        positions.append(packed.tok_pos)
        logps.append(lp)
        ents.append(en)
    index = (torch.cat(conts), torch.cat(positions))
    R = max(len(c) for c in continuations)
    mask = torch.zeros(len(continuations), R, device=device).index_put(index, torch.ones(len(index[0]), device=device))
    logp = torch.zeros(len(continuations), R, device=device).index_put(index, torch.cat(logps))
    ent = None
    if entropy != "none":
        ent = torch.zeros(len(continuations), R, device=device).index_put(index, torch.cat(ents))
    return logp, mask, ent
