"""The hf backend samples exactly softmax(logits / T), whatever the model's own generation_config asks for.

Checkpoints ship generation defaults (repetition penalty, suppressed tokens, minimum lengths, ...) that transformers'
``generate`` applies as logits processors before any sampler. The update's log-probs assume none of them, so every
reply must equal that of a plain sampler: no ``generate``, no cache, no padding, restated here from sampling.py's
contract (one generator per key; each step a key's rows draw a block of float64 uniforms in row order; the token is
the argmax of log softmax(z / T) plus Gumbel noise).
"""
import pytest
import torch

from gigpo.policy.encoding import encode_prompt
from gigpo.policy.hf_backend import HFBackend
from gigpo.policy.sampling import GumbelSampler
from gigpo.training.systems.models import load_model_and_tokenizer, wrap_lora

KEYS = [11, 11, 11, 7, 7, 3]  # rows of a group share a key
TEMPERATURE = 0.8
MAX_NEW = 8


def plain_softmax_sampler(model, prompts: list[list[int]], keys: list[int], temperature: float, max_new: int,
                          eos: int) -> list[list[int]]:
    gens = {}
    for k in keys:
        if k not in gens:
            gens[k] = torch.Generator().manual_seed(k)
    rows_of = {k: [i for i, kk in enumerate(keys) if kk == k] for k in gens}
    seqs, replies, done = [list(p) for p in prompts], [[] for _ in keys], [False] * len(keys)
    with torch.no_grad():
        for _ in range(max_new):
            logits = torch.stack([model(torch.tensor([s])).logits[0, -1] for s in seqs]).double()
            for k, rows in rows_of.items():  # every row draws until all are done, as in one batched decode
                u = torch.rand((len(rows), logits.shape[1]), generator=gens[k], dtype=torch.float64)
                for j, i in enumerate(rows):
                    if done[i]:
                        continue
                    token = int((torch.log_softmax(logits[i] / temperature, -1) - torch.log(-torch.log(u[j]))).argmax())
                    seqs[i].append(token)
                    replies[i].append(token)
                    done[i] = token == eos
            if all(done):
                break
    return replies


@pytest.fixture(scope="module")
def setup():
    model, tok = load_model_and_tokenizer("tiny")
    model.eval()
    # the last prompt holds half the vocabulary, so penalties on tokens already seen have something to act on
    texts = ["go to the kitchen", "look", "take apple 1 from countertop 2 and then go", "open fridge 1", "inventory",
             tok.decode(list(range(0, len(tok), 2)), skip_special_tokens=True)]
    prompts = [tok.apply_chat_template([{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True)
               for t in texts]
    encoded = [encode_prompt(tok, p, 2048) for p in prompts]
    with torch.no_grad():  # random weights rarely stop: tilt end-of-turn toward the usual last hidden state
        hidden = torch.cat([model(torch.tensor([e]), output_hidden_states=True).hidden_states[-1][0] for e in encoded])
        model.lm_head.weight[tok.eos_token_id] += 0.3 * hidden.mean(0) / hidden.mean(0).norm()
    reference = plain_softmax_sampler(model, encoded, KEYS, TEMPERATURE, MAX_NEW, tok.eos_token_id)
    assert 1 <= sum(len(r) < MAX_NEW for r in reference) < len(KEYS)  # some rows stop early, some run to the end
    return model, tok, prompts, reference


def shipped_defaults(tok, reference) -> dict:
    """Settings an instruct checkpoint may carry, aimed at the tokens the plain sampler picks so that they bite."""
    first = sorted({r[0] for r in reference})
    later = sorted({t for r in reference for t in r[1:]} - {tok.eos_token_id})
    return dict(repetition_penalty=1.5, no_repeat_ngram_size=1, suppress_tokens=later[:3], begin_suppress_tokens=first,
                bad_words_ids=[[t] for t in later[3:6]], min_length=400, min_new_tokens=MAX_NEW,
                sequence_bias={(later[-1],): -10.0}, exponential_decay_length_penalty=(1, 2.0),
                forced_eos_token_id=tok.eos_token_id, renormalize_logits=True, do_sample=True, top_k=2, top_p=0.3,
                temperature=0.1)


def replies(backend, prompts):
    return [g.response_ids for g in backend.generate(prompts, temperature=TEMPERATURE, max_new_tokens=MAX_NEW,
                                                     sample_keys=KEYS)]


def with_generation_config(model, tok, settings):
    from transformers import GenerationConfig

    saved = model.generation_config
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **settings)
    return saved


def test_replies_equal_a_plain_softmax_sampler_despite_the_models_generation_defaults(setup):
    model, tok, prompts, reference = setup
    assert replies(HFBackend(model, tok), prompts) == reference  # the model's config is neutral here
    saved = with_generation_config(model, tok, shipped_defaults(tok, reference))
    try:
        assert replies(HFBackend(model, tok), prompts) == reference
        assert model.generation_config.repetition_penalty == 1.5  # the model's own config is given back
        # the same decode letting generate read the model's config does not sample what the update assumes
        from transformers import GenerationConfig, LogitsProcessorList

        ids = tok(prompts, add_special_tokens=False, padding=True, return_tensors="pt")
        out = model.generate(**ids, generation_config=GenerationConfig(do_sample=False, max_new_tokens=MAX_NEW),
                             logits_processor=LogitsProcessorList([GumbelSampler(KEYS, TEMPERATURE)]))
        assert [row[:len(r)] for row, r in zip(out[:, ids["input_ids"].shape[1]:].tolist(), reference)] != reference
    finally:
        model.generation_config = saved


@pytest.mark.parametrize("name", ["repetition_penalty", "no_repeat_ngram_size", "suppress_tokens",
                                  "begin_suppress_tokens", "bad_words_ids", "min_new_tokens", "sequence_bias",
                                  "exponential_decay_length_penalty", "forced_eos_token_id"])
def test_each_shipped_processor_alone_leaves_the_sample_unchanged(setup, name):
    model, tok, prompts, reference = setup
    saved = with_generation_config(model, tok, {name: shipped_defaults(tok, reference)[name]})
    try:
        assert replies(HFBackend(model, tok), prompts) == reference
    finally:
        model.generation_config = saved


def test_under_a_lora_wrapper_too(setup):
    model, tok, prompts, reference = setup
    base, _ = load_model_and_tokenizer("tiny")  # a fresh copy: peft changes the model it wraps
    base.load_state_dict(model.state_dict())
    peft_model = wrap_lora(base, rank=4, alpha=8, dropout=0.0, target_modules=["q_proj", "v_proj"])
    peft_model.eval()  # LoRA starts at the base model, so the reference still holds
    base.generation_config.repetition_penalty, base.generation_config.suppress_tokens = 1.5, sorted(
        {t for r in reference for t in r})[:4]
    assert replies(HFBackend(peft_model, tok), prompts) == reference
