"""Chat commands of workshops and of participants' rights.

``/atelier`` creates a workshop in two short exchanges (title, then questionnaire)
or at once with ``/atelier Titre``; ``/rejoindre CODE`` starts the workshop's
questionnaire; ``/synthese CODE [format]`` gives the facilitator the anonymous
synthesis; ``/cofacilitateur`` shares it; ``/mesdonnees`` and ``/oublier`` are the
participants' rights (``bot.privacy``). Merged into the core's command table by
``bot.routes.command_table``.

Whatever the reason a synthesis is refused (unknown code, or not one's workshop),
the answer is the same words, and both count as a wrong code for the brake.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import flow_turns, privacy, routes
from bot.messages import Attachment, Choice, Outgoing
from bot.texts import Texts, load_texts
from bot.turn import Turn
from storage.workshops import INVITE_LIFETIME, INVITE_PREFIX

if TYPE_CHECKING:
    from bot.core import Handler
    from storage.models import Workshop

TEXTS_FILE = Path(__file__).parent / "workshop_texts.fr.yaml"
WORKSHOP_FLOWS = ("preatelier", "facteurs")
"""Questionnaires a facilitator picks from in chat (the CLI accepts any flow id)."""
TITLE_MAX = 120
CONFIRM_TITLE = "workshop_title"
CONFIRM_FLOW = "workshop_flow"
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_LENGTH = 12


@lru_cache(maxsize=1)
def workshop_texts() -> Texts:
    return load_texts(TEXTS_FILE)


def _say(key: str, **params: Any) -> Outgoing:
    return Outgoing(text=workshop_texts()(key, **params))


def command_table() -> dict[str, Handler]:
    routes.CONFIRMATIONS[CONFIRM_TITLE] = _title_given
    routes.CONFIRMATIONS[CONFIRM_FLOW] = _flow_typed
    routes.CONFIRMATIONS[privacy.CONFIRM_FORGET] = privacy.confirm_forget
    return {
        "atelier": create,
        "ateliercreer": _flow_chosen,
        "rejoindre": join,
        "synthese": synthesis,
        "synthèse": synthesis,
        "cofacilitateur": cofacilitator,
        "mesdonnees": privacy.my_data,
        "mesdonnées": privacy.my_data,
        "oublier": privacy.forget,
    }


# --- /atelier ----------------------------------------------------------------------------


async def create(turn: Turn, args: str) -> list[Outgoing]:
    # Otherwise the next typed number would answer the paused question, not ours.
    replies = await flow_turns.pause_active(turn)
    if args:
        return replies + _accept_title(turn, args)
    turn.conv.set_state(workshop_draft=None)
    privacy.ask_confirmation(turn, CONFIRM_TITLE)
    return [*replies, _say("create.ask_title")]


async def _title_given(turn: Turn, text: str) -> list[Outgoing]:
    elsewhere = await privacy.moved_on(turn, text)
    if elsewhere is not None:
        return elsewhere
    if text.strip().lower().strip(".!") == "annuler":
        return [_say("create.cancelled")]
    return _accept_title(turn, text)


def _accept_title(turn: Turn, text: str) -> list[Outgoing]:
    title = " ".join(text.split())
    if len(title) > TITLE_MAX:
        privacy.ask_confirmation(turn, CONFIRM_TITLE)
        return [_say("create.title_too_long", length=len(title), max=TITLE_MAX)]
    turn.conv.set_state(workshop_draft={"title": title})
    privacy.ask_confirmation(turn, CONFIRM_FLOW)
    available = [f for f in WORKSHOP_FLOWS if f in turn.flows]
    choices = tuple(Choice(workshop_texts()(f"flows.{f}"), f"/ateliercreer {f}")
                    for f in available)
    return [Outgoing(text=workshop_texts()("create.ask_flow"), choices=choices)]


async def _flow_typed(turn: Turn, text: str) -> list[Outgoing]:
    """The questionnaire typed as a number (buttons come through ``/ateliercreer``)."""
    elsewhere = await privacy.moved_on(turn, text)
    if elsewhere is not None:
        return elsewhere
    available = [f for f in WORKSHOP_FLOWS if f in turn.flows]
    answer = text.strip().rstrip(".)!").lower()
    if answer == "annuler":
        turn.conv.set_state(workshop_draft=None)
        return [_say("create.cancelled")]
    if answer.isdigit() and 1 <= int(answer) <= len(available):
        return await _flow_chosen(turn, available[int(answer) - 1])
    if answer in available:
        return await _flow_chosen(turn, answer)
    privacy.ask_confirmation(turn, CONFIRM_FLOW)
    return [_say("create.flow_invalid")]


async def _flow_chosen(turn: Turn, args: str) -> list[Outgoing]:
    from storage.workshops import create_workshop, display_code

    draft = turn.conv.state.get("workshop_draft") or {}
    flow_id = args.strip()
    turn.conv.set_state(confirm=None, confirm_session=None)
    if not draft.get("title"):
        return [_say("create.nothing_pending")]
    if flow_id not in turn.flows:
        privacy.ask_confirmation(turn, CONFIRM_FLOW)
        return [_say("create.flow_invalid")]
    turn.conv.set_state(workshop_draft=None)
    workshop = await create_workshop(turn.conv.db, draft["title"], flow_id,
                                     turn.incoming.user_key)
    return created_messages(draft["title"], display_code(workshop.code), flow_id)


def created_messages(title: str, code: str, flow_id: str) -> list[Outgoing]:
    t = workshop_texts()
    minutes_key = f"minutes.{flow_id}" if t.has(f"minutes.{flow_id}") else "minutes.other"
    return [
        Outgoing(text=t("create.done", title=title, code=code)),
        Outgoing(text=t("create.invitation", title=title, code=code, minutes=t(minutes_key))),
    ]


# --- /rejoindre --------------------------------------------------------------------------


async def _braked(turn: Turn) -> Outgoing | None:
    from storage.workshops import wait_before_next_code

    wait = await wait_before_next_code(turn.conv.db, turn.incoming.user_key)
    if wait is None:
        return None
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return _say("join.braked", minutes=minutes)


async def join(turn: Turn, args: str) -> list[Outgoing]:
    from storage.workshops import find_workshop, has_joined, is_open, record_wrong_code

    if not args:
        return [_say("join.usage")]
    braked = await _braked(turn)
    if braked is not None:
        return [braked]
    workshop = await find_workshop(turn.conv.db, args)
    if workshop is None:
        await record_wrong_code(turn.conv.db, turn.incoming.user_key)
        return [_say("join.unknown")]
    if not is_open(workshop):
        return [_say("join.closed", title=workshop.title)]
    flow = turn.flows.get(workshop.flow_id)
    if flow is None:
        return [_say("join.unavailable")]
    preface = [*privacy.notice_once(turn), _say("join.welcome", title=workshop.title)]
    if await has_joined(turn.conv.db, workshop.id, turn.incoming.user_key) == "completed":
        preface.append(_say("join.again"))
    return await flow_turns.start_flow(turn, flow, workshop_id=workshop.id,
                                       preface=tuple(preface))


# --- /synthese ---------------------------------------------------------------------------


async def synthesis(turn: Turn, args: str) -> list[Outgoing]:
    from storage.workshops import readable_workshop, record_wrong_code

    words = args.split()
    if not words:
        return [_say("synthesis.usage")]
    fmt = words[-1].lower().lstrip(".") if len(words) > 1 else ""
    fmt = "md" if fmt == "markdown" else fmt
    code = " ".join(words[:-1]) if fmt in ("md", "html", "csv", "json") else args
    if fmt not in ("md", "html", "csv", "json"):
        fmt = ""
    braked = await _braked(turn)
    if braked is not None:
        return [braked]
    workshop = await readable_workshop(turn.conv.db, code, turn.incoming.user_key)
    if workshop is None:
        await record_wrong_code(turn.conv.db, turn.incoming.user_key)
        return [_say("synthesis.refused")]
    data = await synthesis_data(turn.conv.db, workshop, turn.flows)
    if data is None:
        return [_say("join.unavailable")]
    if fmt:
        turn.after_commit.append(lambda: [_file(data, fmt)])
        return []
    replies = chat_messages(data)
    replies.append(_say("synthesis.formats_hint", code=data["code"]))
    # Drawing takes a moment: after the commit, so the person's lock is not held meanwhile.
    turn.after_commit.append(lambda: _pictures_and_page(data))
    return replies


def _pictures_and_page(data: dict[str, Any]) -> list[Outgoing]:
    drawn = charts(data)
    return [*chart_messages(data, drawn), _file(data, "html", drawn)]


async def synthesis_data(db: Any, workshop: Workshop, flows: dict[str, Any]) -> (
    dict[str, Any] | None
):
    """The synthesis dict of a workshop (the caller has checked the right to read it)."""
    from storage.repository import as_utc
    from storage.workshop_synthesis import WorkshopInfo, build_synthesis
    from storage.workshops import display_code, participations

    flow = flows.get(workshop.flow_id)
    if flow is None:
        return None
    people = await participations(db, workshop.id)
    info = WorkshopInfo(display_code(workshop.code), workshop.title, workshop.status,
                        as_utc(workshop.created_at),
                        as_utc(workshop.closes_at) if workshop.closes_at else None)
    return build_synthesis(info, flow, people, workshop_texts()("synthesis.unknown_category"))


def chat_messages(data: dict[str, Any]) -> list[Outgoing]:
    from storage.render import render

    return flow_turns.bubbles(render("workshop/synthesis.chat.j2", s=data))


def charts(data: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    from flows.charts.atelier import workshop_charts

    try:
        return workshop_charts(data, workshop_texts())
    except Exception:  # a chart is a bonus: never lose the synthesis over it
        import logging

        logging.getLogger(__name__).exception("workshop chart failed")
        return []


def chart_messages(data: dict[str, Any], drawn: list[tuple[str, str, bytes]]) -> (
    list[Outgoing]
):
    return [Outgoing(image=Attachment(f"atelier-{data['code']}-{kind}.png", png, "image/png",
                                      title))
            for kind, title, png in drawn]


def _file(data: dict[str, Any], fmt: str,
          drawn: list[tuple[str, str, bytes]] | None = None) -> (
    Outgoing
):
    from storage.workshop_synthesis import render_synthesis

    if fmt == "html" and drawn is None:
        drawn = charts(data)
    document = render_synthesis(data, fmt, workshop_texts(), drawn or ())
    caption = workshop_texts()("synthesis.caption", title=data["title"], format=fmt.upper())
    return Outgoing(file=Attachment(document.filename, document.content, document.mime_type,
                                    caption))


# --- /cofacilitateur ---------------------------------------------------------------------


async def cofacilitator(turn: Turn, args: str) -> list[Outgoing]:
    """The facilitator asks for a one-time invitation; the invited person redeems it.

    Invitations live in ``key_values`` (``cofac:<token>`` → workshop id and expiry):
    12 characters of the join-code alphabet, 48 hours, one use.
    """
    from storage.workshops import readable_workshop, record_wrong_code

    if not args:
        return [_say("cofac.usage")]
    braked = await _braked(turn)
    if braked is not None:
        return [braked]
    db = turn.conv.db
    token = "".join(args.split()).replace("-", "").upper()
    if len(token) == INVITE_LENGTH:
        return await _redeem(turn, token)
    workshop = await readable_workshop(db, args, turn.incoming.user_key)
    if workshop is None:
        await record_wrong_code(db, turn.incoming.user_key)
        return [_say("cofac.refused")]
    from storage.models import KeyValue, utcnow

    token = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
    expires = utcnow() + INVITE_LIFETIME
    db.add(KeyValue(key=INVITE_PREFIX + token, value=f"{workshop.id}|{expires.isoformat()}",
                    updated_at=utcnow()))
    shown = "-".join(token[i:i + 4] for i in range(0, INVITE_LENGTH, 4))
    hours = int(INVITE_LIFETIME.total_seconds() // 3600)
    return [_say("cofac.invite", title=workshop.title, hours=hours),
            _say("cofac.invite_text", title=workshop.title, token=shown)]


async def _redeem(turn: Turn, token: str) -> list[Outgoing]:
    from storage.models import KeyValue
    from storage.workshops import add_cofacilitator, display_code, get_workshop, record_wrong_code

    db = turn.conv.db
    row = await db.get(KeyValue, INVITE_PREFIX + token)
    workshop = None
    if row is not None:
        workshop_id, _, expires = row.value.partition("|")
        alive = datetime.fromisoformat(expires) > datetime.now(UTC)
        workshop = await get_workshop(db, int(workshop_id)) if alive else None
    if workshop is None:
        await record_wrong_code(db, turn.incoming.user_key)
        return [_say("cofac.refused")]
    code = display_code(workshop.code)
    if not await add_cofacilitator(db, workshop, turn.incoming.user_key):
        return [_say("cofac.already", title=workshop.title, code=code)]
    await db.delete(row)
    return [_say("cofac.accepted", title=workshop.title, code=code)]
