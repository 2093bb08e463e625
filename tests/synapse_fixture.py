"""Pytest plugin: a throw-away Synapse homeserver on loopback, for the Matrix tests.

Why a real Synapse and not a fake: the bugs that hurt Matrix bots (replayed history
after a restart, a new device at every start, unbounded 429 retries) live in the
conversation between the client library and a real server.

The homeserver is found in this order:

1. ``SYNAPSE_PYTHON``: a Python interpreter that can ``import synapse``;
2. ``.ci/venv-synapse/bin/python``, installed by ``.ci/install_synapse.sh``.

Without one, tests using the ``synapse`` fixture are skipped with the reason; under CI
(``CI=true``) they fail instead, because CI must really run them.

Load it with ``pytest_plugins = ["tests.synapse_fixture"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CI_PYTHON = ROOT / ".ci" / "venv-synapse" / "bin" / "python"
SERVER_NAME = "localhost"
START_TIMEOUT = 90.0


@dataclass(frozen=True, slots=True)
class MatrixAccount:
    """A registered account: ``localpart`` is what ``COOPBOT_MATRIX_USER`` may hold."""

    localpart: str
    password: str

    @property
    def user_id(self) -> str:
        return f"@{self.localpart}:{SERVER_NAME}"


@dataclass(frozen=True, slots=True)
class SynapseServer:
    """What a test needs to talk to the running homeserver."""

    url: str
    bot: MatrixAccount
    alice: MatrixAccount
    bob: MatrixAccount
    start_seconds: float
    """Wall time from process start to ``/_matrix/client/versions`` answering."""
    log_path: Path


def find_synapse_python() -> str | None:
    """The interpreter that runs Synapse, or ``None`` when none is installed."""
    candidates = [os.environ.get("SYNAPSE_PYTHON"), str(CI_PYTHON)]
    for candidate in candidates:
        if not candidate:
            continue
        path = shutil.which(candidate) or candidate
        if not Path(path).exists():
            continue
        probe = subprocess.run(
            [path, "-c", "import synapse"],  # cheap probe; a broken install fails at start
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _generous(per_second: float = 1000, burst: int = 1000) -> dict[str, float]:
    return {"per_second": per_second, "burst_count": burst}


def write_config(directory: Path, port: int, shared_secret: str) -> Path:
    """A minimal homeserver config: SQLite, loopback only, no federation, no limits."""
    log_config = directory / "log.yaml"
    log_config.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "formatters": {
                    "precise": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}
                },
                "handlers": {
                    "file": {
                        "class": "logging.FileHandler",
                        "formatter": "precise",
                        "filename": str(directory / "homeserver.log"),
                    }
                },
                "root": {"level": "WARNING", "handlers": ["file"]},
                "disable_existing_loggers": False,
            }
        ),
        encoding="utf-8",
    )
    config = {
        "server_name": SERVER_NAME,
        "pid_file": str(directory / "homeserver.pid"),
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "log_config": str(log_config),
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "report_stats": False,
        "enable_registration": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_metrics": False,
        "rc_message": _generous(),
        "rc_registration": _generous(),
        "rc_registration_token_validity": _generous(),
        "rc_login": {
            "address": _generous(),
            "account": _generous(),
            "failed_attempts": _generous(),
        },
        "rc_admin_redaction": _generous(),
        "rc_joins": {"local": _generous(), "remote": _generous()},
        "rc_joins_per_room": _generous(),
        "rc_3pid_validation": _generous(),
        "rc_invites": {
            "per_room": _generous(),
            "per_user": _generous(),
            "per_issuer": _generous(),
        },
        "rc_third_party_invite": _generous(),
        "rc_media_create": _generous(),
        "rc_room_creation": _generous(),
        "rc_presence": {"per_user": _generous()},
        "rc_delayed_event_mgmt": _generous(),
        "rc_key_requests": _generous(),
    }
    write_signing_key(directory / "signing.key")
    path = directory / "homeserver.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def write_signing_key(path: Path) -> None:
    """An ed25519 signing key in Synapse's file format: ``ed25519 <version> <seed>``.

    Same content as ``--generate-keys`` writes (a random 32-byte seed, unpadded
    base64), without starting a second Synapse process just for that.
    """
    seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    path.write_text(f"ed25519 a_{secrets.token_hex(2)} {seed}\n", encoding="utf-8")


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Synapse exited with code {process.returncode}; see {log_path}:\n"
                + _tail(log_path)
            )
        try:
            with urllib.request.urlopen(f"{url}/_matrix/client/versions", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Synapse did not answer within {START_TIMEOUT:.0f} s:\n" + _tail(log_path))


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _register(python: str, config: Path, url: str, accounts: list[MatrixAccount]) -> None:
    """``register_new_matrix_user`` (shared secret read from the config), run in parallel."""
    processes = [
        subprocess.Popen(
            [
                python,
                "-m",
                "synapse._scripts.register_new_matrix_user",
                "-c",
                str(config),
                "-u",
                account.localpart,
                f"--password={account.password}",
                "--no-admin",
                url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for account in accounts
    ]
    for account, process in zip(accounts, processes, strict=True):
        output, _ = process.communicate(timeout=60)
        if process.returncode != 0:
            raise RuntimeError(
                f"registering {account.localpart} failed: {output.decode(errors='replace')}"
            )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop exactly the process we started, by its id."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    """A running Synapse with three accounts: the bot, alice and bob."""
    python = find_synapse_python()
    if python is None:
        reason = (
            "Synapse is not installed: run .ci/install_synapse.sh "
            "or set SYNAPSE_PYTHON to a Python that can import synapse"
        )
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(reason + " (CI must run the Matrix tests)", pytrace=False)
        pytest.skip(reason)

    directory = Path(tempfile.mkdtemp(prefix="coopbot-synapse-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_config(directory, port, secrets.token_hex(16))
    log_path = directory / "homeserver.log"
    stderr = (directory / "stderr.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [python, "-m", "synapse.app.homeserver", "-c", str(config)],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        _wait_until_up(url, process, log_path)
        start_seconds = time.monotonic() - started
        accounts = [
            MatrixAccount(name, secrets.token_hex(12)) for name in ("coopbot", "alice", "bob")
        ]
        _register(python, config, url, accounts)
        server = SynapseServer(url, *accounts, start_seconds=start_seconds, log_path=log_path)
        print(
            f"\nSynapse ready at {url} in {start_seconds:.1f} s "
            f"(accounts registered after {time.monotonic() - started:.1f} s)",
            file=sys.stderr,
        )
        yield server
    finally:
        _stop(process)
        stderr.close()
        if os.environ.get("COOPBOT_KEEP_SYNAPSE_DIR"):
            print(f"Synapse files kept in {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


class MatrixUser:
    """A person in the tests: a plain matrix-nio client that records what it sees.

    A background sync loop appends every timeline event (raw dicts) per room, so a
    test can wait for "the bot's answer to my message" without racing the bot.
    """

    def __init__(self, server: SynapseServer, account: MatrixAccount) -> None:
        from nio import AsyncClient

        self.account = account
        self.client = AsyncClient(server.url, account.user_id)
        self.events: dict[str, list[dict[str, Any]]] = {}
        self._changed: asyncio.Condition | None = None
        self._loop_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MatrixUser:
        from nio import LoginResponse

        response = await self.client.login(self.account.password, device_name="test")
        assert isinstance(response, LoginResponse), response
        self._changed = asyncio.Condition()
        first = await self.client.sync(timeout=0)
        self._record(first)
        self._loop_task = asyncio.create_task(self._sync_forever())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        await self.client.close()

    async def _sync_forever(self) -> None:
        from nio import SyncResponse

        while True:
            response = await self.client.sync(timeout=5000)
            if isinstance(response, SyncResponse):
                self._record(response)
                assert self._changed is not None
                async with self._changed:
                    self._changed.notify_all()
            else:
                await asyncio.sleep(0.5)

    def _record(self, response: Any) -> None:
        for room_id, info in response.rooms.join.items():
            self.events.setdefault(room_id, []).extend(
                event.source for event in info.timeline.events
            )

    async def create_room(
        self, invite: list[str], *, direct: bool = True, encrypted: bool = False
    ) -> str:
        from nio import RoomCreateResponse, RoomPreset

        initial_state = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        response = await self.client.room_create(
            is_direct=direct,
            invite=invite,
            preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
            initial_state=initial_state,
        )
        assert isinstance(response, RoomCreateResponse), response
        return str(response.room_id)

    async def join(self, room_id: str) -> None:
        from nio import JoinResponse

        response = await self.client.join(room_id)
        assert isinstance(response, JoinResponse), response

    async def send(self, room_id: str, text: str, **extra: Any) -> str:
        from nio import RoomSendResponse

        content = {"msgtype": "m.text", "body": text, **extra}
        response = await self.client.room_send(room_id, "m.room.message", content)
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    def messages_from(self, room_id: str, sender: str) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events.get(room_id, [])
            if event.get("sender") == sender and event.get("type") == "m.room.message"
        ]

    async def wait_for(
        self,
        condition: Callable[[], Any],
        timeout: float = 60.0,
        what: str = "the expected events",
    ) -> Any:
        """Wait until ``condition()`` is truthy (re-checked after each sync)."""
        assert self._changed is not None

        async def waiting() -> Any:
            assert self._changed is not None
            async with self._changed:
                while not (result := condition()):
                    await self._changed.wait()
                return result

        try:
            return await asyncio.wait_for(waiting(), timeout)
        except TimeoutError:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s") from None

    async def download(self, mxc: str) -> bytes:
        from nio import DownloadResponse

        response = await self.client.download(mxc=mxc)
        assert isinstance(response, DownloadResponse), response
        return bytes(response.body)
