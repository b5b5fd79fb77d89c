"""No log line may ever contain a secret, whoever logs it (our code, httpx, PTB, exceptions)."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import REDACTED, setup_logging

TOKEN = "7512345678:AAF-secretSECRETsecretSECRETsecret12"


def test_redacts_known_secret_args_and_exceptions() -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", [TOKEN, "discord-secret"], stream)
    log = logging.getLogger("httpx")
    log.info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logging.getLogger("x").warning("discord token %s", "discord-secret")
    try:
        raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("x").exception("boom")
    output = stream.getvalue()
    assert TOKEN not in output
    assert "discord-secret" not in output
    assert output.count(REDACTED) >= 3


def test_redacts_token_shaped_strings_it_was_not_told_about() -> None:
    stream = io.StringIO()
    setup_logging("INFO", [], stream)
    logging.getLogger("telegram.ext").info("url .../bot%s/getUpdates", TOKEN)
    assert TOKEN not in stream.getvalue()


def test_redacts_discord_interaction_and_webhook_tokens() -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", [], stream)
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"
    log = logging.getLogger("discord.http")
    log.debug("POST https://discord.com/api/v10/interactions/123456/%s/callback", token)
    log.debug("PATCH https://discord.com/api/v10/webhooks/987654/%s/messages/@original", token)
    assert token not in stream.getvalue()
    assert "/interactions/123456/[REDACTED]/callback" in stream.getvalue()


def test_json_lines_are_one_object_each_and_redacted() -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", [TOKEN], stream, json_lines=True)
    logging.getLogger("bot.http").info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/sendMessage\nsecond line")
    except RuntimeError:
        logging.getLogger("bot.x").exception("boom %d", 7)
    output = stream.getvalue()
    assert TOKEN not in output
    lines = output.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO" and first["logger"] == "bot.http"
    assert first["message"].endswith(f"/bot{REDACTED}/getMe")
    assert first["time"].endswith("+00:00")
    assert second["message"] == "boom 7" and second["level"] == "ERROR"
    assert "RuntimeError" in second["exception"] and REDACTED in second["exception"]
    assert "second line" in second["exception"]


def test_debug_after_info_lets_the_http_libraries_speak_again() -> None:
    stream = io.StringIO()
    setup_logging("INFO", [], stream)
    assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING
    setup_logging("DEBUG", [], stream)
    logging.getLogger("httpcore.connection").debug("socks5 handshake")
    assert "socks5 handshake" in stream.getvalue()
