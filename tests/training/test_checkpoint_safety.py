"""Checkpoints a user may receive from someone else run no code (issue 28), and checkpoints survive a crash of the
host (issue 22, items 3-4): nothing is unpickled on resume, old pickled checkpoints are refused with the command that
converts them, every file is fsynced before the rename and before pruning, a checksum manifest makes resume skip a
damaged newest checkpoint for the previous one, and no CUDA RNG state is stored or restored."""
import builtins
import json
import os
import warnings
from pathlib import Path

import pytest
import torch

from gigpo.__main__ import main
from gigpo.run_files.metrics import read_metrics
from gigpo.training.checkpoints import checkpoint as checkpoint_module
from gigpo.training.checkpoints.checkpoint import (
    FILES,
    MANIFEST,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    rng_states,
    save_checkpoint,
    write_manifest,
)
from gigpo.training.checkpoints.checkpoint_convert import convert_checkpoints
from gigpo.training.checkpoints.state_files import load_state
from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train
from tests.support.optimizer_state import optimizer_tensors, small_model, trained_optimizer
from tests.support.tiny_training import TINY, final_bytes, training_rows


class CreatesAFile:
    """Unpickling this calls ``open(target, "w")``: the file appearing is the proof that loading ran code."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return builtins.open, (self.target, "w")


def plant_pickle(path: Path, target: Path) -> None:
    torch.save({"state": CreatesAFile(target), "param_groups": []}, path)


def make_legacy(folder: Path, payload_target: Path | None = None, *, optimizer=None, cuda_states=False) -> None:
    """Turn a current checkpoint folder into the layout of earlier versions (optimizer.pt, rng.pt; no manifest)."""
    for name in ("optimizer.safetensors", "rng.safetensors", MANIFEST):
        (folder / name).unlink()
    state = json.loads((folder / "state.json").read_text())
    state.pop("lr_horizon")
    (folder / "state.json").write_text(json.dumps(state))
    if payload_target is not None:
        plant_pickle(folder / "optimizer.pt", payload_target)
        plant_pickle(folder / "rng.pt", payload_target)
        return
    torch.save(optimizer.state_dict(), folder / "optimizer.pt")
    rng = rng_states()
    if cuda_states:  # what a 2-GPU machine stored: one state per visible GPU
        rng["cuda"] = [torch.zeros(16, dtype=torch.uint8), torch.ones(16, dtype=torch.uint8)]
    torch.save(rng, folder / "rng.pt")


def test_the_planted_payload_is_live_when_unpickled(tmp_path):
    """Guards the tests below: loading the planted file the old way does create the file."""
    target = tmp_path / "pwned"
    plant_pickle(tmp_path / "optimizer.pt", target)
    torch.load(tmp_path / "optimizer.pt", weights_only=False)
    assert target.exists()


def test_resume_from_a_pickled_old_checkpoint_runs_no_code_and_names_the_conversion(tmp_path, capsys):
    cfg = TrainConfig(**{**TINY, "eval_every": 0}, iterations=1, output_dir=str(tmp_path / "run"))
    train(cfg)
    [ckpt] = list_checkpoints(cfg.output_dir)
    target = tmp_path / "pwned"
    make_legacy(ckpt, target)
    with pytest.raises(ValueError, match=r"earlier gigpo.*python -m gigpo convert-checkpoint"):
        train(cfg.replace(iterations=2), resume=True)
    assert not target.exists()
    # the conversion reads the pickles with weights_only=True: the payload is refused, and the message names the flag
    assert main(["convert-checkpoint", cfg.output_dir]) == 2
    err = capsys.readouterr().err
    assert "io.open" in err and "--trust-pickle" in err  # open, as the pickle names it
    assert not target.exists() and (ckpt / "optimizer.pt").exists()


def test_a_pickle_in_place_of_a_safetensors_file_is_not_loaded(tmp_path):
    model = small_model()
    path = save_checkpoint(tmp_path, 1, model, trained_optimizer(model), {})
    target = tmp_path / "pwned"
    for name in ("optimizer.safetensors", "rng.safetensors", "trainable.safetensors"):
        original = (path / name).read_bytes()
        plant_pickle(path / name, target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match="no intact checkpoint.*does not match its checksum"):
                latest_checkpoint(tmp_path)
        write_manifest(path)  # a sender who also rewrites the manifest: the file is still parsed as safetensors only
        with pytest.raises(ValueError, match=f"{name} is not a readable safetensors"):
            load_checkpoint(path, model, trained_optimizer(model))
        assert not target.exists()
        (path / name).write_bytes(original)
        write_manifest(path)
    load_checkpoint(path, model, trained_optimizer(model))  # intact again


def test_an_old_checkpoint_converts_once_and_loads_exactly_without_its_cuda_states(tmp_path, monkeypatch):
    model = small_model()
    opt = trained_optimizer(model)
    path = save_checkpoint(tmp_path, 3, model, opt, {"iterations": 8})
    make_legacy(path, optimizer=opt, cuda_states=True)
    with pytest.raises(ValueError, match="convert-checkpoint"):
        load_checkpoint(path, model, opt)
    assert convert_checkpoints(tmp_path) == [path]
    assert sorted(p.name for p in path.iterdir()) == sorted((*FILES, MANIFEST))  # the pickles are gone
    assert json.loads((path / "state.json").read_text()).get("lr_horizon") is None  # untouched: read from config
    assert checkpoint_module.saved_lr_horizon(path) == 8
    assert set(load_state(path / "rng.safetensors")) == {"torch", "numpy", "random"}

    def fails_like_a_one_gpu_machine(states):
        raise IndexError("2 states for 1 visible GPU")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", fails_like_a_one_gpu_machine)
    fresh = small_model()
    with torch.no_grad():
        for p in fresh.parameters():
            p.add_(1.0)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=1e-2)
    assert load_checkpoint(path, fresh, fresh_opt) == 3
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))
    got, want = optimizer_tensors(fresh_opt), optimizer_tensors(opt)
    assert got[1] == want[1] and got[0].keys() == want[0].keys()
    assert all(torch.equal(got[0][k], want[0][k]) for k in want[0])


def test_checkpoints_store_no_cuda_rng_state(tmp_path, monkeypatch):
    def must_not_be_read():
        raise AssertionError("CUDA RNG states are not checkpointed")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", must_not_be_read)
    model = small_model()
    path = save_checkpoint(tmp_path, 1, model, trained_optimizer(model), {})
    assert set(load_state(path / "rng.safetensors")) == {"torch", "numpy", "random"}


def damage(file: Path, how: str) -> None:
    data = file.read_bytes()
    if how == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        i = len(data) // 2
        file.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
    else:
        file.unlink()


@pytest.mark.parametrize("how", ["truncated", "flipped", "missing"])
@pytest.mark.parametrize("name", [*FILES, MANIFEST])
def test_a_damaged_newest_checkpoint_is_skipped_for_the_previous_one_with_a_warning(tmp_path, name, how):
    model = small_model()
    opt = trained_optimizer(model)
    save_checkpoint(tmp_path, 1, model, opt, {})
    first = {k: v.clone() for k, v in model.state_dict().items()}
    opt = trained_optimizer(model, steps=1)  # other weights in the newest checkpoint
    newest = save_checkpoint(tmp_path, 2, model, opt, {})
    damage(newest / name, how)
    with pytest.warns(UserWarning, match=r"iter_000001.*skipped .*iter_000002"):
        found = latest_checkpoint(tmp_path)
    assert found.name == "iter_000001"
    fresh = small_model()
    assert load_checkpoint(found, fresh, torch.optim.AdamW(fresh.parameters())) == 1
    assert all(torch.equal(fresh.state_dict()[k], first[k]) for k in first)
    if name != MANIFEST:
        with pytest.raises(ValueError, match=f"iter_000002.*damaged.*{name}"):
            load_checkpoint(newest, fresh, torch.optim.AdamW(fresh.parameters()))


def test_resume_skips_a_damaged_newest_checkpoint_and_still_equals_the_uninterrupted_run(tmp_path):
    cfg = TrainConfig(**{**TINY, "eval_every": 0}, iterations=3, checkpoint_every=1, output_dir=str(tmp_path))
    straight = train(cfg)
    weights = final_bytes(cfg)
    damage(tmp_path / "checkpoints" / "iter_000003" / "optimizer.safetensors", "truncated")
    with pytest.warns(UserWarning, match="resuming from iter_000002.*iter_000003.*optimizer.safetensors"):
        resumed = train(cfg, resume=True)
    assert [r["iteration"] for r in resumed] == [0, 1, 2]
    assert training_rows(resumed) == training_rows(straight) == training_rows(read_metrics(tmp_path))
    assert final_bytes(cfg) == weights


def test_save_fsyncs_every_file_and_the_folder_before_the_rename_and_before_pruning(tmp_path, monkeypatch):
    events = []
    real_replace = os.replace
    monkeypatch.setattr(checkpoint_module, "fsync_file", lambda p: events.append(("fsync", Path(p))))
    monkeypatch.setattr(checkpoint_module, "fsync_dir", lambda p: events.append(("fsync", Path(p))))

    def recording_replace(src, dst):
        events.append(("replace", Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint_module.os, "replace", recording_replace)
    model = small_model()
    opt = trained_optimizer(model)
    save_checkpoint(tmp_path, 1, model, opt, {}, keep=1)
    events.clear()
    save_checkpoint(tmp_path, 2, model, opt, {}, keep=1)
    root = tmp_path / "checkpoints"
    tmp, final = root / ".tmp_iter_000002", root / "iter_000002"
    rename = events.index(("replace", tmp, final))
    before = {e[1] for e in events[:rename] if e[0] == "fsync"}
    assert {tmp / name for name in (*FILES, MANIFEST)} <= before and tmp in before
    prune = events.index(("replace", root / "iter_000001", root / ".trash_iter_000001"))
    assert rename < events.index(("fsync", root)) < prune  # the rename is durable before the old checkpoint goes
    assert [p.name for p in root.iterdir()] == ["iter_000002"]
