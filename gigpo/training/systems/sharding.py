"""Fully sharded data parallel training (torch FSDP2, ``fully_shard``) for full fine-tuning, in lock-step phases.

Why phases and not plain FSDP. FSDP keeps each rank's share of the weights, gradients and optimizer state, and
gathers a layer's weights for every forward (an all-gather that every rank must join) and scatters its gradients
after every backward (a reduce-scatter, the same). The ranks of this trainer do not run the same passes: a rank's
task groups end after their own numbers of steps, so ranks generate different numbers of tokens, score different
numbers of rows and run different numbers of micro-batches (that is what keeps every random draw independent of the
number of processes). So the collectives happen only at points every rank reaches together:

- **gathered phases** (:func:`gathered`): the whole model is all-gathered once, then any number of forward and
  backward passes run with no collective (FSDP's resharding after forward and backward switched off for the phase);
  the rollouts, the evaluation, the no-grad scoring, and each minibatch of the update are such phases;
- **one gradient reduction per minibatch** (:func:`reduce_gradients`): the micro-batches' backward passes accumulate
  unreduced gradients; then every rank runs one more, zero-valued backward with gradient sync on, in which FSDP
  reduce-scatters the accumulated gradients (summed, not averaged: each rank already weighs its units by
  ``1 / units in the global minibatch``), leaving each rank the gradient of its own weight shard;
- **the optimizer** steps on each rank's shard only (AdamW's state is sharded too).

What this saves: a rank keeps ``1/K`` of the weights, gradients and optimizer state; during a phase it also holds
the gathered weights, and in a minibatch the gradients it accumulates before the reduction. In float32 (weights 4 +
gradients 4 + AdamW 8 bytes per parameter) its peak is ``8 + 12/K`` bytes per parameter instead of 16 (docs/scale.md).

Checkpoints are written in the one-process format (full weights, optimizer state keyed by parameter position), so a
sharded run resumes on any number of processes, sharded or not, and vice versa (the weights through
``models.trainable_state_dict`` / ``load_trainable_state_dict``, which gather and shard them; the optimizer state
through :func:`full_optimizer_state` / :func:`load_full_optimizer_state`).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch


def fsdp_modules(model) -> list:
    """The FSDP units of ``model`` (outermost first); empty for a model that is not sharded."""
    from torch.distributed.fsdp import FSDPModule

    return [m for m in model.modules() if isinstance(m, FSDPModule)] if model is not None else []


def is_sharded(model) -> bool:
    return bool(fsdp_modules(model))


def shard_model(model, device: str, world_size: int):
    """Shard ``model`` in place over ``world_size`` processes: one FSDP unit per decoder layer (the classes the model
    names in ``_no_split_modules``, as Hugging Face's and accelerate's auto-wrap do), the rest (embeddings, final
    norm, head) in the root unit. Returns the model (its class becomes FSDP's subclass; names of parameters stay)."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh("cuda" if device.startswith("cuda") else "cpu", (world_size,))
    layer_classes = set(getattr(model, "_no_split_modules", None) or ())
    layers = [m for m in model.modules() if type(m).__name__ in layer_classes]
    if not layers:
        raise ValueError(f"fsdp: {type(model).__name__} names no decoder layer class in _no_split_modules "
                         f"({sorted(layer_classes)}); cannot choose its FSDP units")
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    for unit in fsdp_modules(model):
        # a sum over ranks (the loss weights already make the global mean), as a plain SUM: gloo has no PREMUL_SUM
        unit.set_gradient_divide_factor(1.0)
        unit.set_force_sum_reduction_for_comms(True)
    # a weight no pass reached still joins the reduction (with zeros), so every rank issues the same collectives
    model.set_reduce_scatter_unused_params(True)
    return model


@contextlib.contextmanager
def gathered(*models):
    """All weights of each sharded model gathered for the block, however many passes each rank runs inside it.

    A no-op for models that are not sharded (one process, data parallel). On exit the weights are resharded, which
    also makes the next phase gather the values the optimizer has written into the shards.
    """
    units = [u for m in models for u in fsdp_modules(m)]
    for u in units:
        u.set_reshard_after_forward(False, recurse=False)
        u.set_reshard_after_backward(False, recurse=False)
        u.set_requires_gradient_sync(False, recurse=False)  # backward passes inside only accumulate
    for u in units:
        u.unshard()
    try:
        yield
    finally:
        for u in units:
            u.reshard()
            u.set_reshard_after_forward(True, recurse=False)
            u.set_reshard_after_backward(True, recurse=False)
            u.set_requires_gradient_sync(True, recurse=False)


def reduce_gradients(model, zero_loss: Callable[[], torch.Tensor]) -> None:
    """Inside :func:`gathered`: reduce-scatter the gradients the block's backward passes accumulated (summed over
    ranks), leaving each rank the gradient of its weight shard.

    ``zero_loss()`` runs a forward pass and returns a loss whose gradient is exactly zero (e.g. a real loss times 0):
    its backward, with sync on, is the one pass in which every rank's FSDP units reduce, in the same order on every
    rank whatever the rank ran before.
    """
    units = fsdp_modules(model)
    for u in units:
        u.set_requires_gradient_sync(True, recurse=False)
    try:
        zero_loss().backward()
    finally:
        for u in units:
            u.set_requires_gradient_sync(False, recurse=False)


def stored_parameters(model) -> int:
    """Parameter elements this process stores between phases (its shards under FSDP, everything otherwise)."""
    return sum(p.to_local().numel() if hasattr(p, "to_local") else p.numel() for p in model.parameters())


def grad_norm_value(norm) -> float:
    """``clip_grad_norm_``'s total norm as a float (a DTensor over sharded gradients: already the global norm)."""
    return float(norm.full_tensor()) if hasattr(norm, "full_tensor") else float(norm)


# --- checkpoints in the one-process format ---------------------------------------------------------------------------
def shard_like(full: torch.Tensor, like) -> torch.Tensor:
    """``full`` split as the sharded tensor ``like`` is; every rank holds ``full`` (read from the same files), so
    each keeps its own chunk without communication (``src_data_rank=None``)."""
    from torch.distributed.tensor import distribute_tensor

    return distribute_tensor(full.to(like.device, like.dtype), like.device_mesh, like.placements, src_data_rank=None)


def full_optimizer_state(model, optimizer) -> dict:
    """The optimizer state with every moment whole, in ``optimizer.state_dict()``'s one-process layout (state keyed
    by the parameter's position among the trainable ones). Every rank must call it (it gathers)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    if [id(p) for group in optimizer.param_groups for p in group["params"]] != [id(p) for p in trainable]:
        raise ValueError("fsdp: the optimizer's parameters are not the model's trainable ones in order")
    plain = optimizer.state_dict()  # position-keyed already, with sharded moments
    state = {i: {k: v.full_tensor().cpu() if hasattr(v, "full_tensor") else v for k, v in entry.items()}
             for i, entry in plain["state"].items()}
    return {"state": state, "param_groups": plain["param_groups"]}


def load_full_optimizer_state(model, optimizer, optimizer_state: dict) -> None:
    """Inverse of :func:`full_optimizer_state`: each rank keeps its shard of every moment."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    state = {}
    for i, entry in optimizer_state["state"].items():
        p = trainable[int(i)]
        state[int(i)] = {k: shard_like(v, p) if torch.is_tensor(v) and v.shape == p.shape else v
                         for k, v in entry.items()}
    optimizer.load_state_dict({"state": state, "param_groups": optimizer_state["param_groups"]})
