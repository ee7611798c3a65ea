"""benchmarks/gpu_check.py, the prepared GPU script of issues 14, 15 and 23, at toy sizes on CPU: it runs end to end,
sets its own environment, and its report, rewritten as each run finishes, holds each run's own metrics (the GPU
figures themselves need the GPU machine)."""
import json
import os
import sys
from pathlib import Path

import pytest
import transformers

from gigpo.run_files.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return gpu_check


@pytest.fixture
def saved_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.slow
def test_gpu_check_smoke_reports_each_runs_metrics(tmp_path, saved_environ, capsys, monkeypatch):
    gpu_check = load_script()
    os.environ.pop("USE_HUB_KERNELS", None)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"  # a value the user set is kept
    monkeypatch.chdir(tmp_path.parent)  # a relative --out, as make test-lowest passes (the notebook runs elsewhere)
    assert gpu_check.main(["--out", tmp_path.name, "--smoke"]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["environment"] == {"HF_HUB_OFFLINE": "1", "USE_HUB_KERNELS": "NO", "TOKENIZERS_PARALLELISM": "true"}
    assert report["running"] is None and report["versions"]["transformers"] == transformers.__version__
    assert set(report["qwen1.5b"]) == {"gigpo", "grpo"} and "papermill" in report["notebook03"]["how"]
    for run_dir, got in ((tmp_path / "qwen1.5b-gigpo", report["qwen1.5b"]["gigpo"]),
                         (tmp_path / "qwen1.5b-grpo", report["qwen1.5b"]["grpo"]),
                         (tmp_path / "notebook03", report["notebook03"])):
        rows = read_metrics(run_dir)
        assert got["iterations"] == len(rows) == 1
        assert got["rollout_tokens_per_s"] == [r["rollout_tokens"] / r["time_rollout"] for r in rows]
        assert got["time_update_s"] == [r["time_update"] for r in rows]
        assert json.loads((run_dir / "config.json").read_text())["device"] == "cpu"
    assert json.loads((tmp_path / "qwen1.5b-grpo" / "config.json").read_text())["estimator"] == "grpo"
    built = json.loads((tmp_path / "models" / "qwen2.5-1.5b-shaped" / "config.json").read_text())
    assert built["model_type"] == "qwen2" and built["hidden_size"] == gpu_check.SMOKE_DIMS["hidden_size"]
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed[-3:]] == ["qwen1.5b-gigpo", "qwen1.5b-grpo", "notebook03"]


def test_a_run_that_dies_leaves_the_finished_runs_on_disk(tmp_path, saved_environ, monkeypatch):
    gpu_check = load_script()
    monkeypatch.setattr(gpu_check, "qwen_run", lambda out, device, smoke, estimator: {
        "iterations": 1, "success_rate": [0.0], "rollout_tokens_per_s": [1.0], "time_update_s": [1.0],
        "gpu_peak_mem_gib": [None], "estimator": estimator})

    def dies(*args):
        raise RuntimeError("killed")  # a timeout's kill ends the process here; what was written before stays

    monkeypatch.setattr(gpu_check, "notebook_run", dies)
    with pytest.raises(RuntimeError, match="killed"):
        gpu_check.main(["--out", str(tmp_path), "--smoke"])
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["running"] == "notebook03" and "notebook03" not in report
    assert {k: v["estimator"] for k, v in report["qwen1.5b"].items()} == {"gigpo": "gigpo", "grpo": "grpo"}


def test_a_built_model_can_take_a_real_models_vocabulary_size(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from gigpo.training.systems.tiny_model import BASE_CORPUS, build_tiny_model

    dims = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "num_key_value_heads": 1}
    path = build_tiny_model(tmp_path / "m", BASE_CORPUS, model_config=dims, vocab_size=3000)
    model, tok = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    assert len(tok) < 3000 == model.config.vocab_size == model.get_input_embeddings().weight.shape[0]
    with pytest.raises(ValueError, match="below the tokenizer's"):
        build_tiny_model(tmp_path / "n", BASE_CORPUS, model_config=dims, vocab_size=10)
