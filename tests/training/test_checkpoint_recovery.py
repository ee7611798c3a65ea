"""Recovery from damaged, old, crafted or foreign run folders: a fallback that keeps what the resumed run writes,
a checkpoint written by v0.2 that converts and resumes, numpy 1 pickles, crafted manifests and state files reported
as damage, ``--overwrite`` over links, and a conversion that is atomic. Runs go through the CLI where a user would
use it (``gigpo.__main__.main``, in this process so the test env is registered)."""
import io
import json
import os
import pickle
import pickletools
import re
import shutil
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import gigpo.training.checkpoints.checkpoint_convert as convert_module
from gigpo.__main__ import main
from gigpo.run_files.metrics import read_metrics
from gigpo.training.checkpoints.checkpoint import (
    MANIFEST,
    checkpoint_problem,
    is_legacy,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_state,
    save_checkpoint,
    write_manifest,
)
from gigpo.training.checkpoints.checkpoint_convert import convert_checkpoints
from gigpo.training.checkpoints.state_files import load_state
from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train
from tests.support.tiny_runs import TINY_RUN, cli_train

V02_RUN = Path(__file__).parents[1] / "support" / "data" / "v0_2_checkpoint"


def names(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "checkpoints").iterdir())


# --- 1. a fallback keeps what the resumed run writes ----------------------------------------------------------------
@pytest.mark.slow  # three CLI runs, ~20 s (the pruning rule alone: the next test)
def test_after_a_fallback_the_resumed_runs_checkpoints_are_kept_and_the_damaged_one_is_set_aside(tmp_path):
    run = tmp_path / "run"
    assert cli_train(run, iterations=4, checkpoint_every=2, keep_checkpoints=2) == 0
    assert names(run) == ["iter_000002", "iter_000004"]
    damaged = run / "checkpoints" / "iter_000004" / "optimizer.safetensors"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])  # what a host crash can leave

    with pytest.warns(UserWarning, match="resuming from iter_000002") as caught:
        assert cli_train(run, "--resume", iterations=3, checkpoint_every=1, keep_checkpoints=1) == 0
    # the checkpoint just written is kept; the damaged one is neither resumed nor counted
    assert names(run) == ["damaged_iter_000004", "iter_000003"]
    assert re.search(r"iter_000004 \(optimizer.safetensors does not match its checksum .*\), moved to "
                     "damaged_iter_000004", str(caught[0].message))
    assert [p.name for p in list_checkpoints(run)] == ["iter_000003"]
    assert checkpoint_problem(run / "checkpoints" / "iter_000003") is None

    assert cli_train(run, "--resume", iterations=4, checkpoint_every=1, keep_checkpoints=1) == 0  # resumes again
    assert names(run) == ["damaged_iter_000004", "iter_000004"]
    assert read_state(run / "checkpoints" / "iter_000004")["iterations_done"] == 4
    assert [r["iteration"] for r in read_metrics(run)] == [0, 1, 2, 3]


def test_pruning_never_removes_the_checkpoint_just_written(tmp_path):
    model, opt = small_model(), None
    opt = trained_optimizer(model)
    for done in (2, 4, 6):
        save_checkpoint(tmp_path, done, model, opt, {}, keep=3)
    save_checkpoint(tmp_path, 3, model, opt, {}, keep=2)  # a run resumed from 2 (4 and 6 belong to the old one)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["iter_000002", "iter_000003"]


