"""The package's locally built ``tiny`` model with a chat template that TRL's tool loop understands.

TRL parses tool calls only for chat templates it knows (``trl.chat_template_utils.add_response_schema``). The tiny
model's own template is plain ChatML without tools, so this saves a copy whose tokenizer carries TRL's Qwen2.5
template (``<tool_call>{"name": ..., "arguments": ...}</tool_call>``, tool results as ``<tool_response>``); the
weights are the tiny preset's, unchanged. Nothing is downloaded.
"""
from __future__ import annotations

from pathlib import Path

from gigpo.training.systems.tiny_model import save_pretrained_atomic, tiny_model_path

TEMPLATE = "qwen2_5.jinja"


def tool_chat_model(preset: str = "tiny", seed: int = 0) -> Path:
    """Path of the tiny ``preset`` saved with TRL's Qwen2.5 tool-calling chat template (built once, cached)."""
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tiny_model_path(seed, preset)
    out = base.with_name(base.name + "-trl-" + TEMPLATE.split(".")[0])
    if not (out / "config.json").exists():
        template = (Path(trl.__file__).parent / "chat_templates" / TEMPLATE).read_text()
        tokenizer = AutoTokenizer.from_pretrained(base)
        tokenizer.chat_template = template
        model = AutoModelForCausalLM.from_pretrained(base)
        save_pretrained_atomic(model, tokenizer, out)
    return out
