"""Checkpoints: pruning to the ``keep`` most recent, an interrupted save that leaves the previous one intact, and
round trips of the weights, the optimizer and every RNG state under full fine-tuning and LoRA."""
import random

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gigpo.training.checkpoints import checkpoint as checkpoint_module
from gigpo.training.checkpoints.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_state,
    save_checkpoint,
)
from gigpo.training.systems.models import load_model_and_tokenizer, wrap_lora
from tests.support.optimizer_state import optimizer_tensors, small_model, trained_optimizer


def test_only_the_keep_most_recent_checkpoints_stay(tmp_path):
    model = small_model()
    opt = trained_optimizer(model)
    for done in (1, 2, 3, 4):
        save_checkpoint(tmp_path, done, model, opt, {"lr": 0.1}, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["iter_000003", "iter_000004"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_000003", "iter_000004"]
    save_checkpoint(tmp_path, 5, model, opt, {"lr": 0.1}, keep=1)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["iter_000005"]
    assert read_state(latest_checkpoint(tmp_path)) == {"iterations_done": 5, "lr_horizon": None, "config": {"lr": 0.1}}
    for bad in (0, -1, True, 1.5):  # keep=0 once meant "keep all" through a [:-0] slice
        with pytest.raises(ValueError, match="keep must be an int >= 1"):
            save_checkpoint(tmp_path, 6, model, opt, {}, keep=bad)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["iter_000005"]


def test_an_interrupted_save_leaves_the_previous_checkpoint_as_the_latest(tmp_path, monkeypatch):
    model = small_model()
    opt = trained_optimizer(model)
    save_checkpoint(tmp_path, 1, model, opt, {}, keep=1)
    real_save = checkpoint_module.save_state

    def dies_on_the_rng_file(obj, path, *args, **kwargs):
        if str(path).endswith("rng.safetensors"):
            raise KeyboardInterrupt("simulated interruption")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "save_state", dies_on_the_rng_file)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 2, model, opt, {}, keep=1)
    monkeypatch.setattr(checkpoint_module, "save_state", real_save)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["iter_000001"]  # kept: pruning comes after the rename
    save_checkpoint(tmp_path, 2, model, opt, {}, keep=1)  # the next save clears the half-written folder
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_000002"]


def round_trip(tmp_path, make_model, perturb):
    """Train a little, save, then load into a fresh model + optimizer after disturbing weights and every RNG."""
    model = make_model()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        sum((p * torch.randn_like(p)).sum() for p in trainable).backward()
        opt.step()
    torch.manual_seed(123), np.random.seed(123), random.seed(123)
    path = save_checkpoint(tmp_path, 7, model, opt, {"finetune": "test"})
    expected_draws = (torch.rand(3), np.random.rand(3), random.random())
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved_opt = optimizer_tensors(opt)

    fresh = make_model()
    perturb(fresh)
    fresh_opt = torch.optim.AdamW([p for p in fresh.parameters() if p.requires_grad], lr=1e-2)
    torch.manual_seed(999), np.random.seed(999), random.seed(999)
    assert load_checkpoint(path, fresh, fresh_opt) == 7
    draws = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(draws[0], expected_draws[0]) and np.array_equal(draws[1], expected_draws[1])
    assert draws[2] == expected_draws[2]
    state = fresh.state_dict()
    assert state.keys() == saved.keys() and all(torch.equal(state[k], saved[k]) for k in saved)
    tensors, groups = optimizer_tensors(fresh_opt)
    assert groups == saved_opt[1] and tensors.keys() == saved_opt[0].keys() and len(tensors) > 0
    assert all(torch.equal(tensors[k], saved_opt[0][k]) for k in tensors)
    return model, fresh


def test_full_fine_tuning_round_trip_restores_every_weight_optimizer_state_and_rng(tmp_path):
    def perturb(model):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)

    model, _ = round_trip(tmp_path, lambda: load_model_and_tokenizer("tiny")[0], perturb)
    assert all(p.requires_grad for p in model.parameters())  # full fine-tuning: all of them were saved and restored


def test_lora_round_trip_restores_the_adapter_and_leaves_the_base_alone(tmp_path):
    def make():
        model, _ = load_model_and_tokenizer("tiny")
        model.requires_grad_(False)
        return wrap_lora(model, rank=2, alpha=4, dropout=0.0, target_modules=["q_proj", "v_proj"])

    def perturb(model):
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(1.0)

    round_trip(tmp_path, make, perturb)
    files = list((tmp_path / "checkpoints").rglob("trainable.safetensors"))
    assert len(files) == 1 and all("lora_" in k for k in load_file(files[0]))  # only the adapter is stored


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    model = small_model()
    path = save_checkpoint(tmp_path, 1, model, trained_optimizer(model), {})
    other = torch.nn.Sequential(torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match="checkpoint does not match the model"):
        load_checkpoint(path, other, torch.optim.AdamW(other.parameters()))