# --- 2. a checkpoint written by v0.2 converts and resumes -----------------------------------------------------------
def test_a_checkpoint_written_by_v0_2_converts_and_resumes_through_the_cli(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(V02_RUN, run)
    old = run / "checkpoints" / "iter_000002"
    assert is_legacy(old) and "filter_groups" not in read_state(old)["config"]  # written before those settings
    pickled = torch.load(old / "optimizer.pt", weights_only=False)

    assert main(["convert-checkpoint", str(run)]) == 0
    assert f"converted {old}" in capsys.readouterr().out
    assert checkpoint_problem(old) is None and not (old / "optimizer.pt").exists()
    converted = load_state(old / "optimizer.safetensors")
    assert converted["param_groups"] == pickled["param_groups"]
    assert converted["state"].keys() == pickled["state"].keys()
    for k, state in pickled["state"].items():
        assert all(torch.equal(converted["state"][k][name], value) for name, value in state.items())

    assert cli_train(run, "--resume", iterations=3, checkpoint_every=1, keep_checkpoints=1) == 0
    assert [r["iteration"] for r in read_metrics(run)] == [0, 1, 2]
    assert [p.name for p in list_checkpoints(run)] == ["iter_000003"]
    assert read_state(run / "checkpoints" / "iter_000003")["config"]["filter_groups"] == "none"
    # a setting that differs from the checkpointed run is still refused, a default for a field it lacked included
    assert cli_train(run, "--resume", iterations=4, filter_groups="outcome") == 2
    assert "settings differ from the checkpointed run: filter_groups (run: 'none', now: 'outcome')" in \
        capsys.readouterr().err


# --- 3. pickles written under numpy 1 -------------------------------------------------------------------------------
class Foreign:
    """Stands for code a pickle could run: outside the allow-list."""

    def __init__(self, x=1):
        self.x = x


class Numpy1Pickler(pickle._Pickler):
    """Names numpy's reconstructor as numpy 1 did (``numpy.core.multiarray._reconstruct``); the rest as usual."""

    def save_global(self, obj, name=None):
        if obj is np._core.multiarray._reconstruct:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


NUMPY1 = types.SimpleNamespace(Pickler=Numpy1Pickler, Unpickler=pickle.Unpickler, __name__="numpy1_pickle")


def globals_named(file: Path) -> set[str]:
    data = next(zipfile.ZipFile(file).read(n) for n in zipfile.ZipFile(file).namelist() if n.endswith("data.pkl"))
    return {arg.replace(" ", ".") for op, arg, _ in pickletools.genops(io.BytesIO(data)) if op.name == "GLOBAL"}


def test_a_checkpoint_pickled_under_numpy_1_converts_and_a_foreign_type_alone_is_named(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(V02_RUN, run)
    folder = run / "checkpoints" / "iter_000002"
    rng = torch.load(folder / "rng.pt", weights_only=False)
    torch.save(rng, folder / "rng.pt", pickle_module=NUMPY1)
    assert "numpy.core.multiarray._reconstruct" in globals_named(folder / "rng.pt")  # numpy 1's name, really
    assert not any(name.startswith("numpy._core") for name in globals_named(folder / "rng.pt"))

    convert_checkpoints(run)
    assert checkpoint_problem(folder) is None
    numpy_state = load_state(folder / "rng.safetensors")["numpy"]
    assert numpy_state[0] == rng["numpy"][0] and np.array_equal(numpy_state[1], rng["numpy"][1])
    assert tuple(numpy_state[2:]) == tuple(rng["numpy"][2:])
    cli_train(run, "--resume", iterations=3)  # and it resumes
    assert [r["iteration"] for r in read_metrics(run)] == [0, 1, 2]

    foreign = tmp_path / "foreign" / "checkpoints" / "iter_000001"
    shutil.copytree(V02_RUN / "checkpoints" / "iter_000002", foreign)
    torch.save({**rng, "extra": Foreign()}, foreign / "rng.pt", pickle_module=NUMPY1)
    with pytest.raises(ValueError) as refused:
        convert_checkpoints(foreign.parent.parent)
    message = str(refused.value)
    listed = message[message.index("(") + 1:message.index(")")]
    assert listed == f"{__name__}.Foreign"  # only what is outside the allow-list, no numpy name
    assert "--trust-pickle" in message and (foreign / "rng.pt").exists() and not (foreign / MANIFEST).exists()


# --- 4. crafted files are damage, with the file and the reason ------------------------------------------------------
def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))


def trained_optimizer(model, steps=2):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        model(torch.ones(2, 3)).pow(2).sum().backward()
        opt.step()
    return opt


def two_checkpoints(tmp_path):
    model = small_model()
    opt = trained_optimizer(model)
    for done in (1, 2):
        save_checkpoint(tmp_path, done, model, opt, {"lr": 0.1}, keep=2)
    return tmp_path / "checkpoints" / "iter_000002"


def craft_state(file: Path, structure: str) -> None:
    """Replace a state file's structure by ``structure`` (its tensors stay) and re-sign the manifest, as someone
    handing over a crafted run folder would: the checksums match."""
    save_file(load_file(file), str(file), metadata={"gigpo_state": structure})
    write_manifest(file.parent)


