"""Workshop commands of participants and facilitators.

``/rejoindre CODE`` starts the workshop's questionnaire, and so does ``/start
atelier_CODE``, what Telegram sends when an invitation link is opened; ``/synthese CODE [format]``
gives the facilitator the synthesis without names; ``/cofacilitateur`` shares it.

Whatever the reason a synthesis is refused (unknown code, or not one's workshop),
the answer is the same words, and both count as a wrong code for the brake.
"""

from __future__ import annotations

import logging
import secrets

from bot.flow_turns import bubbles, start_flow
from bot.invite import code_from_payload, invite_link
from bot.messages import Attachment, Outgoing
from bot.notice import notice_once
from bot.turn import Turn
from flows.catalogue import Texts
from storage.records import WorkshopRecord
from storage.reports.charts.alt import chart_alt
from storage.reports.charts.atelier import workshop_charts
from storage.reports.render import render
from storage.reports.synthesis import (
    FORMATS,
    GroupLabels,
    render_synthesis,
    workshop_synthesis,
)
from storage.reports.synthesis_model import WorkshopSynthesis
from storage.workshop_codes import (
    ALPHABET,
    INVITE_LENGTH,
    INVITE_LIFETIME,
    display_code,
    normalise_code,
)

log = logging.getLogger(__name__)
Chart = tuple[str, str, bytes]


def braked(turn: Turn) -> Outgoing | None:
    """The wait after too many wrong codes, or None: asked before any code is tried."""
    wait = turn.conv.workshops.wait_before_next_code(turn.user_key)
    if wait is None:
        return None
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return turn.say("workshop.join.braked", minutes=minutes)


def facilitated(turn: Turn, code: str) -> WorkshopRecord | Outgoing:
    """The workshop ``code`` names, if this person facilitates or co-facilitates it; else
    the wait after too many wrong codes, or the refusal (and the attempt counts as a
    wrong code), in the same words for a wrong code and someone else's workshop."""
    wait = braked(turn)
    if wait is not None:
        return wait
    store = turn.conv.workshops
    workshop = store.readable(code, turn.user_key)
    if workshop is None:
        store.record_wrong_code(turn.user_key)
        return turn.say("workshop.synthesis.refused")
    return workshop


def join(turn: Turn, args: str, *, unknown: str = "workshop.join.unknown") -> list[Outgoing]:
    if not args:
        return [turn.say("workshop.join.usage")]
    wait = braked(turn)
    if wait is not None:
        return [wait]
    store = turn.conv.workshops
    workshop = store.find(args)
    if workshop is None:
        store.record_wrong_code(turn.user_key)
        return [turn.say(unknown)]
    if not workshop.is_open(turn.conv.now):
        return [turn.say("workshop.join.closed", title=workshop.title)]
    flow = turn.flows.get(workshop.flow_id)
    if flow is None:
        return [turn.say("workshop.join.unavailable")]
    preface = [*notice_once(turn), turn.say("workshop.join.welcome", title=workshop.title)]
    if store.has_joined(workshop.id, turn.user_key) == "completed":
        preface.append(turn.say("workshop.join.again"))
    return start_flow(turn, flow, workshop_id=workshop.id, preface=tuple(preface))


def join_by_link(turn: Turn, payload: str) -> list[Outgoing]:
    """``/start atelier_CODE``: exactly ``/rejoindre CODE`` (privacy notice first for a
    newcomer). A payload that carries no code counts as a wrong code, brake included."""
    code = code_from_payload(payload)
    if code is not None:
        return join(turn, code, unknown="workshop.join.unknown_link")
    wait = braked(turn)
    if wait is not None:
        return [wait]
    turn.conv.workshops.record_wrong_code(turn.user_key)
    return [turn.say("workshop.join.unknown_link")]


