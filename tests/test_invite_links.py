"""Invitation by link and QR code, and ``/start <payload>`` (SQLite and PostgreSQL).

A facilitator on Telegram gets a t.me deep link and a QR picture that a real decoder
(zxing-cpp) reads back as that link; on Matrix a matrix.to link and the code to type;
on the console, only the code. Opening the link sends ``/start atelier_CODE``: it
joins as ``/rejoindre CODE`` does, privacy notice first for a newcomer, and a wrong
payload is refused politely and counted as a wrong code (brake included).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bot.core import Assistant
from bot.invite import (
    PAYLOAD_MAX,
    code_from_payload,
    invite_link,
    start_payload,
)
from bot.messages import Incoming, Outgoing
from bot.texts import texts
from storage.workshop_codes import WRONG_CODE_LIMIT, display_code, new_code
from tests.conftest import run_sql
from tests.test_workshop_helpers import CODE

BOT = "coopbot_test_bot"
MXID = "@coopbot:example.org"
TITLE = "Fresque de l'engagement local, Crest"
T = texts()
CHROMIUM = Path("/usr/bin/chromium")


def decode_qr(png: bytes) -> list[str]:
    """What a phone's camera would read: zxing-cpp, a real QR decoder."""
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


class Person:
    """Someone writing to the bot on a channel that knows its own address."""

    def __init__(self, assistant: Assistant, name: str, channel: str = "telegram",
                 address: str | None = BOT) -> None:
        self.assistant, self.channel, self.address = assistant, channel, address
        self.key = assistant.user_key(channel, name)
        self.count = 0

    async def say(self, text: str) -> list[Outgoing]:
        self.count += 1
        return await self.assistant.handle(Incoming(
            self.channel, self.key, "chat", text=text, message_id=f"{self.key}:{self.count}",
            bot_address=self.address))


async def _create(person: Person) -> tuple[str, list[Outgoing]]:
    await person.say(f"/atelier {TITLE}")
    replies = await person.say("1")
    code = CODE.search(replies[0].text)
    assert code, replies
    return code.group(1), replies


def test_the_payload_is_the_code_only_within_telegram_limits():
    for _ in range(200):
        code = display_code(new_code())
        payload = start_payload(code)
        assert len(payload) <= PAYLOAD_MAX and re.fullmatch(r"[A-Za-z0-9_-]+", payload)
        assert payload == "atelier_" + code.replace("-", "")
        assert code_from_payload(payload) == code.replace("-", "")
    for wrong in ("", "atelier_", "atelier_ABC", "K7QM3XPW9", "atelier_K7QM3XPW0",
                  "atelier_K7QM3XPW9<script>", "x" * 65):
        assert code_from_payload(wrong) is None


def test_links_per_channel():
    code = "K7Q-M3X-PW9"
    tg = invite_link("telegram", BOT, code)
    assert tg is not None and tg.url == f"https://t.me/{BOT}?start=atelier_K7QM3XPW9"
    assert not tg.needs_code
    mx = invite_link("matrix", MXID, code)
    assert mx is not None and mx.url == f"https://matrix.to/#/{MXID}" and mx.needs_code
    assert invite_link("console", None, code) is None
    assert invite_link("telegram", None, code) is None
    assert invite_link("matrix", "coopbot", code) is None  # a bare login is no address


async def test_telegram_creation_gives_the_link_and_a_qr_that_reads_back(assistant):
    anim = Person(assistant, "anim")
    code, replies = await _create(anim)
    link = f"https://t.me/{BOT}?start=atelier_{code.replace('-', '')}"
    done, invitation, picture = replies
    assert f"/synthese {code}" in done.text
    assert link in invitation.text and f"/rejoindre {code}" in invitation.text
    assert "Démarrer" in invitation.text
    assert picture.image is not None and picture.image.mime_type == "image/png"
    assert decode_qr(picture.image.content) == [link]
    # The text alternative says what the picture is and where it leads.
    assert TITLE in picture.image.caption and link in picture.image.caption
    assert "anim" not in link


