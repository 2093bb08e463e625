"""A bot worker for the multi-process and crash tests: JSON lines in, JSON acks out.

Usage: python tests/worker_proc.py --db URL

Reads one message per line on stdin, ``{"user": …, "text": …, "id": …}`` (``id``
optional: the platform message id, used for deduplication), hands each one to
``Assistant.handle`` concurrently with the others (as a webhook server would),
and prints ``{"id": …, "user": …, "replies": [text, …]}`` once ``handle`` has
returned — that is, once the answer is committed. An acknowledged message is one
whose line was printed. The first line printed is ``{"ready": true}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.core import Assistant
from bot.messages import Incoming


def _emit(data: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


async def serve(url: str) -> None:
    assistant = await Assistant.create(Settings(database_url=url, secret="worker-secret"))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    _emit({"ready": True, "pid": os.getpid()})
    tasks: set[asyncio.Task[None]] = set()

    async def one(message: dict[str, str]) -> None:
        key = assistant.user_key("console", message["user"])
        incoming = Incoming("console", key, "console", text=message.get("text"),
                            payload=message.get("payload"), message_id=message.get("id"))
        replies = await assistant.handle(incoming)
        _emit({"id": message.get("id"), "user": message["user"],
               "replies": [r.text for r in replies]})
        await assistant.delivered(incoming, replies)  # as a channel does once it has sent

    try:
        while line := await reader.readline():
            if not line.strip():
                continue
            task = asyncio.create_task(one(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        await assistant.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    asyncio.run(serve(parser.parse_args().db))


class WorkerClient:
    """Test-side handle on one worker process: send messages, await their acks, kill it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.proc: asyncio.subprocess.Process | None = None
        self.pending: dict[str, asyncio.Future[dict[str, object]]] = {}
        self.acks: list[dict[str, object]] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 120.0) -> None:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--db", self.url, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 22)
        assert self.proc.stdout is not None
        first = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not first or not json.loads(first).get("ready"):
            raise RuntimeError(f"worker did not start: {first!r}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            ack = json.loads(line)
            self.acks.append(ack)
            future = self.pending.pop(str(ack["id"]), None)
            if future is not None and not future.done():
                future.set_result(ack)
        for future in self.pending.values():  # the process is gone: never acknowledged
            if not future.done():
                future.set_exception(ConnectionError("worker exited before acknowledging"))
        self.pending.clear()

    def send(self, user: str, text: str, message_id: str) -> asyncio.Future[dict[str, object]]:
        assert self.proc is not None and self.proc.stdin is not None
        future: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        self.pending[message_id] = future
        line = json.dumps({"user": user, "text": text, "id": message_id}) + "\n"
        self.proc.stdin.write(line.encode())
        return future

    async def ask(self, user: str, text: str, message_id: str,
                  timeout: float = 60.0) -> dict[str, object]:
        future = self.send(user, text, message_id)
        assert self.proc is not None and self.proc.stdin is not None
        await self.proc.stdin.drain()
        return await asyncio.wait_for(future, timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no cleanup, no flush, no goodbye

    async def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None and self.proc.stdin is not None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()
        await self.proc.wait()
        if self._reader is not None:
            await self._reader