def synthesis(turn: Turn, args: str) -> list[Outgoing]:
    words = args.split()
    if not words:
        return [turn.say("workshop.synthesis.usage")]
    fmt = words[-1].lower().lstrip(".") if len(words) > 1 else ""
    fmt = "md" if fmt == "markdown" else fmt
    code = " ".join(words[:-1]) if fmt in FORMATS else args
    if fmt not in FORMATS:
        fmt = ""
    found = facilitated(turn, code)
    if isinstance(found, Outgoing):
        return [found]
    workshop, store = found, turn.conv.workshops
    texts = turn.texts.scoped("workshop")
    data = workshop_synthesis(store, workshop, turn.flows, GroupLabels.from_texts(texts))
    if data is None:
        return [turn.say("workshop.join.unavailable")]
    link = invite_link(turn.incoming.channel, turn.incoming.bot_address, data.code)
    url = link.url if link else None
    if fmt:
        turn.after_commit.append(lambda: [synthesis_file(data, fmt, texts, join_link=url)])
        return []
    replies = chat_messages(data)
    replies.append(turn.say("workshop.synthesis.formats_hint", code=data.code))
    # Drawing takes a moment: after the commit, so the person's lock is not held meanwhile.
    turn.after_commit.append(lambda: _pictures_and_page(data, texts, url))
    return replies


def _pictures_and_page(data: WorkshopSynthesis, texts: Texts,
                       join_link: str | None) -> list[Outgoing]:
    drawn = charts(data, texts)
    return [*chart_messages(data, drawn),
            synthesis_file(data, "html", texts, drawn, join_link=join_link)]


def chat_messages(data: WorkshopSynthesis) -> list[Outgoing]:
    return bubbles(render("workshop/synthesis.chat.j2", s=data))


def charts(data: WorkshopSynthesis, texts: Texts) -> list[Chart]:
    try:
        return workshop_charts(data, texts)
    except Exception:  # a chart is a bonus: never lose the synthesis over it
        log.exception("workshop chart failed")
        return []


def chart_messages(data: WorkshopSynthesis, drawn: list[Chart]) -> list[Outgoing]:
    return [Outgoing(image=Attachment(f"atelier-{data.code}-{kind}.png", png, "image/png",
                                      title, alt=chart_alt(f"atelier_{kind}", data, title)))
            for kind, title, png in drawn]


def synthesis_file(data: WorkshopSynthesis, fmt: str, texts: Texts,
                   drawn: list[Chart] | None = None, join_link: str | None = None) -> Outgoing:
    if fmt == "html" and drawn is None:
        drawn = charts(data, texts)
    document = render_synthesis(data, fmt, texts, drawn or (), join_link)
    caption = texts("synthesis.caption", title=data.title, format=fmt.upper())
    return Outgoing(file=Attachment(document.filename, document.content, document.mime_type,
                                    caption))


def cofacilitator(turn: Turn, args: str) -> list[Outgoing]:
    """The facilitator asks for a one-time invitation; the invited person redeems it.

    An invitation is 12 characters of the join-code alphabet, valid 48 hours, once.
    """
    if not args:
        return [turn.say("workshop.cofac.usage")]
    wait = braked(turn)
    if wait is not None:
        return [wait]
    token = normalise_code(args, INVITE_LENGTH)
    if token is not None:
        return _redeem(turn, token)
    store = turn.conv.workshops
    workshop = store.readable(args, turn.user_key)
    if workshop is None:
        store.record_wrong_code(turn.user_key)
        return [turn.say("workshop.cofac.refused")]
    token = "".join(secrets.choice(ALPHABET) for _ in range(INVITE_LENGTH))
    store.invite(workshop, token, turn.conv.now + INVITE_LIFETIME)
    hours = int(INVITE_LIFETIME.total_seconds() // 3600)
    return [turn.say("workshop.cofac.invite", title=workshop.title, hours=hours),
            turn.say("workshop.cofac.invite_text", title=workshop.title,
                     token=display_code(token, 4))]


def _redeem(turn: Turn, token: str) -> list[Outgoing]:
    store = turn.conv.workshops
    workshop = store.invitation(token)
    if workshop is None:
        store.record_wrong_code(turn.user_key)
        return [turn.say("workshop.cofac.refused")]
    code = display_code(workshop.code)
    if not store.add_cofacilitator(workshop, turn.user_key):
        return [turn.say("workshop.cofac.already", title=workshop.title, code=code)]
    store.drop_invitation(token)
    return [turn.say("workshop.cofac.accepted", title=workshop.title, code=code)]
"""The wrong-code brake's answer, for the other workshop commands (``/etat``, ``/relancer``,
``/cloture``, :mod:`bot.outbox_routes`); kept as an alias so this module stays as it was."""
