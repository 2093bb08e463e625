"""The Matrix channel's parts without a homeserver: polls, sealed secrets, the database
URL the crypto store uses, and Alembic leaving the crypto tables to mautrix."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.channels.matrix.base import MatrixLoginError
from bot.channels.matrix.crypto import library_url
from bot.channels.matrix.polls import POLL_RESPONSE, POLL_START, TEXT, poll_end, poll_start, vote
from bot.channels.matrix_render import encrypted_media_content
from bot.messages import Attachment, Choice, Outgoing
from storage.sealed import SealedBox, derive, pickle_key

QUESTION = Outgoing(text="**Question** (1/3)", choices=(Choice("Oui", "o:f:1:0:1"),
                                                         Choice("Non", "o:f:1:0:2")))


def test_a_question_becomes_a_poll_with_numbered_answers_and_a_text_fallback() -> None:
    content = poll_start(QUESTION, "Touchez votre réponse :")
    assert content is not None
    start = content[POLL_START]
    assert start["max_selections"] == 1
    # Typography is applied on the way out: a no-break space before « : ».
    assert start["question"] == {TEXT: "Touchez votre réponse\u00a0:"}
    assert start["answers"] == [{"id": "1", TEXT: "1. Oui"}, {"id": "2", TEXT: "2. Non"}]
    assert content["body"] == content[TEXT] == "Touchez votre réponse\u00a0:\n1. Oui\n2. Non"


def test_no_poll_without_choices_or_with_more_than_msc3381_allows() -> None:
    assert poll_start(Outgoing(text="Bonjour"), "x") is None
    many = tuple(Choice(str(n), f"p{n}") for n in range(21))
    assert poll_start(Outgoing(text="?", choices=many), "x") is None


def test_votes_are_read_strictly() -> None:
    def response(answers: object, rel: str = "m.reference") -> dict[str, object]:
        return {"m.relates_to": {"rel_type": rel, "event_id": "$poll"},
                POLL_RESPONSE: {"answers": answers}}

    assert vote(response(["2"])) == ("$poll", 2)
    assert vote(response([])) is None  # a withdrawn vote
    assert vote(response(["1", "2"])) is None
    assert vote(response(["o:f:1:0:1"])) is None  # ids are numbers: payloads stay ours
    assert vote(response(["2"], rel="m.annotation")) is None
    assert vote({POLL_RESPONSE: {"answers": ["1"]}}) is None
    assert vote({"body": "2"}) is None


def test_poll_end_refers_to_its_poll() -> None:
    end = poll_end("$poll", "Ce sondage est terminé.")
    assert end["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$poll"}
    assert end["body"] == "Ce sondage est terminé."


def test_encrypted_attachment_content_has_a_file_and_no_clear_url() -> None:
    file = {"url": "mxc://x/y", "key": {"k": "..."}, "iv": "iv", "hashes": {"sha256": "h"},
            "v": "v2"}
    content = encrypted_media_content(
        Attachment("export.json", b"{}", "application/json"), "m.file", file, "$event")
    assert "url" not in content
    assert content["file"] == file and content["msgtype"] == "m.file"
    assert content["info"] == {"mimetype": "application/json", "size": 2}


def test_sealed_secrets_open_only_with_the_same_secret_and_purpose() -> None:
    box = SealedBox("secret-1", "recovery key")
    sealed = box.seal("EsU9 YDxC")
    assert "EsU9" not in sealed
    assert box.open(sealed) == "EsU9 YDxC"
    assert box.seal("EsU9 YDxC") != sealed  # a fresh nonce each time
    with pytest.raises(ValueError):
        SealedBox("secret-2", "recovery key").open(sealed)
    with pytest.raises(ValueError):
        SealedBox("secret-1", "another purpose").open(sealed)
    assert derive("s", "a") != derive("s", "b")
    assert pickle_key("s") == pickle_key("s") != pickle_key("t")


def test_the_crypto_store_uses_the_project_database(tmp_path: Path) -> None:
    assert library_url(f"sqlite:///{tmp_path}/c.db") == f"sqlite:{tmp_path}/c.db"
    assert library_url("postgresql+asyncpg://u:p@h:5432/db") == "postgresql://u:p@h:5432/db"
    with pytest.raises(MatrixLoginError):
        library_url("sqlite://")


def test_alembic_leaves_the_matrix_crypto_tables_to_mautrix(tmp_path: Path) -> None:
    """Where the Matrix channel ran, autogenerate finds nothing to change (without the
    filter it would propose to drop mautrix's crypto_* and mx_* tables)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from bot.channels.matrix.crypto import open_stores
    from storage.database import open_database
    from storage.library_tables import include_object
    from storage.migrate import migrate
    from storage.models import Base

    url = f"sqlite:///{tmp_path / 'coopbot.db'}"

    async def prepare() -> None:
        database = open_database(url)
        await migrate(database)
        await database.close()
        stores = await open_stores(url)
        await stores.close()

    asyncio.run(prepare())
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = {row[0] for row in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"crypto_account", "crypto_megolm_inbound_session", "mx_room_state"} <= tables
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()