async def test_matrix_creation_gives_the_room_link_and_the_code_to_type(assistant):
    anim = Person(assistant, "@anim:example.org", channel="matrix", address=MXID)
    code, replies = await _create(anim)
    _, invitation, picture = replies
    assert f"https://matrix.to/#/{MXID}" in invitation.text
    assert f"/rejoindre {code}" in invitation.text and "t.me" not in invitation.text
    assert picture.image is not None
    assert decode_qr(picture.image.content) == [f"https://matrix.to/#/{MXID}"]
    assert f"/rejoindre {code}" in picture.image.caption


async def test_console_creation_says_how_to_join_by_code(assistant):
    anim = Person(assistant, "anim", channel="console", address=None)
    code, replies = await _create(anim)
    assert len(replies) == 2 and not any(r.image for r in replies)
    assert T("workshop.create.how_code", code=code) in replies[-1].text
    assert "https://" not in replies[-1].text


async def test_start_payload_joins_a_newcomer_notice_first(assistant):
    anim = Person(assistant, "anim")
    code, _ = await _create(anim)
    newcomer = Person(assistant, "new")
    replies = await newcomer.say(f"/start atelier_{code.replace('-', '')}")
    notice = T("privacy.notice", retention="12 mois").split("\n")[0]
    assert replies[0].text.startswith(notice[:40]), replies[0].text
    assert T("workshop.join.welcome", title=TITLE) == replies[1].text
    assert any("(1/" in r.text for r in replies), [r.text for r in replies]
    # The same person opening the link again resumes, without the notice again.
    again = await newcomer.say(f"/start atelier_{code.replace('-', '')}")
    assert not any(r.text.startswith(notice[:40]) for r in again)
    assert T("flow.resumed", title=_flow_title(assistant)) in [r.text for r in again]
    # Joined exactly as /rejoindre: the facilitator's synthesis counts one participant.
    synthesis = await anim.say(f"/synthese {code} json")
    assert synthesis[0].file is not None and b'"participants": 1' in synthesis[0].file.content


def _flow_title(assistant: Assistant) -> str:
    return assistant.content.flows["preatelier"].title


@pytest.mark.parametrize("payload", ["atelier_ZZZZZZZZZ", "bonjour", "atelier_K7Q"])
async def test_a_wrong_payload_is_refused_politely_and_counted(assistant, payload):
    await _create(Person(assistant, "anim"))
    eve = Person(assistant, "eve")
    refusal = T("workshop.join.unknown_link")
    for _ in range(WRONG_CODE_LIMIT):
        assert [r.text for r in await eve.say(f"/start {payload}")] == [refusal]
    braked = await eve.say(f"/start {payload}")
    assert len(braked) == 1 and "Trop de codes erronés" in braked[0].text
    assert "/rejoindre" in refusal  # it says what to do instead


async def test_the_link_of_a_closed_workshop_says_what_its_code_says(assistant):
    anim = Person(assistant, "anim")
    code, _ = await _create(anim)
    await run_sql(assistant, lambda c: c.exec_driver_sql(
        "UPDATE workshops SET status = 'closed'"))
    by_link = await Person(assistant, "late").say(f"/start atelier_{code.replace('-', '')}")
    by_code = await Person(assistant, "later").say(f"/rejoindre {code}")
    assert [r.text for r in by_link] == [r.text for r in by_code] == [
        T("workshop.join.closed", title=TITLE)]


async def test_plain_start_is_still_the_welcome(assistant):
    replies = await Person(assistant, "someone").say("/start")
    assert replies[0].text.startswith(T("welcome", menu="").split("\n")[0][:30])


def _cli_create(db: str, *extra: str, username: str | None = BOT,
                cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COOPBOT_TELEGRAM_USERNAME", "COOPBOT_MATRIX_USER")}
    if username:
        env["COOPBOT_TELEGRAM_USERNAME"] = username
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "workshop", "create", "--title", TITLE,
         "--facilitator", "anim", "--db", db, *extra],
        capture_output=True, timeout=120, check=False, env=env, cwd=cwd)


