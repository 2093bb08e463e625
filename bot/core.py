"""The assistant behind every channel: ``Assistant.handle(Incoming) -> list[Outgoing]``.

One call handles one message completely: it takes the person's lock, opens one
transaction, drops a redelivered event, routes the message (command, button,
active flow, numbered choice, or a question for the knowledge base), and commits
before it returns, so the reply is only sent for what is stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot import flow_turns
from bot.config import Settings
from bot.identity import new_secret, pseudonym
from bot.locks import KeyedLocks
from bot.messages import Incoming, Outgoing, from_stored_form, stored_form
from bot.payloads import decode_step_button
from bot.texts import Texts, texts
from bot.turn import Turn
from flows.model import Flow
from flows.parsing import clean_text
from flows.registry import load_flows
from storage.repository import DuplicateEvent, Storage, open_storage

log = logging.getLogger(__name__)

MAX_INPUT = 4096
"""Longest message read; Telegram's own limit, and far above any useful answer."""

_COMMAND = re.compile(r"^[/!]([A-Za-zÀ-ÿ_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")

ALIASES = {
    "help": "aide",
    "back": "retour",
    "skip": "passer",
    "cancel": "annuler",
    "stop": "annuler",
    "menu": "start",
    "export": "export",
}

Handler = Callable[[Turn, str], Awaitable[list[Outgoing]]]

_RENDER_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coopbot-render")
"""Charts and documents are drawn here, after the commit: a chart costs 0.1–0.3 s of
CPU, which on the event loop would stall every other conversation. One thread only,
because matplotlib's pyplot keeps global state."""


@dataclass(frozen=True, slots=True)
class MenuEntry:
    command: str
    description: str


