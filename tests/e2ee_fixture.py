"""Pytest plugin: a Matrix person who encrypts as Element does (tests/e2ee_client).

The person is ``tests/e2ee_client/client.mjs``: matrix-js-sdk 36.2.0 with its Rust
crypto, its own cross-signing and ``OnlySignedDevicesIsolationMode``, driven over
stdin/stdout with one JSON object per line. Node.js and ``npm ci`` in
``tests/e2ee_client`` are needed; without them the tests using ``e2ee_person`` are
skipped with the reason, and fail under ``CI=true`` (CI must run them).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.synapse_fixture import MatrixAccount, SynapseServer

CLIENT_DIR = Path(__file__).resolve().parent / "e2ee_client"


def node_problem() -> str | None:
    """Why the Node client cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (CLIENT_DIR / "node_modules" / "matrix-js-sdk").is_dir():
        return "run `npm ci` in tests/e2ee_client (matrix-js-sdk is not installed)"
    return None


class E2EEPerson:
    """One Node client process: ``await person.call("send", room_id=…, text=…)``."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.create_task(self._read())
        self.user_id = ""
        self.device_id = ""

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            future = self._waiting.pop(reply.get("id"), None)
            if future is None or future.done():
                continue
            if reply.get("ok"):
                future.set_result(reply.get("result"))
            else:
                future.set_exception(AssertionError(f"e2ee client: {reply.get('error')}"))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(AssertionError(f"e2ee client exited\n{self.log_tail()}"))

    async def call(self, cmd: str, timeout: float = 60, **args: Any) -> Any:
        assert self.process.stdin is not None
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        line = json.dumps({"id": request_id, "cmd": cmd, "args": args}) + "\n"
        self.process.stdin.write(line.encode())
        await self.process.stdin.drain()
        return await asyncio.wait_for(future, timeout)

    async def wait_for(
        self, room_id: str, condition: Callable[[list[dict[str, Any]]], Any],
        timeout: float = 60, what: str = "the expected events",
    ) -> Any:
        """Poll the events this person sees in ``room_id`` until ``condition`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            events = await self.call("events", room_id=room_id)
            if result := condition(events):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
            await asyncio.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in text if not line.startswith("    at"))[-4000:]

    async def close(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(AssertionError, TimeoutError):
                await self.call("stop", timeout=5)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()  # the process we started, by its handle
                await self.process.wait()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@pytest.fixture
async def e2ee_person(
    synapse: SynapseServer, tmp_path: Path
) -> AsyncIterator[Callable[[MatrixAccount], Awaitable[E2EEPerson]]]:
    """A factory: ``alice = await e2ee_person(synapse.alice)`` (logged in, cross-signed)."""
    problem = node_problem()
    if problem is not None:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(problem + " (CI must run the encrypted Matrix tests)", pytrace=False)
        pytest.skip(problem)
    people: list[E2EEPerson] = []

    async def start(account: MatrixAccount) -> E2EEPerson:
        log_path = tmp_path / f"e2ee-{account.localpart}-{len(people)}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                "node", str(CLIENT_DIR / "client.mjs"), cwd=CLIENT_DIR,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                limit=16 * 1024 * 1024,
            )
        person = E2EEPerson(process, log_path)
        people.append(person)
        started = await person.call("start", timeout=90, homeserver=synapse.url,
                                    user=account.localpart, password=account.password)
        person.user_id, person.device_id = started["user_id"], started["device_id"]
        return person

    try:
        yield start
    finally:
        for person in people:
            await person.close()
