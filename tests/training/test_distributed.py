"""Data-parallel training (issue 15): group sharding, keyed sampling that does not depend on which groups share a
batch, and real 2-process runs under ``torchrun`` (gloo, CPU) against a 1-process run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import envs
from gigpo.policy.hf_backend import HFBackend
from gigpo.policy.sampling import GumbelSampler, sample_rows
from gigpo.run_files.metrics import without_measurements
from gigpo.training.checkpoints.state_files import load_state
from gigpo.training.rollouts.rollout import collect_rollouts
from gigpo.training.systems.distributed import Distributed, global_row_index, groups_per_rank, shard_groups
from gigpo.training.systems.models import load_model_and_tokenizer
from gigpo.training.systems.seeds import SamplingStreams, stream_seed
from tests.support.tiny_training import TINY  # noqa: F401  (registers the "corridor" env)

ROOT = Path(__file__).resolve().parents[2]


# --- sharding --------------------------------------------------------------------------------------------------------
def test_groups_split_into_contiguous_blocks_as_even_as_possible():
    assert [list(shard_groups(4, 2, r)) for r in range(2)] == [[0, 1], [2, 3]]
    assert [list(shard_groups(5, 2, r)) for r in range(2)] == [[0, 1, 2], [3, 4]]
    assert [list(shard_groups(7, 3, r)) for r in range(3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert groups_per_rank(16, 3) == [6, 5, 5] and groups_per_rank(2, 1) == [2]
    with pytest.raises(ValueError, match=r"num_groups \(1\) must be at least the number of processes \(2\)"):
        shard_groups(1, 2, 0)
    assert [len(shard_groups(1, 3, r, allow_empty=True)) for r in range(3)] == [1, 0, 0]


class TwoRanks:
    """Just enough of :class:`Distributed` for ``global_row_index``: rank ``rank`` of 2, with the other's row count."""

    world_size = 2

    def __init__(self, rank, counts):
        self.rank, self.counts = rank, counts

    def all_gather_object(self, obj):
        assert obj == self.counts[self.rank]
        return list(self.counts)


def test_global_row_numbering_follows_group_rollout_step_order_on_every_rank():
    # lock-step record order of 2 rollouts (traj 0, 1) of one group: t0 t0 t1 t1 t2 (traj 1 ended after 2 steps)
    traj = [0, 1, 0, 1, 0]
    index, total = global_row_index(traj, Distributed())
    assert (index, total) == ([0, 3, 1, 4, 2], 5)  # traj 0's three steps first, then traj 1's two
    # the same rows on rank 1 of 2, behind rank 0's 4 rows
    index, total = global_row_index(traj, TwoRanks(1, [4, 5]))
    assert (index, total) == ([4, 7, 5, 8, 6], 9)


# --- keyed sampling --------------------------------------------------------------------------------------------------
def test_stream_seeds_are_pure_and_distinct():
    assert stream_seed(3, "rollout", 1, 2, 0) == stream_seed(3, "rollout", 1, 2, 0)
    seeds = {stream_seed(s, p, i, g) for s in (0, 1) for p in ("rollout", "eval") for i in (0, 1) for g in (0, 1)}
    assert len(seeds) == 16 and all(0 <= x < 2**63 for x in seeds)
    with pytest.raises(ValueError, match="unknown random stream purpose 'rollouts'"):
        stream_seed(0, "rollouts", 1)
    with pytest.raises(ValueError, match="non-negative integers"):
        stream_seed(-1, "rollout", 1)


def test_gumbel_sampler_is_argmax_of_tempered_scores_plus_gumbel_noise_from_the_rows_key():
    scores = torch.tensor([[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 3.0, 1.0], [2.0, 1.0, 0.0, 0.0]])
    keys, temperature = [11, 22, 11], 0.7
    out = GumbelSampler(keys, temperature)(None, scores)
    # restatement: rows 0 and 2 share key 11 and draw one (2, V) block in row order; row 1 draws from key 22
    g11, g22 = torch.Generator().manual_seed(11), torch.Generator().manual_seed(22)
    u11 = torch.rand((2, 4), generator=g11, dtype=torch.float64)
    u22 = torch.rand((1, 4), generator=g22, dtype=torch.float64)
    noise = -torch.log(-torch.log(torch.cat([u11[:1], u22, u11[1:]])))
    assert torch.allclose(out, scores.double() / temperature + noise)


def test_gumbel_sampling_matches_the_softmax_distribution():
    logits, temperature, draws = torch.tensor([1.0, 0.0, -0.5, 2.0]), 1.5, 20_000
    picks = GumbelSampler([5] * draws, temperature)(None, logits.expand(draws, 4)).argmax(-1)
    counts = torch.bincount(picks, minlength=4).double()
    p = torch.softmax(logits.double() / temperature, 0)
    sd = (p * (1 - p) / draws).sqrt()
    assert ((counts / draws - p).abs() < 5 * sd).all()  # each frequency within 5 standard errors


