"""Text shown to people outside the logs is scrubbed like the logs: /status's last error (platform
errors quote request URLs, and Telegram's embed the token) and the CLI's last-resort error line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot import cli
from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.config import load_settings
from bot.core.parse import load_digest
from bot.delivery.expander import fan_out
from bot.logs import REDACTED
from bot.platforms.registry import default_renderers
from bot.sources.base import Incoming
from bot.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = load_settings(ROOT / "config.example.yaml").vocabulary()
TOKEN_SHAPED = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"  # never configured here: caught by its shape
WEBHOOK_SECRET = "webhook-secret-not-token-shaped"  # caught only because it is configured
CHAT = ChatRef("telegram", "42", None, kind="private", title="Ann")


async def test_status_shows_the_last_error_scrubbed(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.db")
    try:
        service = CommandService(store, VOCABULARY, secrets=[WEBHOOK_SECRET], renderers=default_renderers())
        caller = Caller("42", language="en")
        await service.handle(Command("subscribe", (), CHAT, caller))
        digest = load_digest(ROOT / "digests" / "2025.11.20.20.md")  # every category: no need to classify
        await store.record_incoming(Incoming("posts", "sample.md", "h1", digest))
        await fan_out(store, VOCABULARY, renderers=default_renderers())
        now = datetime.now(UTC)
        [row, *_] = await store.claim_due(now, 10, ["telegram"])
        assert await store.mark_sending(row.id, now)
        error = (
            f"gave up after 8 attempts: POST https://api.telegram.org/bot{TOKEN_SHAPED}/sendMessage "
            f"(secret_token={WEBHOOK_SECRET})"
        )
        await store.fail_delivery(row.id, error, now)

        shown = (await service.handle(Command("status", (), CHAT, caller))).text
        assert "Last error: gave up after 8 attempts: POST https://api.telegram.org/bot" in shown
        assert TOKEN_SHAPED not in shown and WEBHOOK_SECRET not in shown
        assert shown.count(REDACTED) == 2
    finally:
        await store.close()


def test_cli_catch_all_line_is_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug deep in `run` (fault injected where the bot starts) surfaces as one scrubbed line."""
    secret_token = "discord-token-value-from-the-environment"
    monkeypatch.setenv("DIGESTBOT_TEST_DISCORD_TOKEN", secret_token)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"discord": {"token": "${DIGESTBOT_TEST_DISCORD_TOKEN}"}}))

    def broken_run_app(settings: object) -> int:
        raise RuntimeError(f"bug near {secret_token} and https://api.telegram.org/bot{TOKEN_SHAPED}/getMe")

    monkeypatch.setattr("bot.app.run_app", broken_run_app)
    assert cli.main(["run", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("digestbot: error: unexpected RuntimeError: bug near ")
    assert secret_token not in err and TOKEN_SHAPED not in err and err.count(REDACTED) == 2


def test_every_cli_error_line_is_scrubbed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not only the catch-all: e.g. a digest path that happens to look like a token."""
    missing = tmp_path / f"bot{TOKEN_SHAPED}.md"
    assert cli.main(["preview", str(missing), "--platform", "text"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digestbot: error:") and TOKEN_SHAPED not in err and REDACTED in err
