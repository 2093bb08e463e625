"""``/region`` (also ``/département``): where the person is, said once and kept.

Kept with the person's data (``Conversation.set_territory``: a department code or a
region id), shown by ``/mesdonnees`` and erased by ``/oublier``; contact answers
read it (:mod:`bot.region_contacts`). Nothing is stored unless the place is clear:
an unknown name is refused with an example, an unclear typo is offered as choices
whose buttons send ``/region <code>``.
"""

from __future__ import annotations

from bot.messages import Choice, Outgoing
from bot.notice import notice_once
from bot.turn import Turn
from flows.folding import fold
from knowledge.territories import Place


def region(turn: Turn, args: str) -> list[Outgoing]:
    places = turn.content.places
    if places is None:
        return [turn.say("region.unavailable")]
    stored = places.territories.place(turn.conv.territory)
    if not args:
        if stored is None:
            return [turn.say("region.show_none")]
        return [turn.say("region.show", place=stored.label)]
    if fold(args) in {fold(w) for w in turn.texts("region.remove_words").split(",")}:
        if turn.conv.territory is None:
            return [turn.say("region.removed_none")]
        turn.conv.set_territory(None)
        return [turn.say("region.removed")]
    typed = args[:60]
    found = places.find(args)
    if found.status == "found" and found.place is not None:
        # What is kept about the person grows: the privacy notice first, once.
        return [*notice_once(turn), _store(turn, found.place)]
    if found.status == "ambiguous":
        lines = [turn.texts("region.ambiguous_intro", typed=typed)]
        lines += [f"- {place.label}" for place in found.candidates]
        lines.append(turn.texts("region.ambiguous_outro"))
        choices = tuple(Choice(p.label, f"/region {p.key}") for p in found.candidates)
        return [Outgoing(text="\n".join(lines), choices=choices)]
    key = "region.outside" if found.status == "outside" else "region.unknown"
    return [turn.say(key, typed=typed)]


def _store(turn: Turn, place: Place) -> Outgoing:
    turn.conv.set_territory(place.key)
    if place.department is None:
        return turn.say("region.stored_region", place=place.label)
    return turn.say("region.stored_department", place=place.label, region=place.region.name)
