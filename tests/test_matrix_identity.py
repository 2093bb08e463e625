"""The bot's cross-signing identity survives a new device, and the operator can read
its recovery key: ``coopbot run`` twice, the device lost in between."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.synapse_fixture import ROOT, SynapseServer
from tests.test_matrix_e2e import BotProcess, probe_token
from tests.test_matrix_e2ee import wait_log

pytestmark = [pytest.mark.synapse, pytest.mark.slow]


async def own_keys(synapse: SynapseServer, token: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
        f"{synapse.url}/_matrix/client/v3/keys/query",
        json={"device_keys": {synapse.bot.user_id: []}},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        return dict(await response.json())


def signed_devices(keys: dict[str, Any], user: str) -> set[str]:
    ssk = next(iter(keys["self_signing_keys"][user]["keys"]))
    return {d for d, k in keys["device_keys"][user].items() if ssk in k["signatures"][user]}


async def test_a_new_device_is_signed_by_the_same_identity(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    bot = BotProcess(synapse, tmp_path)
    user = synapse.bot.user_id
    try:
        bot.start()
        await wait_log(bot, "Matrix: connected")
        bot.stop()
        token = await probe_token(synapse)
        first = await own_keys(synapse, token)
        with sqlite3.connect(tmp_path / "coopbot.db") as db:
            (raw,) = db.execute(
                "SELECT value FROM key_values WHERE key='matrix:session'").fetchone()
            first_device = json.loads(raw)["device_id"]
            db.execute("DELETE FROM key_values WHERE key='matrix:session'")  # device lost
        assert first_device in signed_devices(first, user)

        shown = subprocess.run(
            [sys.executable, "-m", "bot.cli", "matrix", "recovery-key"], cwd=tmp_path,
            env={**bot.env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
            timeout=60, check=False)
        assert shown.returncode == 0, shown.stderr
        assert re.fullmatch(r"(\w{4} ){11}\w{4}\n", shown.stdout), "a recovery key"

        bot.start()
        await wait_log(bot, "now signed by the bot's identity")
        bot.stop()
        second = await own_keys(synapse, token)
        with sqlite3.connect(tmp_path / "coopbot.db") as db:
            (raw,) = db.execute(
                "SELECT value FROM key_values WHERE key='matrix:session'").fetchone()
        second_device = json.loads(raw)["device_id"]
        assert second_device != first_device
        assert second["master_keys"][user]["keys"] == first["master_keys"][user]["keys"]
        assert second_device in signed_devices(second, user)
    finally:
        bot.kill()
