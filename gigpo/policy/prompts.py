"""The agent's prompt and the parsing of its reply, as in the paper's code (verl-agent's ALFWorld template).

The prompt states the task, how many steps were taken, the last ``k`` turns as
``[Observation j: '...', Action j: '...']``, the current observation and the admissible actions, and asks for the
reasoning inside ``<think> </think>`` and the action inside ``<action> </action>``. A reply without both tags, or whose
action the env does not accept, is an invalid action (the step gets a penalty, paper: -0.1). Whether the env accepts
an action is its own verdict (``info["action_valid"]``, else membership in the admissible list; see envs/base.py),
so the shop's free-text ``search[...]`` is valid although no list can hold every query.

Difference from verl-agent, on purpose: there a well-formed reply with an action the env rejects still counts as
valid (the env just answers "Nothing happens."); here validity also requires an accepted action.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

FORMAT_INSTRUCTION = (
    "Now it's your turn to take an action. You should first reason step-by-step about the current situation. "
    "This reasoning process MUST be enclosed within <think> </think> tags. Once you've finished your reasoning, "
    "you should choose an admissible action for current step and present it within <action> </action> tags."
)
CHOICE_INSTRUCTION = "Now it's your turn to take an action. Reply with exactly one of the admissible actions."
MALFORMED = "(malformed reply)"  # what the env receives when a badly formatted reply happens to spell an action


def format_prompt(task: str, observation: str, admissible: Sequence[str], history: Sequence[tuple[str, str]],
                  *, history_length: int = 2, mode: str = "free") -> str:
    """The user message for one step.

    Args:
        task: the goal text (``info["task"]``).
        observation: the current observation.
        admissible: the admissible actions now.
        history: every earlier ``(observation, action)`` pair of this episode, oldest first; the last
            ``history_length`` are shown (paper: 2), numbered by their step in the episode (from 1).
        mode: ``"free"`` asks for ``<think>..</think><action>..</action>``; ``"choice"`` asks for the action only.
    """
    if mode not in ("free", "choice"):
        raise ValueError(f"mode must be 'free' or 'choice', got {mode!r}")
    if history_length < 0:
        raise ValueError(f"history_length must be >= 0, got {history_length}")
    steps_taken = len(history)
    lines = [f"You are an expert agent operating in a text environment. Your task is to: {task}"]
    shown = history[steps_taken - history_length:] if history_length else []
    if steps_taken:
        first = steps_taken - len(shown) + 1
        turns = "".join(f"\n[Observation {first + j}: '{o}', Action {first + j}: '{a}']"
                        for j, (o, a) in enumerate(shown))
        lines.append(f"Prior to this step, you have already taken {steps_taken} step(s). Below are the most recent "
                     f"{len(shown)} observations and the corresponding actions you took:{turns}")
        lines.append(f"You are now at step {steps_taken + 1} and your current observation is: {observation}")
    else:
        lines.append(f"Your current observation is: {observation}")
    lines.append("Your admissible actions of the current situation are: [" + ", ".join(admissible) + "].")
    lines.append(FORMAT_INSTRUCTION if mode == "free" else CHOICE_INSTRUCTION)
    return "\n".join(lines)


def chat_text(tokenizer, user_message: str) -> str:
    """The prompt string the model reads: the user message inside the tokenizer's chat template, assistant turn open."""
    return tokenizer.apply_chat_template([{"role": "user", "content": user_message}], tokenize=False,
                                         add_generation_prompt=True)


@dataclass(frozen=True)
class ParsedReply:
    """What a reply means for the env: the text it receives and whether the step counts as a valid action."""

    action: str  # the admissible action as the env spells it, or the text an invalid reply sends
    valid: bool
    reason: str  # "ok", "no_think", "no_action", "not_admissible"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def match_admissible(text: str, admissible: Sequence[str]) -> str | None:
    """The admissible action ``text`` spells, ignoring case and surrounding/repeated whitespace; else ``None``."""
    wanted = _norm(text)
    for a in admissible:
        if _norm(a) == wanted:
            return a
    return None


def parse_reply(reply: str, admissible: Sequence[str]) -> ParsedReply:
    """Parse ``<think>...</think><action>...</action>``; anything else is an invalid action.

    An invalid reply still reaches the env (which answers as the original game does, e.g. "Nothing happens."): the
    extracted action text, or the reply's tail when the tags are missing (verl-agent sends the last 30 characters).
    """
    think_ok = re.search(r"<think>.*?</think>", reply, flags=re.S) is not None
    m = re.search(r"<action>(.*?)</action>", reply, flags=re.S)
    text = m.group(1).strip() if m else reply.strip()[-30:]
    action = match_admissible(text, admissible)
    if think_ok and m and action is not None:
        return ParsedReply(action, True, "ok")
    reason = "no_action" if not m else "no_think" if not think_ok else "not_admissible"
    sent = MALFORMED if match_admissible(text, admissible) is not None or not text else text
    return ParsedReply(sent, False, reason)