DEEP = "[" * 100_000 + "]" * 100_000  # deeper than json parses
NESTED = '{"a": ' * 200 + "1" + "}" * 200  # parses, deeper than any state
CRAFTED_STATES = {
    "unhashable dict key": ('{"__dict__": [[{"a": 1}, 2]]}', "cannot key a dict"),
    "list as tensor name": ('{"__tensor__": ["t0"]}', r"names tensor \['t0'\]"),
    "deep nesting": (DEEP, "nested too deeply"),
    "nesting past the limit": (NESTED, "nested deeper than"),
    "tuple of a number": ('{"__tuple__": 3}', "__tuple__ holds int"),
    "dict entry not a pair": ('{"__dict__": [[1, 2, 3]]}', "not a \\[key, value\\] pair"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED_STATES))
def test_a_crafted_state_file_is_damage_named_with_its_reason_and_resume_falls_back(tmp_path, case):
    structure, reason = CRAFTED_STATES[case]
    newest = two_checkpoints(tmp_path)
    file = newest / "optimizer.safetensors"
    craft_state(file, structure)
    with pytest.raises(ValueError, match=str(file).replace("/", ".") + ".*" + reason):
        load_state(file)
    problem = checkpoint_problem(newest)
    assert str(file) in problem and re.search(reason, problem)
    with pytest.warns(UserWarning, match="resuming from iter_000001"):
        assert latest_checkpoint(tmp_path).name == "iter_000001"
    with pytest.raises(ValueError, match="is damaged"):
        load_checkpoint(newest, small_model(), trained_optimizer(small_model()))


CRAFTED_MANIFESTS = {
    "sha256 null": ({"sha256": None}, "sha256 entry is a NoneType"),
    "sha256 a list": ({"sha256": ["a", "b"]}, "sha256 entry is a list"),
    "a digest null": ("null digest", "the sha256 of trainable.safetensors is a NoneType"),
    "a digest a list": ("list digest", "the sha256 of trainable.safetensors is a list"),
    "a list": ([1, 2], "unreadable"),
    "deep nesting": (DEEP, "unreadable"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED_MANIFESTS))
def test_a_crafted_manifest_is_damage_and_resume_falls_back(tmp_path, case):
    content, reason = CRAFTED_MANIFESTS[case]
    newest = two_checkpoints(tmp_path)
    sums = json.loads((newest / MANIFEST).read_text())["sha256"]
    if content == "null digest":
        content = {"sha256": {**sums, "trainable.safetensors": None}}
    elif content == "list digest":
        content = {"sha256": {**sums, "trainable.safetensors": [sums["trainable.safetensors"]]}}
    (newest / MANIFEST).write_text(content if isinstance(content, str) else json.dumps(content))
    assert reason in checkpoint_problem(newest)
    with pytest.warns(UserWarning, match=f"skipped {newest} \\({MANIFEST}"):
        assert latest_checkpoint(tmp_path).name == "iter_000001"


def test_a_crafted_state_json_is_damage(tmp_path):
    newest = two_checkpoints(tmp_path)
    file = newest / "state.json"
    for state, reason in (([1], "holds a list, not an object"),
                          ({"iterations_done": "2", "config": {}}, ": iterations_done is '2', not an int >= 0"),
                          ({"iterations_done": 2, "config": [1]}, ": config is list, not an object")):
        file.write_text(json.dumps(state))
        write_manifest(newest)
        assert checkpoint_problem(newest) == f"{file}{'' if reason.startswith(':') else ' '}{reason}"


def test_resume_falls_back_over_a_crafted_rng_file(tmp_path):
    cfg = TrainConfig(**TINY_RUN, iterations=2, checkpoint_every=1, output_dir=str(tmp_path))
    straight = train(cfg)
    craft_state(tmp_path / "checkpoints" / "iter_000002" / "rng.safetensors", '{"__tensor__": ["t0"]}')
    with pytest.warns(UserWarning, match=r"iter_000002/rng.safetensors: the structure names tensor \['t0'\]"):
        resumed = train(cfg.replace(iterations=3), resume=True)
    assert [r["iteration"] for r in resumed] == [0, 1, 2]
    assert resumed[1]["success_rate"] == straight[1]["success_rate"]  # iteration 1 was played again, the same