def test_sample_rows_draws_each_key_in_row_order():
    probs = [torch.tensor([0.2, 0.8], dtype=torch.float64), torch.tensor([0.5, 0.5], dtype=torch.float64),
             torch.tensor([0.9, 0.1], dtype=torch.float64)]
    got = sample_rows(probs, [7, 8, 7])
    g7, g8 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(8)
    expected = [int(torch.multinomial(probs[0], 1, generator=g7)), int(torch.multinomial(probs[1], 1, generator=g8)),
                int(torch.multinomial(probs[2], 1, generator=g7))]
    assert got == expected


@pytest.fixture(scope="module")
def tiny():
    return load_model_and_tokenizer("tiny")


@pytest.mark.parametrize("mode", ["choice", "free"])
def test_a_group_samples_the_same_alone_or_in_a_batch_with_other_groups(tiny, mode):
    """What makes K processes sample the rollouts of one: a group's actions depend on its key, not on its batch."""
    model, tok = tiny
    backend = HFBackend(model, tok)
    opts = dict(mode=mode, temperature=1.0, max_new_tokens=6, history_length=2, invalid_penalty=0.1)
    seeds = [3, 8, 5]
    together, _ = collect_rollouts(backend, envs.GroupRunner("corridor", 3, max_steps=4), seeds,
                                   streams=SamplingStreams(0, "rollout", 2, 0), **opts)
    for g, seed in enumerate(seeds):
        alone, _ = collect_rollouts(backend, envs.GroupRunner("corridor", 3, max_steps=4), [seed],
                                    streams=SamplingStreams(0, "rollout", 2, g), **opts)
        rows = [i for i, x in enumerate(together.group_ids) if x == g]
        mine = sorted(rows, key=lambda i: together.traj_ids[i])  # trajectory, then time (stable)
        ref = sorted(range(len(alone)), key=lambda i: alone.traj_ids[i])
        assert [together.replies[i] for i in mine] == [alone.replies[i] for i in ref]
        if mode == "free":
            assert [together.response_ids[i] for i in mine] == [alone.response_ids[i] for i in ref]
        else:
            assert [together.chosen[i] for i in mine] == [alone.chosen[i] for i in ref]
    # and a different iteration key samples differently (the keys matter)
    other, _ = collect_rollouts(backend, envs.GroupRunner("corridor", 3, max_steps=4), seeds,
                                streams=SamplingStreams(0, "rollout", 3, 0), **opts)
    assert other.replies != together.replies


# --- real 2-process runs ---------------------------------------------------------------------------------------------
# lr 1e-4, not the default 1e-3: Adam turns float32 rounding noise on near-zero gradients into steps of up to
# lr * noise / eps, so weights that took different (equally valid) summation orders drift apart in proportion to lr.
# Measured at lr 1e-3 after 2 updates: 1.6e-5 (K=2 vs K=1), and 1.4e-5 between two 1-process runs that differ only in
# micro_batch_size; at 1e-4 both stay far below the 1e-5 asked.
SMALL = ["--env", "sokoban", "--seed", "0", "--num-groups", "2", "--group-size", "2", "--max-steps", "3",
         "--eval-every", "0", "--checkpoint-every", "1", "--keep-checkpoints", "5", "--no-progress", "--lr", "1e-4"]


