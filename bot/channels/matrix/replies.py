"""Answering: the assistant's replies as Matrix events, polls kept and ended, notices.

- Replies are ``m.notice`` (other bots do not answer notices) with HTML formatting. In a
  shared room the first bubble quotes the message it answers.
- In a direct chat a question with choices is followed by a poll (:mod:`.polls`). The
  poll's event id, its room and the payload of each answer are kept
  (``matrix:poll:<hash>``), so a vote is checked against a poll the bot really sent in
  that room. The room's open poll (``matrix:open-poll:<hash>``) is ended when it has
  been answered, by a vote or a typed number, or when a new question replaces it.
- A message that could not be decrypted gets **one** notice per Megolm session
  (``matrix:utd:<hash>``): several messages lost together get one notice, not several.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.channels.matrix.base import CHANNEL, KeyValue, digest
from bot.channels.matrix.polls import POLL_END, POLL_START, payloads, poll_end, poll_start
from bot.channels.matrix.send import Sender
from bot.channels.matrix_render import REPLY_KEY, notice, text_content, texts
from bot.messages import FollowUps, Handles, Incoming, Outgoing

log = logging.getLogger("coopbot.matrix")

POLL_KEY = "matrix:poll:{}"
OPEN_POLL_KEY = "matrix:open-poll:{}"
UTD_KEY = "matrix:utd:{}"


class Replier:
    def __init__(self, assistant: Handles, kv: KeyValue, sender: Sender, me: str = "") -> None:
        self.assistant = assistant
        self.me = me
        """The bot's user id, for the invitation links the core writes."""
        self.kv = kv
        self.sender = sender
        self.undecryptable_count = 0

    async def answer(
        self, room_id: str, incoming: Incoming, event_id: str | None, *, group: bool,
        voted_poll: str | None = None,
    ) -> None:
        follow_ups = FollowUps()
        try:
            replies = await self.assistant.handle(incoming, follow_ups)
        except Exception:
            log.exception("Matrix: the assistant failed on a message in %s", digest(room_id))
            replies = [Outgoing(text=texts()["failure"])]
        answered = voted_poll is not None or (incoming.text or "").strip().isdigit()
        if not group and (answered or any(reply.choices for reply in replies)):
            await self.end_open_poll(room_id)
        for index, reply in enumerate(replies):
            # In a shared room the first bubble quotes the message it answers.
            quote = event_id if group and index == 0 else None
            await self.send_outgoing(room_id, reply, event_id, quote, polls=not group)
        await self.assistant.delivered(incoming, replies)

        async def send_later(later: list[Outgoing]) -> None:  # a chart, when it is drawn
            for reply in later:
                await self.send_outgoing(room_id, reply, event_id, None, polls=False)

        follow_ups.send_after(send_later)

    async def send_outgoing(
        self, room_id: str, out: Outgoing, reply_to: str | None, quote: str | None, *,
        polls: bool,
    ) -> None:
        content = text_content(out, reply_to)
        if content is not None:
            if quote:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": quote}}
            await self.sender.send(room_id, content)
        if polls:
            await self._poll(room_id, out, reply_to)
        for attachment, msgtype in ((out.file, "m.file"), (out.image, "m.image")):
            if attachment is None:
                continue
            if attachment.caption.strip():
                await self.sender.send(room_id, notice(attachment.caption))
            if await self.sender.send_attachment(room_id, attachment, msgtype, reply_to) is None:
                await self.sender.send(room_id, notice(texts()["failure"]))

    async def _poll(self, room_id: str, out: Outgoing, reply_to: str | None) -> None:
        content = poll_start(out, texts()["poll_prompt"])
        if content is None:
            return
        if reply_to:
            content[REPLY_KEY] = reply_to
        poll_id = await self.sender.send(room_id, content, POLL_START)
        if poll_id is None:
            return  # the numbered question was sent: typing still works
        record = {"room": digest(room_id), "payloads": payloads(out)}
        await self.kv.set_value(POLL_KEY.format(digest(poll_id)), json.dumps(record))
        await self.kv.set_value(OPEN_POLL_KEY.format(digest(room_id)), poll_id)

    async def vote_payload(self, room_id: str, poll_id: str, answer: int) -> str | None:
        """The payload a vote stands for, if it is a vote on a poll of this bot in this room."""
        raw = await self.kv.get_value(POLL_KEY.format(digest(poll_id)))
        if not raw:
            return None
        record = json.loads(raw)
        if record.get("room") != digest(room_id):
            return None
        options: list[str] = record.get("payloads") or []
        return options[answer - 1] if 1 <= answer <= len(options) else None

    async def end_open_poll(self, room_id: str) -> None:
        key = OPEN_POLL_KEY.format(digest(room_id))
        poll_id = await self.kv.get_value(key)
        if not poll_id:
            return
        if await self.sender.send(room_id, poll_end(poll_id, texts()["poll_ended"]), POLL_END):
            await self.kv.set_value(key, "")

    async def undecryptable(self, room_id: str, session_id: str) -> None:
        """One polite notice per lost Megolm session: what happened, what to do."""
        self.undecryptable_count += 1
        log.warning("Matrix: a message in %s could not be decrypted", digest(room_id))
        key = UTD_KEY.format(digest(f"{room_id}|{session_id}"))
        if await self.kv.get_value(key):
            return
        if await self.sender.send(room_id, notice(texts()["undecryptable"])):
            await self.kv.set_value(key, "sent")

    def incoming(self, sender: str, room_id: str, event_id: str, **what: Any) -> Incoming:
        return Incoming(
            channel=CHANNEL, user_key=self.assistant.user_key(CHANNEL, sender),
            chat_id=room_id, message_id=event_id, bot_address=self.me or None, **what,
        )
