"""``/atelier``: a facilitator creates a workshop in two short exchanges.

The title, then the questionnaire (or at once with ``/atelier Titre``). Each
question waits for the person's next message (:mod:`bot.confirm`); « annuler »
abandons.

The reply gives the code, an invitation to forward with the link of the channel the
facilitator speaks on (:mod:`bot.invite`) and, after the commit, the link's QR code
as a picture to project or print.
"""

from __future__ import annotations

from bot import confirm
from bot.flow_turns import pause_active
from bot.invite import InviteLink, invite_link
from bot.messages import Attachment, Choice, Outgoing
from bot.turn import Turn
from flows.catalogue import Texts
from storage.reports.qr import qr_png
from storage.workshop_codes import display_code

WORKSHOP_FLOWS = ("preatelier", "facteurs")
"""Questionnaires a facilitator picks from in chat (the CLI accepts any flow id)."""
TITLE_MAX = 120
CONFIRM_TITLE = "workshop_title"
CONFIRM_FLOW = "workshop_flow"


def create(turn: Turn, args: str) -> list[Outgoing]:
    # Otherwise the next typed number would answer the paused question, not ours.
    replies = pause_active(turn)
    if args:
        return replies + _accept_title(turn, args)
    turn.conv.set_state(workshop_draft=None)
    confirm.ask(turn, CONFIRM_TITLE)
    return [*replies, turn.say("workshop.create.ask_title")]


def title_given(turn: Turn, text: str) -> list[Outgoing]:
    elsewhere = confirm.moved_on(turn, text)
    if elsewhere is not None:
        return elsewhere
    if text.strip().lower().strip(".!") == "annuler":
        return [turn.say("workshop.create.cancelled")]
    return _accept_title(turn, text)


def _accept_title(turn: Turn, text: str) -> list[Outgoing]:
    title = " ".join(text.split())
    if len(title) > TITLE_MAX:
        confirm.ask(turn, CONFIRM_TITLE)
        return [turn.say("workshop.create.title_too_long", length=len(title), max=TITLE_MAX)]
    turn.conv.set_state(workshop_draft={"title": title})
    confirm.ask(turn, CONFIRM_FLOW)
    choices = tuple(Choice(turn.texts(f"workshop.flows.{f}"), f"/ateliercreer {f}")
                    for f in _available(turn))
    return [Outgoing(text=turn.texts("workshop.create.ask_flow"), choices=choices)]


def _available(turn: Turn) -> list[str]:
    return [f for f in WORKSHOP_FLOWS if f in turn.flows]


def flow_typed(turn: Turn, text: str) -> list[Outgoing]:
    """The questionnaire typed as a number (buttons come through ``/ateliercreer``)."""
    elsewhere = confirm.moved_on(turn, text)
    if elsewhere is not None:
        return elsewhere
    available = _available(turn)
    answer = text.strip().rstrip(".)!").lower()
    if answer == "annuler":
        turn.conv.set_state(workshop_draft=None)
        return [turn.say("workshop.create.cancelled")]
    if answer.isdigit() and 1 <= int(answer) <= len(available):
        return flow_chosen(turn, available[int(answer) - 1])
    if answer in available:
        return flow_chosen(turn, answer)
    confirm.ask(turn, CONFIRM_FLOW)
    return [turn.say("workshop.create.flow_invalid")]


def flow_chosen(turn: Turn, args: str) -> list[Outgoing]:
    draft = turn.conv.state.get("workshop_draft") or {}
    flow_id = args.strip()
    turn.conv.set_state(confirm=None, confirm_session=None)
    if not draft.get("title"):
        return [turn.say("workshop.create.nothing_pending")]
    if flow_id not in turn.flows:
        confirm.ask(turn, CONFIRM_FLOW)
        return [turn.say("workshop.create.flow_invalid")]
    turn.conv.set_state(workshop_draft=None)
    workshop = turn.conv.workshops.create(draft["title"], flow_id, turn.user_key)
    code = display_code(workshop.code)
    turn.keep_address = True  # for the closing notice, and replies about the workshop
    link = invite_link(turn.incoming.channel, turn.incoming.bot_address, code)
    if link is not None:
        texts, title = turn.texts, draft["title"]
        # Drawn after the commit (about 20 ms), never while the person's lock is held.
        turn.after_commit.append(lambda: [qr_message(texts, title, code, link)])
    return created_messages(turn.texts, draft["title"], code, flow_id, link)


def created_messages(texts: Texts, title: str, code: str, flow_id: str,
                     link: InviteLink | None = None) -> list[Outgoing]:
    """What the facilitator reads, then the invitation to forward (the last message)."""
    minutes = f"workshop.minutes.{flow_id}"
    if not texts.has(minutes):
        minutes = "workshop.minutes.other"
    return [
        Outgoing(text=texts("workshop.create.done", title=title, code=code)),
        Outgoing(text=texts("workshop.create.invitation", title=title, code=code,
                            minutes=texts(minutes), how=how_to_join(texts, code, link))),
    ]


def how_to_join(texts: Texts, code: str, link: InviteLink | None) -> str:
    if link is None:
        return texts("workshop.create.how_code", code=code)
    return texts(f"workshop.create.how_{link.channel}", link=link.url, code=code)


def qr_caption(texts: Texts, title: str, code: str, link: InviteLink) -> str:
    """The picture's text alternative: what it is, and where it leads."""
    key = "workshop.create.qr_caption_matrix" if link.needs_code else "workshop.create.qr_caption"
    return texts(key, title=title, link=link.url, code=code)


def qr_message(texts: Texts, title: str, code: str, link: InviteLink) -> Outgoing:
    picture = Attachment(f"atelier-{code}-qr.png", qr_png(link.url), "image/png",
                         qr_caption(texts, title, code, link))
    return Outgoing(image=picture)
