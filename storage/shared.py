"""Rules both storage implementations follow, written once over their primitives.

The SQL and in-memory implementations differ in how they read and write; what a
person's resumable session is, who may read a workshop and what a personal-data
report holds are the same rules, kept here so that they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from storage.records import SessionRecord, WorkshopRecord

T = TypeVar("T")


class _Saves(Protocol):
    def save(self) -> None: ...


C = TypeVar("C", bound=_Saves)


def decide_and_save(conversation: C, job: Callable[[C], T]) -> T:
    """The job decides on the loaded conversation; then what it changed is written."""
    result = job(conversation)
    conversation.save()
    return result


class OpenSessions:
    """``open_session_for`` for any conversation that lists its sessions."""

    def sessions(self, flow_id: str | None = None) -> list[SessionRecord]:
        raise NotImplementedError  # provided by the implementation

    def open_session_for(self, flow_id: str,
                         workshop_id: int | None = None) -> SessionRecord | None:
        """The newest unfinished session of this flow (and workshop), to resume it."""
        found = [s for s in self.sessions(flow_id)
                 if s.status == "in_progress" and s.workshop_id == workshop_id]
        return found[-1] if found else None


class WorkshopAccess:
    """Who may read a workshop: its facilitator and the co-facilitators they added."""

    def find(self, typed_code: str) -> WorkshopRecord | None:
        raise NotImplementedError  # provided by the implementation

    def _is_cofacilitator(self, workshop: WorkshopRecord, user_key: str) -> bool:
        raise NotImplementedError  # provided by the implementation

    def _add(self, workshop: WorkshopRecord, user_key: str) -> None:
        raise NotImplementedError  # provided by the implementation

    def _can_read(self, workshop: WorkshopRecord, user_key: str) -> bool:
        return workshop.facilitator_key == user_key or self._is_cofacilitator(workshop,
                                                                               user_key)

    def readable(self, typed_code: str, user_key: str) -> WorkshopRecord | None:
        """The workshop if this person may read it. None says nothing more on purpose:
        an unknown code and someone else's workshop must look the same to the asker."""
        workshop = self.find(typed_code)
        if workshop is None or not self._can_read(workshop, user_key):
            return None
        return workshop

    def add_cofacilitator(self, workshop: WorkshopRecord, user_key: str) -> bool:
        """True when added; False when already facilitator or co-facilitator."""
        if self._can_read(workshop, user_key):
            return False
        self._add(workshop, user_key)
        return True


def empty_personal_data() -> dict[str, Any]:
    """The sections of a ``/mesdonnees`` report, empty: a person unknown here gets them."""
    return {"user": None, "sessions": [], "workshops_facilitated": [],
            "workshops_cofacilitated": [], "wrong_code_attempts": [],
            "replies_not_yet_sent": [],
            "outbox": {"messages_queued": [], "chat_addresses_kept": []}}
