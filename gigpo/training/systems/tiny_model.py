"""The ``tiny`` model preset: a small Qwen2-architecture causal LM with random weights and a locally trained tokenizer.

Weights cannot be downloaded here, so tests, CI and the CPU demo use a model built from a config. It has the same
architecture family as the paper's Qwen2.5-Instruct models, a byte-level BPE tokenizer trained on the text the
environments produce, and a ChatML chat template, and is saved with ``save_pretrained`` so it is loaded back through
exactly the same path as any Hugging Face model. Building is deterministic (fixed corpus, fixed seed) and cached.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import torch

# ChatML, the format of Qwen2.5-Instruct; a tiny model can learn it from a warm start.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# The reply tags get one token each, so a tiny model can produce the required format after a short warm start.
TAG_TOKENS = ["<think>", "</think>", "<action>", "</action>"]

TINY_CONFIG = dict(
    hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
    max_position_embeddings=4096, rope_theta=10000.0, tie_word_embeddings=True,
)
# ``tiny-mini``: a quarter of the width and half the depth (~8x fewer FLOPs per token). The update's cost is prompt
# tokens x step rows, so this is what lets a multi-seed estimator study fit in minutes per run on one CPU core.
TINY_MINI_CONFIG = dict(TINY_CONFIG, hidden_size=128, intermediate_size=344, num_hidden_layers=2)
TINY_PRESETS = {"tiny": TINY_CONFIG, "tiny-mini": TINY_MINI_CONFIG}
TINY_VOCAB_SIZE = 1024
# Built-in envs whose text seeds the tokenizer (textworld is left out: its engine is optional and slow to start).
CORPUS_ENVS = ("sokoban", "household", "shop")
BASE_CORPUS = """\
You are an expert agent operating in an environment. Your task is to: put a clean mug on the shelf.
Prior to this step, you have already taken 3 step(s). Below are the most recent 2 observations and the corresponding
actions you took: [Observation 1: 'You are in the middle of a room.', Action 1: 'go to shelf 1']
You are now at step 4 and your current observation is: Nothing happens.
Your admissible actions of the current situation are: [go to shelf 1, take mug 1 from countertop 2, look, inventory].
Now it's your turn to take an action. You should first reason step-by-step about the current situation. This
reasoning process MUST be enclosed within <think> </think> tags. Once you've finished your reasoning, you should
choose an admissible action for current step and present it within <action> </action> tags.
Reply with exactly one of the admissible actions.
<think>I should move the box to the goal.</think><action>up</action> <action>down</action> <action>left</action>
<action>right</action> push the box onto the target, player wall floor box goal target empty
search[red shoes size 9] click[buy now] click[next >] click[< prev] click[back to search] price lower than 50.00 dollars
open fridge 1, close drawer 2, heat egg 1 with microwave 1, cool apple 1 with fridge 1, clean knife 1 with sinkbasin 1,
use desklamp 1, examine cd 1, put pencil 2 in/on desk 1, You see a book 1, a pen 3, and a keychain 2. You won!
0 1 2 3 4 5 6 7 8 9 10 # @ $ . _ + * ! ? , ; : ' " ( ) [ ] { } - = / \\ < >
"""


def cache_root() -> Path:
    """Where built models are cached: ``$GIGPO_CACHE`` or ``~/.cache/gigpo``."""
    return Path(os.environ.get("GIGPO_CACHE", Path.home() / ".cache" / "gigpo"))


def save_pretrained_atomic(model, tokenizer, out_dir: Path) -> None:
    """``save_pretrained`` model and tokenizer into ``out_dir`` via a rename, so a concurrent reader or builder never
    sees a half-written folder; if another process got there first, its copy is kept."""
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    tmp = out_dir.with_name(out_dir.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def env_corpus(env_names=CORPUS_ENVS, seeds=range(4), max_steps: int = 20) -> str:
    """Text of the built-in envs (observations, tasks, actions) along expert trajectories; missing envs are skipped."""
    import envs

    lines: list[str] = []
    for name in env_names:
        try:
            env = envs.make(name)
        except (ImportError, ValueError):  # not written yet, or its optional engine is not installed
            continue
        for seed in seeds:
            obs, info = env.reset(seed=seed)
            lines += [str(info["task"]), obs, ", ".join(info["admissible_actions"])]
            for _ in range(max_steps):
                action = info["expert_action"]
                if action is None:
                    break
                obs, _, terminated, truncated, info = env.step(action)
                lines += [action, obs, ", ".join(info["admissible_actions"])]
                if terminated or truncated:
                    break
    return "\n".join(lines)


def train_tokenizer(corpus: str, vocab_size: int = TINY_VOCAB_SIZE):
    """A byte-level BPE tokenizer (like Qwen's) trained on ``corpus``; any text stays encodable through bytes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus.splitlines(), trainer=trainer)
    # padding_side must be given to the constructor: setting it afterwards is not saved.
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=None, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", padding_side="left")
    fast.add_tokens(TAG_TOKENS)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(out_dir: str | Path, corpus: str, seed: int = 0, model_config: dict | None = None,
                     vocab_size: int | None = None) -> Path:
    """Train the tokenizer, build the random-weight Qwen2 model and ``save_pretrained`` both into ``out_dir``.

    ``model_config`` holds the Qwen2 sizes (default :data:`TINY_CONFIG`). ``vocab_size`` pads the embedding and
    output layer beyond the tokenizer's ids (unused rows), so a model can have a real model's shape and cost, e.g.
    Qwen2.5's 151,936 rows; default: the tokenizer's size."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(corpus)
    if vocab_size is not None and vocab_size < len(tokenizer):
        raise ValueError(f"vocab_size {vocab_size} is below the tokenizer's {len(tokenizer)} ids")
    config = Qwen2Config(vocab_size=vocab_size or len(tokenizer), bos_token_id=None,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         **(model_config or TINY_CONFIG))
    saved_rng = torch.random.get_rng_state()
    torch.manual_seed(seed)  # deterministic weights without disturbing the caller's RNG
    model = Qwen2ForCausalLM(config)
    torch.random.set_rng_state(saved_rng)
    save_pretrained_atomic(model, tokenizer, out_dir)
    return out_dir


def _envs_source_digest() -> str:
    """Digest of the envs package's source: the corpus (so the tokenizer) can only change when this does."""
    import envs

    h = hashlib.sha256()
    for f in sorted(Path(envs.__file__).parent.rglob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def tiny_model_path(seed: int = 0, preset: str = "tiny") -> Path:
    """Path of the cached tiny preset (``tiny`` or ``tiny-mini``, see :data:`TINY_PRESETS`), built on first use.

    The cache key covers everything the build reads (base corpus, the envs' source, config, seed), so the key is
    cheap to compute: playing the envs for the corpus happens only when the model is actually built.
    """
    if preset not in TINY_PRESETS:
        raise ValueError(f"unknown tiny preset {preset!r}; expected one of {tuple(TINY_PRESETS)}")
    model_config = TINY_PRESETS[preset]
    key_parts = [BASE_CORPUS, _envs_source_digest(), model_config, TINY_VOCAB_SIZE, CORPUS_ENVS, seed]
    key = hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()[:12]
    path = cache_root() / "models" / f"{preset}-{key}"
    if not (path / "config.json").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build_tiny_model(path, BASE_CORPUS + env_corpus(), seed, model_config)
    return path
