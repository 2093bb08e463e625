"""Pure translation of questions into Matrix polls (MSC3381), and of votes back.

Element, Element X and Tchap read the unstable ``org.matrix.msc3381.*`` event types.
A poll is sent **after** the question's own ``m.notice`` (which lists the numbers, so
clients without polls and people who prefer typing lose nothing); it carries its own
text fallback, « prompt » then « 1. … » lines, as MSC3381 asks.

Answer ids are the numbers ``"1"``, ``"2"``…; what each stands for (the choice's
payload) is kept by the channel with the poll's event id, so a vote is checked against
a poll the bot really sent in that room before it reaches the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.markup import to_label
from bot.messages import Outgoing

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"
MAX_ANSWERS = 20
"""MSC3381 allows at most 20 answers; a longer list stays typed numbers only."""
MAX_LABEL = 340


def poll_start(out: Outgoing, prompt: str) -> dict[str, Any] | None:
    """The poll content for the choices of ``out``, or None when it has none to offer."""
    if not out.choices or len(out.choices) > MAX_ANSWERS:
        return None
    prompt = to_label(prompt)
    labels = [f"{n}. {to_label(c.label)}"[:MAX_LABEL] for n, c in enumerate(out.choices, start=1)]
    fallback = "\n".join([prompt, *labels])
    return {
        POLL_START: {
            "question": {TEXT: prompt},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [{"id": str(n), TEXT: label} for n, label in enumerate(labels, 1)],
        },
        TEXT: fallback,
        "body": fallback,
    }


def payloads(out: Outgoing) -> list[str]:
    return [choice.payload for choice in out.choices]


def vote(content: Mapping[str, Any]) -> tuple[str, int] | None:
    """``(poll event id, answer number)`` of a well-formed single vote, else None."""
    relates = content.get("m.relates_to")
    response = content.get(POLL_RESPONSE)
    if not isinstance(relates, Mapping) or not isinstance(response, Mapping):
        return None
    poll_id = relates.get("event_id")
    answers = response.get("answers")
    if relates.get("rel_type") != "m.reference" or not isinstance(poll_id, str):
        return None
    if not isinstance(answers, list) or len(answers) != 1 or not isinstance(answers[0], str):
        return None  # an empty list withdraws a vote; several are not allowed here
    if not answers[0].isdigit() or len(answers[0]) > 3:
        return None
    return poll_id, int(answers[0])


def poll_end(poll_id: str, text: str) -> dict[str, Any]:
    text = to_label(text)
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_id},
        POLL_END: {},
        TEXT: text,
        "body": text,
    }
