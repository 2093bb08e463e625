"""Button payloads: short, self-describing, and checked for staleness.

Telegram limits callback data to 64 bytes. A flow button names its flow, the flow
file's version, the step's index and the option's index, so a button pressed on an
old message (after the flow moved on, after a restart, after the file changed) is
recognised and answered politely instead of being applied to the wrong question.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64


@dataclass(frozen=True, slots=True)
class StepButton:
    kind: str
    """``o`` option, ``t`` toggle of a multiple choice, ``v`` validate a multiple choice;
    at the recap, ``e`` change the answer of step ``step_index``, ``f`` validate (finish)."""
    flow_id: str
    version: str
    step_index: int
    option: int = 0

    def encode(self) -> str:
        data = f"{self.kind}:{self.flow_id}:{self.version}:{self.step_index}:{self.option}"
        assert len(data.encode()) <= MAX_BYTES, data
        return data


def decode_step_button(payload: str) -> StepButton | None:
    parts = payload.split(":")
    if len(parts) != 5 or parts[0] not in ("o", "t", "v", "e", "f"):
        return None
    kind, flow_id, version, step, option = parts
    if not (step.isdigit() and option.isdigit()):
        return None
    return StepButton(kind, flow_id, version, int(step), int(option))
