"""The clock seam: where time decides something (due times, reminders, closing), it is asked.

Storage stamps every transaction with ``clock.now()``; the sender claims what is due at
that moment; the housekeeping reminds and closes workshops by it. Production uses
:class:`SystemClock`; tests pass :class:`bot.testing.TestClock` and move it forward,
instead of waiting a day for a reminder or patching ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


SYSTEM_CLOCK = SystemClock()
