"""Which regional bodies answer « qui contacter ? » for a knowledge entry and a place.

The CRESS, DLA, URSCOP and France Active cards say what each body does; who it is
in the person's region comes from the directory. What the directory lacks is never
filled in: a missing body is replaced by the national directory that lists it when
the file has one (Info DLA, the France Active network), else by nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.model import Entry
from knowledge.places import normalise
from knowledge.territories import Contact, Place, Territories

ENTRY_KINDS: Mapping[str, tuple[str, ...]] = {
    "contact/cress": ("cress",),
    "dispositif/dla": ("dla_regional", "dla_directory"),
    "contact/urscop": ("urscop",),
    "contact/france-active": ("france_active",),
    # « Qui peut aider notre association ? »: its answer sends to the DLA and France Active.
    "dispositif/association-difficulte": ("dla_regional", "dla_directory", "france_active"),
}
"""Knowledge entries about whom to contact → the directory's kinds of body."""

NATIONAL_FALLBACK: Mapping[str, tuple[str, ...]] = {
    "cress": ("cress_directory",),
    "dla_directory": ("dla_directory",),
    "urscop": ("urscop_directory",),
    "france_active": ("france_active_directory", "france_active_network"),
}
"""Where to look when the region lists no such body: the first the file has."""

_ASKS_WHOM = re.compile(
    r"\b(qui contacter|contacter|contact|joindre|interlocuteur|s adresser|qui peut m aider"
    r"|qui peut nous aider|qui peut aider|coordonnees|vers qui)\b")


@dataclass(frozen=True, slots=True)
class RegionalContacts:
    """The bodies to name for one place, and the national directories for the rest."""

    place: Place
    contacts: tuple[Contact, ...]
    directories: tuple[Contact, ...]


def contact_kinds(entry: Entry, question: str) -> tuple[str, ...]:
    """The kinds of body an answer is about: its own, or, for a « qui contacter ? »
    question answered by another card (« qui contacter pour une SCIC ? » → the SCIC
    card), those of the contact cards it points to."""
    own = ENTRY_KINDS.get(entry.id)
    if own:
        return own
    if not _ASKS_WHOM.search(normalise(question)):
        return ()
    kinds = [kind for other in entry.see_also for kind in ENTRY_KINDS.get(other, ())]
    return tuple(dict.fromkeys(kinds))


def regional_contacts(territories: Territories, place: Place,
                      kinds: tuple[str, ...]) -> RegionalContacts:
    """The region's bodies of these kinds that serve the place, in the directory's order.

    A body limited to some departments is named for a person in one of them, or for a
    person who gave only the region (the answer then says which departments it serves).
    """
    department = place.department.code if place.department else None
    contacts: list[Contact] = []
    directories: list[Contact] = []
    for kind in kinds:
        found = [c for c in place.region.contacts_of(kind)
                 if department is None or c.serves(department)]
        contacts += found
        if found:
            continue
        for national in NATIONAL_FALLBACK.get(kind, ()):
            directory = territories.national.get(national)
            if directory is not None:
                if directory not in directories:
                    directories.append(directory)
                break
    return RegionalContacts(place, tuple(contacts), tuple(directories))
