"""What the Telegram channel writes in its log about a refusal."""

from __future__ import annotations

import warnings

from telegram.error import BadRequest, RetryAfter

from bot.channels.telegram.deliver import describe as _describe


def test_flood_control_is_logged_with_its_delay_and_no_deprecation_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PTB's retry_after deprecation would raise here
        text = _describe(RetryAfter(3))  # PTB builds one at each refusal
    assert text.startswith("RetryAfter")
    assert "Retry in 0:00:03" in text  # the delay, as PTB 23 will write it


def test_a_refusal_is_logged_with_telegrams_description() -> None:
    assert _describe(BadRequest("Chat not found")) == "BadRequest: Chat not found"
