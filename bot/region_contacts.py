"""The regional lines of a « qui contacter ? » answer, in the catalogue's words.

A CRESS, DLA, URSCOP or France Active card says what the body does; these lines
say who it is where the person is: the place named in the question first (« la
CRESS en Bretagne », not stored), else the one they gave with ``/region``, else an
invitation to give it. Everything named comes from the regional directory.
"""

from __future__ import annotations

from bot.content import Content
from flows.catalogue import Texts
from knowledge.model import Entry
from knowledge.regional import RegionalContacts, contact_kinds, regional_contacts
from knowledge.territories import Contact


def regional_note(content: Content, entry: Entry, question: str, stored: str | None) -> str:
    """The lines to add to ``entry``'s answer ('' when it is not about whom to contact)."""
    places = content.places
    if places is None:
        return ""
    kinds = contact_kinds(entry, question)
    if not kinds:
        return ""
    asked = places.find_in(question)
    place = asked or places.territories.place(stored)
    if place is None:
        return content.texts("region.ask")
    found = regional_contacts(places.territories, place, kinds)
    return render(found, content.texts, asked=asked is not None)


def render(found: RegionalContacts, texts: Texts, asked: bool) -> str:
    """'' when the directory has nothing for these bodies there: nothing is guessed."""
    if not found.contacts and not found.directories:
        return ""
    region = found.place.region.name
    if asked:
        lines = [texts("region.contacts_asked", region=region)]
    elif found.place.department is None:
        lines = [texts("region.contacts_stored_region", region=region)]
    else:
        lines = [texts("region.contacts_stored", region=region, place=found.place.label)]
    lines += [_line(contact, texts) for contact in found.contacts]
    if found.directories:
        key = "region.directory_intro" if found.contacts else "region.directory_only_intro"
        lines.append(texts(key))
        lines += [_line(directory, texts) for directory in found.directories]
    return "\n".join(lines)


def _line(contact: Contact, texts: Texts) -> str:
    if contact.departments:
        return texts("region.contact_line_departments", name=contact.name, url=contact.url,
                     departments=", ".join(contact.departments))
    if contact.territory:
        return texts("region.contact_line_territory", name=contact.name, url=contact.url,
                     territory=contact.territory)
    return texts("region.contact_line", name=contact.name, url=contact.url)
