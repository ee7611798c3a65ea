"""Data-parallel training over K processes with Hugging Face Accelerate: ranks, group sharding and the collectives.

Launch (see docs/scale.md)::

    torchrun --nproc_per_node 2 -m gigpo train ...                     # CPU (gloo)
    accelerate launch --multi_gpu --num_processes 2 -m gigpo train ...  # GPUs (NCCL)

What is split and what is shared:

- **Task groups** are split across ranks in contiguous blocks (:func:`shard_groups`); a group is never split, so each
  rank computes GiGPO/GRPO advantages on complete groups, exactly as one process would.
- **Every rank holds the full model** and starts from the same weights (same files, same keyed LoRA init). After each
  minibatch the gradients are summed over ranks (:meth:`Distributed.sum_gradients_`); since every rank weighs its
  units by ``1 / (units in the global minibatch)``, the sum is the token-mean loss over the global batch, and the
  identical optimizer step keeps the replicas identical. With ``fsdp`` (full fine-tuning) each rank holds a shard
  instead, and the gradients are summed by FSDP's reduce-scatter (``sharding.py``).
- **Metrics** are computed from all ranks' rows (gathered) or summed over ranks; only rank 0 writes files.

A plain ``python -m gigpo train`` (no launcher) is one process and never touches ``torch.distributed``.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

import torch


def shard_groups(num_groups: int, world_size: int, rank: int, *, allow_empty: bool = False) -> range:
    """The global task-group indices rank ``rank`` rolls out: contiguous blocks, sizes differing by at most one.

    The first ``num_groups % world_size`` ranks take one group more. Training needs at least one group per rank
    (``allow_empty=False``: a ``ValueError`` otherwise); the evaluation's one-task groups may leave a rank idle.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}")
    if num_groups < world_size and not allow_empty:
        raise ValueError(f"num_groups ({num_groups}) must be at least the number of processes ({world_size}): "
                         "task groups are split across processes and never split themselves")
    base, extra = divmod(num_groups, world_size)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (1 if rank < extra else 0))


def groups_per_rank(num_groups: int, world_size: int) -> list[int]:
    return [len(shard_groups(num_groups, world_size, r)) for r in range(world_size)]


def global_row_index(traj_ids: list[int], dist: "Distributed") -> tuple[list[int], int]:
    """Number this rank's step rows within all ranks' rows; returns ``(index of each local row, total rows)``.

    The numbering follows (global task group, rollout, step): ranks hold contiguous blocks of groups in rank order,
    and within a rank trajectory ids grow with the group (``GroupRunner``: env ``i`` is rollout ``i % N`` of group
    ``i // N``) while a trajectory's rows are in time order, so a stable sort by trajectory id gives that order. It
    does not depend on K, nor on the lock-step order in which rows were recorded.
    """
    counts = dist.all_gather_object(len(traj_ids))
    offset = sum(counts[:dist.rank])
    order = torch.as_tensor(traj_ids, dtype=torch.long).argsort(stable=True)
    index = torch.empty_like(order)
    index[order] = torch.arange(len(traj_ids)) + offset
    return index.tolist(), sum(counts)


def launched_world_size() -> int:
    """Processes started by a launcher (torchrun / accelerate launch set ``WORLD_SIZE``); 1 without one."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass
class Distributed:
    """This process's place in the run, and the few collectives the trainer needs (no-ops when alone)."""

    rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    fsdp: bool = False
    """Shard the model over the ranks (``sharding.py``) instead of holding a replica on each."""
    accelerator: Any = field(default=None, repr=False)

    @classmethod
    def start(cls, device: str, fsdp: bool = False) -> "Distributed":
        """One process: nothing to set up. Under a launcher: an ``accelerate.Accelerator`` (gloo on CPU, NCCL on GPU).

        ``device`` is the resolved single-process choice (``cpu`` or ``cuda``); under a launcher each rank then uses
        the Accelerator's device (``cuda:<local rank>`` on GPUs). ``fsdp`` asks for sharding (``TrainConfig.fsdp``);
        an accelerate config with FSDP (``accelerate launch --use_fsdp``, GPUs) asks for it too.
        """
        if launched_world_size() == 1:
            if fsdp:
                raise ValueError("fsdp shards the model over several processes; start the run with a launcher "
                                 "(torchrun --nproc_per_node K or accelerate launch --num_processes K), or drop fsdp")
            return cls(device=device)
        from accelerate import Accelerator
        from accelerate.utils import DistributedType

        accelerator = Accelerator(cpu=device == "cpu")
        kind = accelerator.distributed_type
        if kind not in (DistributedType.MULTI_CPU, DistributedType.MULTI_GPU, DistributedType.FSDP):
            raise ValueError(f"distributed training supports data parallelism (MULTI_CPU, MULTI_GPU) and FSDP; the "
                             f"launcher asked for {kind}. DeepSpeed is not supported by the gigpo trainer")
        return cls(rank=accelerator.process_index, world_size=accelerator.num_processes,
                   device=str(accelerator.device), fsdp=fsdp or kind == DistributedType.FSDP, accelerator=accelerator)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def on_main(self, fn):
        """Run ``fn()`` on rank 0 only and hand its result to every rank; a ``ValueError`` there is raised on all
        ranks (e.g. checks of the output folder that rank 0 then changes)."""
        outcome = None
        if self.is_main:
            try:
                outcome = ("ok", fn())
            except ValueError as exc:
                outcome = ("error", str(exc))
                if self.world_size == 1:
                    raise
        kind, value = self.broadcast_object(outcome)
        if kind == "error":
            raise ValueError(value)
        return value

    @contextlib.contextmanager
    def main_first(self, needed: bool = True):
        """Rank 0 runs the body first (e.g. a warm start it saves), then the other ranks (which load what it saved);
        ``needed`` False: every rank at once."""
        if needed and not self.is_main:
            self.barrier()
        yield
        if needed and self.is_main:
            self.barrier()

    def all_gather_object(self, obj) -> list:
        """Every rank's ``obj`` (picklable), in rank order."""
        if self.world_size == 1:
            return [obj]
        out = [None] * self.world_size
        torch.distributed.all_gather_object(out, obj)
        return out

    def broadcast_object(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if self.world_size == 1:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """All-reduce ``tensor`` in place with a sum over ranks (on the collective's device); returns it."""
        if self.world_size > 1:
            torch.distributed.all_reduce(tensor)
        return tensor

    def sum_floats(self, values: list[float]) -> list[float]:
        """Sum a few Python floats over ranks in one all-reduce (float64, so counts stay exact)."""
        if self.world_size == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        return self.sum_(t).tolist()

    def sum_gradients_(self, params: list[torch.nn.Parameter]) -> None:
        """Sum the gradients of ``params`` over ranks, in one flat buffer (what DDP's buckets do, in one bucket).

        Done by hand rather than by a DDP wrapper because ranks hold different numbers of rows, so they run
        different numbers of micro-batches per minibatch (a rank may hold none of a minibatch's rows); DDP needs
        every rank to run the same backward passes. A parameter without a gradient contributes zeros.
        """
        if self.world_size == 1:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1).float() for g in grads])
        self.sum_(flat)
        offset = 0
        for p, g in zip(params, grads):
            p.grad = flat[offset:offset + g.numel()].view_as(g).to(g.dtype)
            offset += g.numel()

    def barrier(self) -> None:
        if self.world_size > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        """Tear down the process group (a launcher's processes then exit cleanly)."""
        if self.world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
