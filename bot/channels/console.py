"""The console channel: one input line is one message, replies on stdout.

It is the reference channel: no token, no server. Choices are numbered lines
(typing the number answers), navigation buttons are shown as the commands they
stand for, and files are written next to the user (``coopbot-fichiers/``).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

from bot.core import Assistant
from bot.markup import to_label, to_plain
from bot.messages import Attachment, FollowUps, Incoming, Outgoing
from bot.texts import texts

FILES_DIR = Path("coopbot-fichiers")


def render(out: Outgoing, files_dir: Path = FILES_DIR) -> str:
    lines: list[str] = []
    if out.text:
        lines.append(to_plain(out.text))
    for number, choice in enumerate(() if out.listed else out.choices, start=1):
        lines.append(f"  {number}. {to_label(choice.label)}")
    commands = [c.payload for c in out.actions if c.payload.startswith("/")]
    if commands:
        lines.append("  (" + " · ".join(commands) + ")")
    for attachment in (out.file, out.image):
        if attachment is not None:
            if attachment.alt:  # a picture described for whoever cannot open it
                lines.append(to_plain(attachment.alt))
            lines.append(f"{to_plain(texts()('cli.file_saved'))} {save(attachment, files_dir)}")
    return "\n".join(lines)


def save(attachment: Attachment, files_dir: Path) -> Path:
    files_dir.mkdir(parents=True, exist_ok=True)
    name = Path(attachment.filename).name or "fichier"
    path = files_dir / name
    stem, suffix, n = path.stem, path.suffix, 1
    while path.exists():
        n += 1
        path = files_dir / f"{stem}-{n}{suffix}"
    path.write_bytes(attachment.content)
    return path


async def chat(
    assistant: Assistant,
    user: str,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    files_dir: Path = FILES_DIR,
) -> None:
    """Converse until end of input; everything is stored as it goes."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout
    user_key = assistant.user_key("console", user)
    interactive = stdin.isatty() if hasattr(stdin, "isatty") else False

    following: list[asyncio.Task[None]] = []

    def emit(replies: list[Outgoing]) -> None:
        for out in replies:
            stdout.write(render(out, files_dir) + "\n\n")
        stdout.flush()

    async def emit_later(replies: list[Outgoing]) -> None:
        emit(replies)

    async def answer(incoming: Incoming) -> None:
        follow_ups = FollowUps()
        emit(await assistant.handle(incoming, follow_ups))
        task = follow_ups.send_after(emit_later)  # a chart, printed when it is drawn
        if task is not None:
            following.append(task)

    await answer(Incoming("console", user_key, "console", payload="/reprendre"))
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        raw = await asyncio.to_thread(stdin.readline)
        if not raw:
            break
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        await answer(Incoming("console", user_key, "console", text=text))
    await asyncio.gather(*following)  # end of input: what is still coming is not lost