def gigpo_train(out: Path, *extra: str, procs: int = 1, base: list[str] = SMALL,
                program: list[str] = ["-m", "gigpo"]) -> None:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs),
                 "--master_port", str(29500 + os.getpid() % 1000)] if procs > 1 else [sys.executable])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(launcher + [*program, "train", *base, "--output-dir", str(out), *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def weights(out: Path, iterations: int) -> dict[str, torch.Tensor]:
    return load_file(out / "checkpoints" / f"iter_{iterations:06d}" / "trainable.safetensors")


EPISODE_METRICS = ("success_rate", "mean_return", "mean_length", "invalid_rate", "num_steps", "rollout_tokens",
                   "step_groups", "step_group_size_per_group", "step_group_size_per_row", "step_group_share_grouped")
ADVANTAGE_METRICS = ("adv_abs", "adv_episode_abs", "adv_step_abs")  # float32 means over rows gathered in rank order


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("dp")
    gigpo_train(root / "one", "--iterations", "2")
    gigpo_train(root / "two", "--iterations", "2", procs=2)
    return root


@pytest.mark.slow
def test_two_processes_sample_the_rollouts_and_reach_the_weights_of_one(runs):
    one, two = rows(runs / "one"), rows(runs / "two")
    assert [r["world_size"] for r in one + two] == [1, 1, 2, 2]
    assert one[0]["groups_per_rank"] == [2] and two[0]["groups_per_rank"] == [1, 1]
    for key in EPISODE_METRICS:  # the same rollouts: the same episodes, rows and step groups
        assert two[0][key] == pytest.approx(one[0][key], rel=1e-12), key
    for key in ADVANTAGE_METRICS:
        assert two[0][key] == pytest.approx(one[0][key], rel=1e-6), key
    for key in ("pg_loss", "kl", "entropy", "response_units"):  # reduced over ranks: the global token means
        assert two[0][key] == pytest.approx(one[0][key], rel=1e-4, abs=1e-6), key
    for it in (1, 2):  # weights after each update
        w1, w2 = weights(runs / "one", it), weights(runs / "two", it)
        assert w1.keys() == w2.keys()
        assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-5
    assert len(two) == 2  # rank 0 alone wrote the rows (two writers would have left 4)


@pytest.mark.slow
def test_a_two_process_run_resumed_equals_the_uninterrupted_one(runs, tmp_path):
    out = tmp_path / "resumed"
    gigpo_train(out, "--iterations", "1", procs=2)
    gigpo_train(out, "--iterations", "2", "--resume", procs=2)
    assert without_measurements(rows(out)) == without_measurements(rows(runs / "two"))
    a = (out / "final" / "adapter_model.safetensors").read_bytes()
    assert a == (runs / "two" / "final" / "adapter_model.safetensors").read_bytes()


# --- dynamic sampling over 2 processes: each rank judges its own groups, the verdicts are gathered, and every rank
# picks the same update groups from the same refills; the corridor (tests/support/corridor.py) is an env the untrained
# tiny model sometimes solves, so some groups have outcome spread and some do not
FILTERED = ["--env", "corridor", "--seed", "0", "--num-groups", "2", "--group-size", "4", "--max-steps", "4",
            "--eval-every", "0", "--checkpoint-every", "1", "--keep-checkpoints", "5", "--no-progress", "--lr", "1e-4",
            "--micro-batch-size", "8",
            "--filter-groups", "outcome", "--max-gen-batches", "3", "--iterations", "3"]
SAMPLING_METRICS = ("gen_batches", "groups_generated", "groups_kept", "episodes_generated", "filter_capped",
                    "groups_unfiltered", "groups_with_spread", "groups_with_signal", "kept_rows", "dropped_rows",
                    "kept_zero_episode_share", "dropped_zero_episode_share", "kept_nonzero_step_share",
                    "dropped_nonzero_step_share", "update_success_rate", "update_mean_length")


@pytest.mark.slow
def test_two_processes_filter_and_refill_the_groups_one_process_does(tmp_path):
    corridor = [str(ROOT / "tests" / "support" / "corridor_cli.py")]
    gigpo_train(tmp_path / "one", base=FILTERED, program=corridor)
    gigpo_train(tmp_path / "two", procs=2, base=FILTERED, program=corridor)
    one, two = rows(tmp_path / "one"), rows(tmp_path / "two")
    # the scenario refills and trains on groups of a refill (else the dealing of kept groups goes untested)
    assert any(r["gen_batches"] > 1 and r["groups_kept"] > 0 for r in one)
    for r1, r2 in zip(one, two):
        for key in SAMPLING_METRICS + EPISODE_METRICS:
            assert r2[key] == (None if r1[key] is None else pytest.approx(r1[key], rel=1e-12)), key
    for it in (1, 2, 3):
        w1, w2 = weights(tmp_path / "one", it), weights(tmp_path / "two", it)
        assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-5


# --- FSDP (full fine-tuning sharded over the ranks) ------------------------------------------------------------------
# Full fine-tuning with the KL reference (sharded too), in minibatches of 5 of the 12 rows (rank 0 plays rows 0-5, rank
# 1 rows 6-11). The keyed shuffle of iteration 0 gives the minibatches [4, 1], [0, 5] and [2, 0] rows of (rank 0, rank
# 1): each rank meets a minibatch without rows of its own, which the lock-step phases must survive.
FSDP = ["--finetune", "full", "--minibatch-size", "5"]


def test_fsdp_is_refused_where_it_cannot_run():
    from gigpo.training.config import TrainConfig

    with pytest.raises(ValueError, match="fsdp shards full fine-tuning with the hf backend"):
        TrainConfig(fsdp=True)  # finetune defaults to lora
    with pytest.raises(ValueError, match="fsdp shards the model over several processes; start the run with a launcher"):
        Distributed.start("cpu", fsdp=True)


def test_an_accelerate_fsdp_config_turns_sharding_on(monkeypatch):
    """``accelerate launch --use_fsdp`` (GPUs only: accelerate keeps CPU runs MULTI_CPU) reaches the trainer as an
    Accelerator whose distributed type is FSDP; stood in for here, since no GPU is at hand."""
    import accelerate
    from accelerate.utils import DistributedType

    class FSDPAccelerator:
        def __init__(self, cpu):
            self.distributed_type, self.process_index, self.num_processes, self.device = (
                DistributedType.FSDP, 1, 2, "cuda:1")

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(accelerate, "Accelerator", FSDPAccelerator)
    dist = Distributed.start("cuda")
    assert (dist.fsdp, dist.rank, dist.world_size, dist.device) == (True, 1, 2, "cuda:1")
    FSDPAccelerator.__init__ = lambda self, cpu: setattr(self, "distributed_type", DistributedType.DEEPSPEED)
    with pytest.raises(ValueError, match="launcher asked for DistributedType.DEEPSPEED"):
        Distributed.start("cuda")


@pytest.fixture(scope="module")
def fsdp_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdp")
    gigpo_train(root / "one", "--iterations", "2", *FSDP)
    gigpo_train(root / "two", "--iterations", "2", "--fsdp", *FSDP, procs=2)
    return root


def optimizer_state(out: Path, iterations: int) -> dict:
    return load_state(out / "checkpoints" / f"iter_{iterations:06d}" / "optimizer.safetensors")


@pytest.mark.slow
def test_fsdp_shards_the_model_and_reaches_the_weights_of_one_process(fsdp_runs):
    one, two = rows(fsdp_runs / "one"), rows(fsdp_runs / "two")
    [whole] = one[0]["params_per_rank"]
    shards = two[0]["params_per_rank"]
    assert sum(shards) == whole and max(shards) < 0.55 * whole  # each rank stores about half, not a replica
    assert [r["update_steps"] for r in one] == [r["update_steps"] for r in two] == [3, 3]
    for key in EPISODE_METRICS:
        assert two[0][key] == pytest.approx(one[0][key], rel=1e-12), key
    for key in ("pg_loss", "kl", "entropy", "grad_norm"):
        assert [r[key] for r in two] == pytest.approx([r[key] for r in one], rel=1e-4, abs=1e-6), key
    for it in (1, 2):  # the checkpoints hold whole tensors in the one-process layout, whoever wrote them
        w1, w2 = weights(fsdp_runs / "one", it), weights(fsdp_runs / "two", it)
        assert w1.keys() == w2.keys()
        assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-5
        o1, o2 = optimizer_state(fsdp_runs / "one", it), optimizer_state(fsdp_runs / "two", it)
        assert o1["state"].keys() == o2["state"].keys() and o1["param_groups"] == o2["param_groups"]
        for i in o1["state"]:
            assert float(o1["state"][i]["step"]) == float(o2["state"][i]["step"]) == 3 * it
            for moment in ("exp_avg", "exp_avg_sq"):
                assert o2["state"][i][moment].shape == o1["state"][i][moment].shape
                assert torch.allclose(o2["state"][i][moment], o1["state"][i][moment], rtol=1e-3, atol=1e-7)
    f1 = load_file(fsdp_runs / "one" / "final" / "model.safetensors")
    f2 = load_file(fsdp_runs / "two" / "final" / "model.safetensors")
    assert f1.keys() == f2.keys() and max(float((f1[k] - f2[k]).abs().max()) for k in f1) < 1e-5


@pytest.mark.slow
def test_fsdp_resume_is_exact_and_its_checkpoint_resumes_without_sharding(fsdp_runs, tmp_path):
    import shutil

    out, plain = tmp_path / "resumed", tmp_path / "plain"
    gigpo_train(out, "--iterations", "1", "--fsdp", *FSDP, procs=2)
    shutil.copytree(out, plain)
    gigpo_train(out, "--iterations", "2", "--resume", "--fsdp", *FSDP, procs=2)
    assert without_measurements(rows(out)) == without_measurements(rows(fsdp_runs / "two"))
    assert (out / "final" / "model.safetensors").read_bytes() == \
        (fsdp_runs / "two" / "final" / "model.safetensors").read_bytes()
    # the sharded run's checkpoint, continued by one process without sharding: the one-process run's weights
    gigpo_train(plain, "--iterations", "2", "--resume", *FSDP)
    assert rows(plain)[1]["world_size"] == 1
    w1, w2 = weights(fsdp_runs / "one", 2), weights(plain, 2)
    assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-5
