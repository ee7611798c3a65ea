"""The ``tiny-mini`` preset used by the estimator study (results/README.md): a smaller Qwen2 on the same tokenizer."""
import pytest

from gigpo.training.systems.models import load_model_and_tokenizer, resolve_model
from gigpo.training.systems.tiny_model import TINY_MINI_CONFIG, tiny_model_path


def qwen2_parameter_count(vocab: int, hidden: int, inter: int, layers: int, heads: int, kv_heads: int) -> int:
    """Qwen2 with tied embeddings, written out by hand: q/k/v projections carry a bias, o_proj and the MLP do not,
    two RMSNorms per layer and one at the end."""
    head_dim = hidden // heads
    kv = kv_heads * head_dim
    per_layer = (hidden * hidden + hidden) + 2 * (hidden * kv + kv) + hidden * hidden + 3 * hidden * inter + 2 * hidden
    return vocab * hidden + layers * per_layer + hidden


@pytest.fixture(scope="module")
def mini():
    return load_model_and_tokenizer("tiny-mini")


def test_tiny_mini_has_the_documented_sizes(mini):
    model, tok = mini
    c = model.config
    assert (c.hidden_size, c.num_hidden_layers, c.intermediate_size) == (128, 2, 344)
    expected = qwen2_parameter_count(len(tok), 128, 344, 2, 4, 2)
    assert sum(p.numel() for p in model.parameters()) == expected  # ~0.5M, vs ~3M for ``tiny``
    assert TINY_MINI_CONFIG["hidden_size"] == 128


def test_tiny_mini_shares_the_tiny_tokenizer_and_has_its_own_cache_entry(mini):
    _, tok_mini = mini
    _, tok_tiny = load_model_and_tokenizer("tiny")
    text = "<|im_start|>user\nPush every box (X) onto a target (O).<action>up</action><|im_end|>"
    assert tok_mini(text)["input_ids"] == tok_tiny(text)["input_ids"]
    assert resolve_model("tiny-mini") != resolve_model("tiny")
    assert resolve_model("tiny-mini") == str(tiny_model_path(preset="tiny-mini"))  # cached: same path again


def test_unknown_tiny_preset_is_a_value_error():
    with pytest.raises(ValueError, match="tiny-huge"):
        tiny_model_path(preset="tiny-huge")


# --- the CPU recipe (demo, study) and its task draws ----------------------------------------------------------------
def test_pool_draws_go_through_the_whole_pool():
    from collections import Counter

    from gigpo.training.config import TrainConfig
    from gigpo.training.trainer import train_task_seeds
    cfg = TrainConfig(task_pool=8, num_groups=8)
    for it in range(5):  # G == pool: every task exactly once per iteration
        assert sorted(train_task_seeds(cfg, it)) == list(range(8))
    assert train_task_seeds(cfg, 0) == train_task_seeds(cfg, 0)  # a pure function of (seed, iteration)
    counts = Counter(train_task_seeds(cfg, 0, count=20, stream=1))  # warm start: 2 full passes + 4 of a third
    assert sorted(counts) == list(range(8)) and sorted(counts.values()) == [2] * 4 + [3] * 4
    few = train_task_seeds(TrainConfig(task_pool=8, num_groups=3), 0)
    assert len(set(few)) == 3 and all(0 <= s < 8 for s in few)  # fewer than the pool: no repeats
    free = train_task_seeds(TrainConfig(num_groups=4), 0)
    assert all(0 <= s < 1_000_000 for s in free)


def test_demo_and_study_recipes_play_the_whole_pool_every_iteration():
    from gigpo.training.demo import DEMO_RECIPE, demo_config

    cfg = demo_config()
    assert cfg.num_groups == cfg.task_pool and cfg.model == "tiny-mini" and cfg.warm_start_steps > 0
    assert cfg.warm_start_episodes % cfg.task_pool == 0  # every pool task gets the same number of expert episodes
    assert demo_config(seed=3).seed == 3
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "results" / "llm_study.py"
    spec = importlib.util.spec_from_file_location("llm_study", path)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    assert study.STUDY == DEMO_RECIPE  # the study runs the demo's recipe as it is
    assert study.flags({"lr": 0.0003, "env_options": {"a": 1}, "progress": False}) == [
        "--lr", "0.0003", "--env-options", '{"a": 1}', "--no-progress"]


# --- the skill recipe (results/skill_study.py): fresh tasks every iteration, 64 held-out ones -----------------------
def test_skill_preset_draws_fresh_tasks_and_evaluates_64():
    from gigpo.training.config import TrainConfig

    cfg = TrainConfig.skill()
    assert cfg.task_pool is None and cfg.eval_tasks >= 64 and cfg.env == "household"
    assert cfg.model == "tiny-mini" and cfg.warm_start_steps > 0 and cfg.target_kl == 0.1 and cfg.kl_coef == 0.0
    assert TrainConfig.skill(seed=3, lr=2e-4).seed == 3 and TrainConfig.skill(lr=2e-4).lr == 2e-4
    with pytest.raises(ValueError, match="household"):
        TrainConfig.skill("sokoban")


def test_cli_preset_skill_gives_the_preset_with_flags_on_top():
    import argparse

    from gigpo.__main__ import add_train_arguments, config_from_args
    from gigpo.training.config import TrainConfig

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--preset", "skill", "--seed", "7", "--estimator", "grpo"]))
    assert cfg == TrainConfig.skill(seed=7, estimator="grpo")


def test_window_means_of_the_demo_by_hand():
    from gigpo.training.demo import window_means

    records = [{"success_rate": v} for v in (0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8)]
    first, last = window_means(records)
    assert first == pytest.approx(0.2) and last == pytest.approx(0.7)
    with pytest.raises(ValueError, match="at least 6"):
        window_means(records[:5])


def test_static_png_export(tmp_path):
    import plotly.graph_objects as go

    from gigpo.notebook import plots
    from gigpo.notebook.plots.static import save_png

    recs = [{"iteration": i, "success_rate": 0.1 * i, "mean_return": i} for i in range(4)]
    path = save_png(plots.learning_curves(recs, ["success_rate", "mean_return"]), tmp_path / "c.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    with pytest.raises(ValueError, match="bar"):
        save_png(go.Figure(go.Bar(x=[1], y=[2])), tmp_path / "b.png")
