"""The ``tiny-mini`` preset used by the estimator study (results/README.md): a smaller Qwen2 on the same tokenizer."""
import pytest

from gigpo.training.models import load_model_and_tokenizer, resolve_model
from gigpo.training.tiny_model import TINY_MINI_CONFIG, tiny_model_path


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
