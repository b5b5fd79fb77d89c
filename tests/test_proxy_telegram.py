"""The real Telegram platform through real proxies on loopback: the bot's calls and long polling
both go through an HTTP proxy or a SOCKS5 proxy (with and without a password), a command is
answered, and a dead proxy is a retryable start-up error that names it without its password."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from app_helpers import example_categories, running_app, settings_for
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules
from feed_server import FeedServer, rss
from proxies import HttpProxy, Socks5Proxy
from telegram_helpers import OWNER, TOKEN, VOCABULARY, debug_log, limiter_for, running, telegram_config
from waiting import wait_for

from bot.commands.service import CommandService
from bot.logs import setup_logging
from bot.net.proxy import parse_proxy
from bot.platforms import telegram
from bot.platforms.registry import default_renderers
from bot.platforms.spec import PlatformContext
from bot.platforms.telegram.adapter import TelegramStartError
from bot.store.db import Store

PASSWORD = "pr0xy-Pa55word"
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


@pytest.mark.parametrize(
    ("kind", "scheme", "auth"),
    [("http", "http", False), ("http", "http", True), ("socks", "socks5", False), ("socks", "socks5h", True)],
)
async def test_commands_are_answered_through_the_proxy(
    tmp_path: Path, kind: str, scheme: str, auth: bool
) -> None:
    credentials = ("bot", PASSWORD) if auth else ()
    server = HttpProxy(*credentials) if kind == "http" else Socks5Proxy(*credentials)
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake, server as proxy:
        user = fake.user(OWNER, language="en")
        async with running(tmp_path, fake, proxy=parse_proxy(proxy.url(scheme))) as bot:
            reply = await bot.say(OWNER, "/subscribe robots", sender=user)
            assert reply.text == "Subscribed: Robotics."
        # getMe, menus, sendMessage (the bot's client) and getUpdates (the polling client)
        assert proxy.connections >= 2 and proxy.refused == 0
        if kind == "http":
            methods = {target.rsplit("/", 1)[-1] for target in proxy.targets}
            assert {"getMe", "getUpdates", "sendMessage"} <= methods
        else:
            assert all(target.endswith(f":{fake.port}") for target in proxy.targets)


async def test_the_config_and_the_environment_choose_the_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the app builds it: the top-level setting, `telegram.proxy` over it, HTTPS_PROXY, NO_PROXY."""
    store = await Store.open(tmp_path / "db.sqlite")
    service = CommandService(store, VOCABULARY, renderers=default_renderers())
    async with FakeTelegram(TOKEN) as fake:

        def built(top: str | None, **config: str) -> str | None:
            settings = telegram_config(fake, **config)
            context = PlatformContext(settings, service, "en", limiter_for(settings), proxy=top)
            platform = telegram.SPEC.build(context)
            chosen = platform.proxy  # type: ignore[attr-defined]
            return None if chosen is None else chosen.address

        monkeypatch.setenv("http_proxy", "socks5://127.0.0.1:1080")
        assert built(None) == "socks5://127.0.0.1:1080"  # the fake is http://: http_proxy applies
        assert built("http://127.0.0.1:3128") == "http://127.0.0.1:3128"
        assert built("http://127.0.0.1:3128", proxy="direct") is None
        assert built(None, proxy="socks5h://127.0.0.1:9050") == "socks5h://127.0.0.1:9050"
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        assert built("http://127.0.0.1:3128") is None
    await store.close()


async def test_a_dead_proxy_is_a_retryable_start_error_without_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with HttpProxy() as gone:
        pass
    async with FakeTelegram(TOKEN) as fake:
        for url in (
            f"http://bot:{PASSWORD}@127.0.0.1:{gone.port}",
            f"socks5://bot:{PASSWORD}@127.0.0.1:{gone.port}",
        ):
            with caplog.at_level(logging.DEBUG), pytest.raises(TelegramStartError) as raised:
                async with running(tmp_path, fake, proxy=parse_proxy(url)):
                    pass
            assert raised.value.retryable
            message = str(raised.value)
            assert message.startswith("telegram: cannot start:")
            assert f"through the proxy {url.split(':')[0]}://bot:***@127.0.0.1:{gone.port}" in message
            assert PASSWORD not in message
        assert fake.requests == []
    assert PASSWORD not in caplog.text


async def test_the_whole_bot_sends_telegram_and_feeds_through_the_top_level_proxy(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`proxy: ${PROXY_URL}` as an operator writes it: the app routes both Telegram clients and the
    feed poller through it, and no log line shows the password (httpcore logs SOCKS credentials
    as bytes at DEBUG: a quote and a backslash make their repr differ from the text)."""
    password = "pr0xy'Pa55\\word"
    server.serve(rss())
    async with (
        FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake,
        Socks5Proxy("bot", password) as proxy,
    ):
        monkeypatch.setenv("PROXY_URL", f"socks5h://bot:{quote(password, safe='')}@127.0.0.1:{proxy.port}")
        user = fake.user(OWNER, language="en")
        feed = {"name": "site", "type": "feed", "url": server.url, "poll_interval": 60}
        settings = settings_for(
            tmp_path,
            categories=example_categories(),
            telegram={"token": TOKEN, "base_url": fake.base_url},
            proxy="${PROXY_URL}",
            sources=[feed],
        )
        with debug_log() as stream:
            setup_logging("DEBUG", settings.secrets(), stream)
            async with running_app(settings):
                fake.push_message(OWNER, "/subscribe", sender=user)
                await fake.wait_for(lambda: bool(fake.sent_to(OWNER)))
                await wait_for(lambda: bool(server.requests), message="the feed was polled")
    assert fake.sent_to(OWNER)[0].text.startswith("Subscribed")
    assert {f"127.0.0.1:{fake.port}", server.url.split("/")[2]} <= set(proxy.targets)
    assert proxy.refused == 0 and "socks5_connection" in stream.getvalue()
    logged = stream.getvalue()
    assert "Pa55" not in logged and "[REDACTED]" in logged
