"""The real Discord client through real proxies on loopback: REST, the gateway websocket and
interaction replies all go through an HTTP proxy or a SOCKS5 proxy (with and without a password);
a slash command is answered and a digest sent; a dead proxy is a retryable start-up error that
names it without its password."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from discord_world import TOKEN, VOCABULARY, build_world, digest, discord_config
from fake_discord import FakeDiscord
from proxies import HttpProxy, Socks5Proxy

from bot.commands.service import CommandService
from bot.delivery.outcome import Sent, Target
from bot.net.proxy import parse_proxy
from bot.platforms import discord
from bot.platforms.discord.client import DiscordPlatform, DiscordStartError
from bot.platforms.discord.render import render_discord
from bot.platforms.registry import default_renderers
from bot.platforms.spec import PlatformContext
from bot.render.options import RenderOptions
from bot.store.db import Store

PASSWORD = "pr0xy-Pa55word"


@pytest.mark.parametrize(
    ("kind", "scheme", "auth"),
    [("http", "http", False), ("http", "http", True), ("socks", "socks5", False), ("socks", "socks5h", True)],
)
async def test_commands_and_sends_go_through_the_proxy(
    tmp_path: Path, kind: str, scheme: str, auth: bool
) -> None:
    credentials = ("bot", PASSWORD) if auth else ()
    async with HttpProxy(*credentials) if kind == "http" else Socks5Proxy(*credentials) as proxy:
        async for world in build_world(tmp_path, proxy=parse_proxy(proxy.url(scheme))):
            answer = await world.command(world.admin, world.news, "subscribe", {"categories": "robotics"})
            assert answer.text() == "Subscribed: Robotics."
            body = render_discord(digest(), RenderOptions(VOCABULARY, language="en"))[0]
            target = Target("discord", world.news.id, None, "guild_channel")
            assert isinstance(await world.platform.sender.send(target, body), Sent)
            assert [p.body for p in world.fake.posted] == [body]
            assert len(world.fake.identify_payloads) == 1  # the gateway was reached, through the proxy
            port = world.fake.port
    assert proxy.refused == 0 and proxy.connections >= 2
    if kind == "http":
        assert any(t.startswith(f"GET ws://127.0.0.1:{port}/gateway") for t in proxy.targets)
        assert any("/users/@me" in t for t in proxy.targets)
        assert any(t.startswith("POST") and "/interactions/" in t for t in proxy.targets)
        assert any(t.startswith("POST") and f"/channels/{world.news.id}/messages" in t for t in proxy.targets)
    else:
        assert all(target.endswith(f":{port}") for target in proxy.targets)


async def test_the_config_and_the_environment_choose_the_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the app builds it: `discord.proxy` over the top-level setting, ALL_PROXY, NO_PROXY."""
    store = await Store.open(tmp_path / "db.sqlite")
    service = CommandService(store, VOCABULARY, renderers=default_renderers())
    fake = FakeDiscord(TOKEN)

    def built(top: str | None, **config: str) -> str | None:
        context = PlatformContext(discord_config(fake, **config), service, "en", None, proxy=top)  # type: ignore[arg-type]
        platform = discord.SPEC.build(context)
        assert isinstance(platform, DiscordPlatform)
        return None if platform.proxy is None else platform.proxy.address

    await fake.start()
    try:
        monkeypatch.setenv("ALL_PROXY", "socks5h://127.0.0.1:1080")
        assert built(None) == "socks5h://127.0.0.1:1080"
        assert built("http://127.0.0.1:3128", proxy="socks5://127.0.0.1:9050") == "socks5://127.0.0.1:9050"
        assert built("http://127.0.0.1:3128", proxy="direct") is None
        monkeypatch.setenv("no_proxy", ".example.org,127.0.0.1:" + str(fake.port))
        assert built("http://127.0.0.1:3128") is None
    finally:
        await fake.stop()
        await store.close()


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_a_dead_proxy_is_a_retryable_start_error_without_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, scheme: str
) -> None:
    async with HttpProxy() as gone:
        pass
    url = f"{scheme}://bot:{PASSWORD}@127.0.0.1:{gone.port}"
    with caplog.at_level(logging.DEBUG), pytest.raises(DiscordStartError) as raised:
        async for _world in build_world(tmp_path, proxy=parse_proxy(url)):
            pass
    assert raised.value.retryable
    message = str(raised.value)
    assert message.startswith("discord: cannot start:")
    assert f"(through the proxy {scheme}://bot:***@127.0.0.1:{gone.port})" in message
    assert PASSWORD not in message and PASSWORD not in caplog.text
