"""The policy's choice distribution along an expert's path (``gigpo.lab.expert_path``), against a plain forward
pass over each ``prompt + candidate`` and a replay of the expert's moves."""
import pytest
import torch

import envs
from gigpo.lab.expert_path import expert_path_choices
from gigpo.policy.encoding import encode_candidate, encode_prompt
from gigpo.policy.prompts import chat_text, format_prompt
from gigpo.training.systems.models import load_model_and_tokenizer

OPTIONS = {"num_boxes": 1, "max_steps": 10, "max_solution_moves": 3}


@pytest.fixture(scope="module")
def tiny():
    model, tok = load_model_and_tokenizer("tiny")
    return model.eval(), tok


def test_every_expert_state_scored_as_plain_forward_passes_score_it(tiny):
    model, tok = tiny
    states = expert_path_choices(model, tok, "sokoban", OPTIONS, [0, 3])
    # the expert's path, replayed: the states in order, each with its admissible actions and expert move
    path = []
    for task in (0, 3):
        env = envs.make("sokoban", **OPTIONS)
        obs, info = env.reset(seed=task)
        while info["expert_action"] is not None:
            path.append((task, obs, info))
            obs, _, term, trunc, info = env.step(info["expert_action"])
            if term or trunc:
                break
    assert [(s.task, s.actions, s.expert) for s in states] == \
        [(t, list(i["admissible_actions"]), i["expert_action"]) for t, _, i in path]
    for state, (_, obs, info) in zip(states, path):
        prompt = encode_prompt(tok, chat_text(tok, format_prompt(info["task"], obs, state.actions, [],
                                                                 history_length=0, mode="choice")), 2048)
        scores = []
        with torch.no_grad():
            for action in state.actions:
                cand = encode_candidate(tok, action)
                logp = torch.log_softmax(model(torch.tensor([prompt + cand])).logits[0].double(), -1)
                scores.append(sum(float(logp[len(prompt) - 1 + t, c]) for t, c in enumerate(cand)))
        expected = torch.softmax(torch.tensor(scores, dtype=torch.float64), 0)
        assert torch.allclose(state.probs.double(), expected, atol=1e-5)
        assert state.p_expert == pytest.approx(float(expected[state.actions.index(state.expert)]), abs=1e-5)
