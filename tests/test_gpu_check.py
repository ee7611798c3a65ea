"""benchmarks/gpu_check.py, the prepared GPU script of issues 14 and 15, at toy sizes on CPU: it runs end to end and
its report holds each run's own metrics (the GPU figures themselves need the GPU machine)."""
import json
import sys
from pathlib import Path

import pytest

from gigpo.notebook.metrics_io import read_metrics

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_smoke_reports_each_runs_metrics(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert gpu_check.main(["--out", str(tmp_path), "--smoke"]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
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


def test_a_built_model_can_take_a_real_models_vocabulary_size(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from gigpo.training.tiny_model import BASE_CORPUS, build_tiny_model

    dims = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "num_key_value_heads": 1}
    path = build_tiny_model(tmp_path / "m", BASE_CORPUS, model_config=dims, vocab_size=3000)
    model, tok = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    assert len(tok) < 3000 == model.config.vocab_size == model.get_input_embeddings().weight.shape[0]
    with pytest.raises(ValueError, match="below the tokenizer's"):
        build_tiny_model(tmp_path / "n", BASE_CORPUS, model_config=dims, vocab_size=10)
