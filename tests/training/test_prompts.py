"""Prompt building (the authors' template) and reply parsing (the required <think>/<action> format)."""
import pytest

from gigpo.policy.prompts import (
    CHOICE_INSTRUCTION,
    FORMAT_INSTRUCTION,
    MALFORMED,
    chat_text,
    format_prompt,
    parse_reply,
)

ADMISSIBLE = ["go to desk 1", "open drawer 2", "look"]


def test_first_step_prompt_has_task_observation_actions_and_format():
    text = format_prompt("put a pen on the desk", "You are in a room.", ADMISSIBLE, [])
    assert "Your task is to: put a pen on the desk" in text
    assert "Your current observation is: You are in a room." in text
    assert "admissible actions of the current situation are: [go to desk 1, open drawer 2, look]." in text
    assert "<think> </think>" in text and "<action> </action>" in text
    assert "Prior to this step" not in text
    assert text.endswith(FORMAT_INSTRUCTION)


def test_history_shows_the_last_k_turns_numbered_by_step():
    history = [(f"o{j}", f"a{j}") for j in range(1, 5)]  # four steps taken
    text = format_prompt("t", "now", ADMISSIBLE, history, history_length=2)
    assert "already taken 4 step(s)" in text
    assert "most recent 2 observations" in text
    assert "[Observation 3: 'o3', Action 3: 'a3']\n[Observation 4: 'o4', Action 4: 'a4']" in text
    assert "Observation 2:" not in text and "Observation 5:" not in text
    assert "You are now at step 5 and your current observation is: now" in text


def test_short_history_and_zero_history():
    one = format_prompt("t", "now", ADMISSIBLE, [("o1", "a1")], history_length=2)
    assert "most recent 1 observations" in one and "[Observation 1: 'o1', Action 1: 'a1']" in one
    none = format_prompt("t", "now", ADMISSIBLE, [("o1", "a1"), ("o2", "a2")], history_length=0)
    assert "already taken 2 step(s)" in none and "Observation 1:" not in none


def test_choice_mode_asks_for_the_action_only():
    text = format_prompt("t", "now", ADMISSIBLE, [], mode="choice")
    assert text.endswith(CHOICE_INSTRUCTION) and "<think>" not in text
    with pytest.raises(ValueError, match="mode"):
        format_prompt("t", "now", ADMISSIBLE, [], mode="other")
    with pytest.raises(ValueError, match="history_length"):
        format_prompt("t", "now", ADMISSIBLE, [], history_length=-1)


def test_well_formed_reply_maps_to_the_canonical_action():
    p = parse_reply("<think>the pen is in the drawer</think>\n<action>  Open   Drawer 2 </action>", ADMISSIBLE)
    assert (p.action, p.valid, p.reason) == ("open drawer 2", True, "ok")


@pytest.mark.parametrize("reply, reason, sent", [
    ("<action>look</action>", "no_think", MALFORMED),  # the action is admissible, but the format is not
    # no tags: verl-agent sends the reply's last 30 characters
    ("<think>hmm</think> look", "no_action", "<think>hmm</think> look"),
    ("<think>hmm</think><action>fly away</action>", "not_admissible", "fly away"),
    ("I will go to the desk", "no_action", "I will go to the desk"),
    ("", "no_action", MALFORMED),
])
def test_invalid_replies_never_send_an_admissible_action(reply, reason, sent):
    p = parse_reply(reply, ADMISSIBLE)
    assert not p.valid and p.reason == reason
    assert p.action not in ADMISSIBLE
    assert p.action == sent


def test_chat_text_opens_the_assistant_turn(tiny_tokenizer):
    text = chat_text(tiny_tokenizer, "hello")
    assert text == "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def tiny_tokenizer():
    from transformers import AutoTokenizer

    from gigpo.training.systems.models import resolve_model
    return AutoTokenizer.from_pretrained(resolve_model("tiny"))