class Assistant:
    """Stateless between calls but for the per-person locks: any worker can serve anyone."""

    def __init__(
        self,
        storage: Storage,
        flows: dict[str, Flow],
        secret: str,
        catalogue: Texts | None = None,
        knowledge: Any = None,
    ) -> None:
        self.storage = storage
        self.flows = flows
        self.texts = catalogue or texts()
        self.knowledge = knowledge
        self._secret = secret
        self._locks = KeyedLocks()
        self._flow_commands = {flow.command: flow for flow in flows.values()}
        from bot import routes

        self._commands: dict[str, Handler] = routes.command_table(self)

    @classmethod
    async def create(cls, settings: Settings, knowledge: Any = None) -> Assistant:
        storage = await open_storage(settings.database_url)
        secret = settings.secret or await storage.setdefault_value("secret", new_secret())
        if knowledge is None:
            knowledge = _load_knowledge()
        return cls(storage, load_flows(), secret, knowledge=knowledge)

    async def close(self) -> None:
        await self.storage.close()

    def user_key(self, channel: str, platform_user_id: str) -> str:
        return pseudonym(self._secret, channel, platform_user_id)

    @property
    def commands(self) -> list[tuple[str, str]]:
        """(command, French description) for platform menus, most useful first."""
        return [("start", self.texts("menu.start")), *self._flow_entries(), *self._other_entries()]

    def _flow_entries(self) -> list[tuple[str, str]]:
        return [(f.command, f.description or f.title) for f in self._menu_flows()]

    def _other_entries(self) -> list[tuple[str, str]]:
        others = ("atelier", "rejoindre", "synthese", "export", "mesdonnees", "oublier", "aide")
        return [(c, self.texts(f"menu.{c}")) for c in others]

    def _menu_flows(self) -> list[Flow]:
        order = ["facteurs", "cadrage", "relation", "charte", "statut"]
        listed = [f for f in self.flows.values() if not f.meta.get("hidden")]
        return sorted(listed, key=lambda f: (order.index(f.id) if f.id in order else 99, f.id))

    def menu_text(self, complete: bool = False) -> str:
        """The flows (welcome), or every command but /aide itself (help)."""
        entries = self._flow_entries() + (self._other_entries() if complete else [])
        return "\n".join(
            self.texts("menu_line", command=c, description=d)
            for c, d in entries
            if c != "aide"
        )

    def flow_for_command(self, command: str) -> Flow | None:
        return self._flow_commands.get(command)

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        text = incoming.text
        if text is not None and len(text) > MAX_INPUT:
            return [Outgoing(text=self.texts("errors.too_long", length=len(text), max=MAX_INPUT))]
        if incoming.payload is None and (text is None or not clean_text(text)):
            key = "errors.no_text" if text is None else "invalid.empty"
            return [Outgoing(text=self.texts(key))]
        async with self._locks.hold(incoming.user_key):
            try:
                async with self.storage.conversation(incoming.user_key) as conv:
                    if incoming.message_id:
                        await conv.claim_event(incoming.channel, incoming.message_id)
                    turn = Turn(self, incoming, conv)
                    replies = await self._route(turn)
                    _remember_choices(turn, replies)
                    kept = stored_form(replies) if incoming.message_id else []
                    if kept and incoming.message_id:  # as in ``delivered``: kept, then cleared
                        await conv.keep_replies(incoming.channel, incoming.message_id, kept)
            except DuplicateEvent as duplicate:
                if duplicate.unsent and not await self.storage.handler_alive(duplicate.handler):
                    # Handled before, but that worker died before its replies left. (While
                    # it lives, it is still sending them: this copy is dropped.)
                    log.info("redelivered event: its unsent replies go now (channel=%s)",
                             incoming.channel)
                    return from_stored_form(duplicate.unsent)
                log.info("duplicate event dropped (channel=%s)", incoming.channel)
                return []
            except Exception:
                log.exception("failed to handle a message (channel=%s)", incoming.channel)
                return [Outgoing(text=self.texts("errors.internal"))]
        if turn.after_commit:
            loop = asyncio.get_running_loop()
            for later in turn.after_commit:
                replies.extend(await loop.run_in_executor(_RENDER_THREAD, later))
        return replies

    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None:
        """The channel has sent ``replies`` (what ``handle`` returned for ``incoming``).

        Until then they are kept with the event, so that a platform redelivering it
        after a crash gets them again. If the process stops between the send and
        this call, a redelivery sends them a second time: at least once, rather
        than perhaps never.
        """
        if incoming.message_id and stored_form(replies):
            try:
                await self.storage.delivered(incoming.channel, incoming.message_id)
            except Exception:  # the replies went out; at worst they go again later
                log.exception("could not record a delivery (channel=%s)", incoming.channel)

    async def _route(self, turn: Turn) -> list[Outgoing]:
        incoming = turn.incoming
        if incoming.payload is not None:
            return await self._payload(turn, incoming.payload)
        text = clean_text(incoming.text or "")
        command = _COMMAND.match(text)
        if command:
            # A command moves on from any pending yes/no question (its handler may ask again).
            turn.conv.set_state(confirm=None)
            name = command.group(1).lower()
            return await self._command(turn, ALIASES.get(name, name), command.group(2) or "")
        pending = turn.conv.state.get("confirm")
        if pending:
            # A question such as « effacer vos données ? » waits for its answer first.
            turn.conv.set_state(confirm=None)
            from bot import routes

            return await routes.confirmation(turn, str(pending), text)
        active = await turn.conv.active_session()
        if active is not None:
            return await flow_turns.continue_flow(turn, active, "answer", text)
        number = _NUMBER.match(text)
        offered = turn.conv.state.get("choices") or []
        if number and offered:
            index = int(number.group(1))
            if 1 <= index <= len(offered):
                return await self._payload(turn, offered[index - 1])
            return [turn.say("choices.out_of_range")]
        if number:
            # A lone number is never a question for the knowledge base (« 1 » once matched
            # an article number): it answers a list that is no longer there.
            return [turn.say("choices.no_list")]
        from bot import routes

        return await routes.free_text(turn, text)

    async def _command(self, turn: Turn, name: str, args: str) -> list[Outgoing]:
        flow = self.flow_for_command(name)
        if flow is not None:
            return await flow_turns.start_flow(turn, flow)
        handler = self._commands.get(name)
        if handler is None:
            return [turn.say("commands.unknown", command=name)]
        return await handler(turn, args.strip())

    async def _payload(self, turn: Turn, payload: str) -> list[Outgoing]:
        if payload.startswith(("/", "!")):
            command = _COMMAND.match(payload)
            if command:
                name = command.group(1).lower()
                return await self._command(turn, ALIASES.get(name, name), command.group(2) or "")
        button = decode_step_button(payload)
        if button is not None:
            active = await turn.conv.active_session()
            return await flow_turns.press_button(turn, active, button)
        from bot import routes

        return await routes.payload(turn, payload)


def _remember_choices(turn: Turn, replies: list[Outgoing]) -> None:
    """Outside a flow, a typed number answers the last choices offered."""
    offered = [c.payload for r in replies for c in r.choices]
    in_flow = turn.conv.state.get("session_id") is not None
    if offered and not in_flow:
        turn.conv.set_state(choices=offered)
    elif replies and turn.conv.state.get("choices"):
        turn.conv.set_state(choices=None)


def _load_knowledge() -> Any:
    from knowledge.base import load_knowledge

    return load_knowledge()