# --- 5. --overwrite over links --------------------------------------------------------------------------------------
def test_overwrite_unlinks_links_without_following_them(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    (outside / "data").mkdir(parents=True)
    (outside / "data" / "keep.txt").write_text("not the run's")
    (outside / "file.txt").write_text("not the run's either")
    assert cli_train(run, iterations=1) == 0
    (run / "checkpoints" / "linked_folder").symlink_to(outside / "data", target_is_directory=True)
    (run / "final" / "linked_file").symlink_to(outside / "file.txt")
    (run / "warm_start").symlink_to(outside / "data", target_is_directory=True)  # an entry of the run, a link
    (run / "vllm_sync").symlink_to(tmp_path / "nowhere")  # a dangling link

    assert cli_train(run, "--overwrite", iterations=1) == 0
    assert (outside / "data" / "keep.txt").read_text() == "not the run's"
    assert (outside / "file.txt").read_text() == "not the run's either"
    assert not (run / "warm_start").is_symlink() and not os.path.lexists(run / "vllm_sync")
    assert names(run) == ["iter_000001"] and sorted(p.name for p in (run / "final").iterdir()) == sorted(
        p.name for p in (run / "final").iterdir() if not p.is_symlink())


def test_overwrite_checks_the_whole_folder_before_deleting_anything(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli_train(run, iterations=1) == 0
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    fifo = run / "final" / "a_pipe"
    os.mkfifo(fifo)
    assert cli_train(run, "--overwrite", iterations=1) == 2
    assert re.search(f"error: overwrite: nothing was deleted in .*, because {fifo} is not a regular file, folder or "
                     "link", capsys.readouterr().err)
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*") if p != fifo) == before


# --- 6. conversion is atomic ----------------------------------------------------------------------------------------
class Crash(Exception):
    pass


def crash_after_nth(monkeypatch, module, name, n):
    real, calls = getattr(module, name), []

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == n:
            raise Crash(f"after {name} #{n}")
        return out

    monkeypatch.setattr(module, name, wrapped)


def crash_in_manifest_write(monkeypatch):
    """The manifest's write is cut short: a plain write leaves half of it, a rename never happens."""
    real_write, real_replace = Path.write_text, os.replace

    def write_text(self, data, *args, **kwargs):
        if self.name == MANIFEST:
            real_write(self, data[: len(data) // 2], *args, **kwargs)
            raise Crash("in the manifest's write")
        return real_write(self, data, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == MANIFEST:
            raise Crash("before the manifest's rename")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    monkeypatch.setattr(os, "replace", replace)


def crash_at_unlink(monkeypatch):
    real = Path.unlink

    def unlink(self, *args, **kwargs):
        if self.suffix == ".pt":
            raise Crash("before the pickles went")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)


CRASHES = {
    "after the optimizer's file": lambda mp: crash_after_nth(mp, convert_module, "save_state", 1),
    "after the rng file": lambda mp: crash_after_nth(mp, convert_module, "save_state", 2),
    "at the first fsync": lambda mp: crash_after_nth(mp, convert_module, "fsync_file", 1),
    "in the manifest's write": crash_in_manifest_write,
    "before the pickles are removed": crash_at_unlink,
}


@pytest.mark.parametrize("where", sorted(CRASHES))
def test_a_conversion_cut_short_leaves_the_old_checkpoint_or_the_new_one(tmp_path, monkeypatch, where):
    reference = tmp_path / "reference"
    shutil.copytree(V02_RUN, reference)
    convert_checkpoints(reference)
    new = {name: (reference / "checkpoints" / "iter_000002" / name).read_bytes()
           for name in ("trainable.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json")}

    run = tmp_path / "run"
    shutil.copytree(V02_RUN, run)
    folder = run / "checkpoints" / "iter_000002"
    old = {p.name: p.read_bytes() for p in folder.iterdir()}
    with monkeypatch.context() as mp:
        CRASHES[where](mp)
        with pytest.raises(Crash):
            convert_checkpoints(run)
    if is_legacy(folder):  # the old checkpoint: its files untouched, converted again the same way
        assert {name: (folder / name).read_bytes() for name in old} == old and not (folder / MANIFEST).exists()
        convert_checkpoints(run)
    assert checkpoint_problem(folder) is None, where  # the new one
    assert {name: (folder / name).read_bytes() for name in new} == new


# --- 7 is in test_outcome_filter.py; 10 in test_loss_agg_verl.py ----------------------------------------------------