def test_cli_json_has_the_link_and_the_qr_as_base64_or_a_file(sqlite_url, tmp_path):
    result = _cli_create(sqlite_url, "--json")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert set(data) == {"code", "link", "qr_png"}
    link = f"https://t.me/{BOT}?start=atelier_{data['code'].replace('-', '')}"
    assert data["link"] == link
    assert decode_qr(base64.b64decode(data["qr_png"])) == [link]

    out = tmp_path / "invitation.png"
    result = _cli_create(sqlite_url, "--json", "-o", str(out))
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["qr_png"] == str(out)
    assert decode_qr(out.read_bytes()) == [data["link"]]
    assert str(out) in result.stderr.decode()

    # The synthesis page made on the command line carries the same link.
    env = {**os.environ, "COOPBOT_TELEGRAM_USERNAME": BOT}
    page = subprocess.run(
        [sys.executable, "-m", "bot.cli", "workshop", "summary", data["code"],
         "--facilitator", "anim", "--format", "html", "--db", sqlite_url],
        capture_output=True, timeout=120, check=False, env=env)
    assert page.returncode == 0, page.stderr.decode()
    assert f'<a href="{data["link"]}">' in page.stdout.decode()


def test_cli_without_a_bot_name_says_how_to_get_a_link(sqlite_url):
    result = _cli_create(sqlite_url, "--json", username=None)
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["link"] is None and data["qr_png"] is None and CODE.fullmatch(data["code"])
    text = _cli_create(sqlite_url, username=None)
    assert "/rejoindre " in text.stdout.decode()
    assert "COOPBOT_TELEGRAM_USERNAME" in text.stderr.decode()
    with_link = _cli_create(sqlite_url)
    assert f"https://t.me/{BOT}?start=atelier_" in with_link.stdout.decode()
    assert "-o invitation.png" in with_link.stderr.decode()


async def _synthesis_page(person: Person, code: str) -> str:
    [reply] = await person.say(f"/synthese {code} html")
    assert reply.file is not None
    return reply.file.content.decode()


async def test_the_synthesis_page_shows_the_link_and_its_qr_for_a_slide(assistant):
    anim = Person(assistant, "anim")
    code, _ = await _create(anim)
    link = f"https://t.me/{BOT}?start=atelier_{code.replace('-', '')}"
    page = await _synthesis_page(anim, code)
    assert f'<a href="{link}">{link}</a>' in page
    img = re.search(r'<img src="(data:image/svg\+xml[^"]+)" alt="([^"]+)"', page)
    assert img, page[:3000]
    assert "QR code" in img.group(2) and link in img.group(2)
    assert f"/rejoindre {code}" in page
    # On the console there is no link: the page says how to join by code, no QR.
    console = Person(assistant, "anim", channel="console", address=None)
    console.key = anim.key  # the same facilitator, reading from the console
    plain = await _synthesis_page(console, code)
    assert "data:image/svg" not in plain and f"/rejoindre {code}" in plain
    # A closed workshop is no longer to be joined: no link on the slide.
    await run_sql(assistant, lambda c: c.exec_driver_sql(
        "UPDATE workshops SET status = 'closed'"))
    assert "data:image/svg" not in await _synthesis_page(anim, code)


@pytest.mark.chromium
async def test_the_qr_on_the_page_reads_back_in_a_browser_screenshot(assistant, tmp_path):
    """Chromium draws the page as a phone shows it; zxing-cpp reads the QR off the pixels."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium must be installed in CI (apt-get install -y chromium)")
        pytest.skip("Chromium absent: apt-get install -y chromium")
    anim = Person(assistant, "anim")
    code, _ = await _create(anim)
    page = tmp_path / "synthese.html"
    page.write_text(await _synthesis_page(anim, code), encoding="utf-8")
    png = tmp_path / "page.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={png}", "--window-size=412,1200", page.as_uri()],
        capture_output=True, timeout=120, check=False)
    assert png.exists()
    link = f"https://t.me/{BOT}?start=atelier_{code.replace('-', '')}"
    assert decode_qr(png.read_bytes()) == [link]
