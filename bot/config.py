"""Settings read from the environment (and an optional ``.env``-style file).

Only plain values live here; nothing is connected or imported at this point, so
that ``coopbot ask`` starts fast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///coopbot.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    telegram_token: str | None = None
    telegram_api_url: str | None = None
    telegram_username: str | None = None
    """The bot's username, for invitation links made outside the chat (the command
    line); the running bot learns its own from Telegram (``getMe``)."""
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = 8443
    telegram_webhook_secret: str | None = None
    matrix_homeserver: str | None = None
    matrix_user: str | None = None
    matrix_password: str | None = None
    matrix_access_token: str | None = None
    secret: str | None = None
    log_level: str = "INFO"
    retention_days: int = 365

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        values = dict(_read_env_file(Path(".env")))
        values.update(env if env is not None else os.environ)

        def get(name: str) -> str | None:
            value = values.get(f"COOPBOT_{name}")
            return value if value not in (None, "") else None

        settings = cls(
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            telegram_token=get("TELEGRAM_TOKEN"),
            telegram_api_url=get("TELEGRAM_API_URL"),
            telegram_username=get("TELEGRAM_USERNAME"),
            telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_listen=get("TELEGRAM_WEBHOOK_LISTEN") or "0.0.0.0",
            telegram_webhook_port=int(get("TELEGRAM_WEBHOOK_PORT") or 8443),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            matrix_homeserver=get("MATRIX_HOMESERVER"),
            matrix_user=get("MATRIX_USER"),
            matrix_password=get("MATRIX_PASSWORD"),
            matrix_access_token=get("MATRIX_ACCESS_TOKEN"),
            secret=get("SECRET"),
            log_level=(get("LOG_LEVEL") or "INFO").upper(),
            retention_days=int(get("RETENTION_DAYS") or 365),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        if clean:
            from dataclasses import replace

            settings = replace(settings, **clean)
        return settings

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def matrix_enabled(self) -> bool:
        return bool(
            self.matrix_homeserver
            and self.matrix_user
            and (self.matrix_password or self.matrix_access_token)
        )


def _read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; comments and blank lines ignored. Environment wins."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values
