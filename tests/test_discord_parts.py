"""Units of the Discord reader features: the category tags of rendered bodies (embeds and markdown),
the mention line and its limits, the webhook token kept out of logs, the new config keys, and the
per-subscription settings going with /forget."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from app_helpers import SAMPLE
from cli_helpers import run_cli
from discord_limits import check_create_message
from discord_world import VOCABULARY, digest

from bot.config import ConfigError, load_settings
from bot.core.model import Digest, Item, Span
from bot.logs import RedactingFormatter
from bot.platforms.discord.features import WebhookSetting
from bot.platforms.discord.mentions import MAX_MENTIONS, with_mentions
from bot.platforms.discord.parts import CATEGORIES_KEY, MENTION_ROOM, api_body, part_categories
from bot.platforms.discord.render import render_discord
from bot.render.options import RenderOptions
from bot.store.db import Store

OPTIONS = RenderOptions(VOCABULARY, language="en")


def long_digest() -> Digest:
    """Twelve long items in turns of three categories: many bodies, items cut across them."""
    cycle = ("robotics", "jobs", "tech")
    items = tuple(
        Item(n, f"Item {n}", None, f"https://example.org/{n}", ((Span("word " * 500),),), (cycle[n % 3],))
        for n in range(1, 13)
    )
    return Digest("long", "Long digest", datetime(2031, 5, 1, tzinfo=UTC), items)


@pytest.mark.parametrize("embeds", [True, False])
def test_tagged_bodies_name_the_categories_of_the_items_they_show(embeds: bool) -> None:
    bodies = render_discord(long_digest(), OPTIONS, embeds=embeds, tagged=True)
    plain = render_discord(long_digest(), OPTIONS, embeds=embeds)
    assert len(bodies) > 3
    cycle = ("robotics", "jobs", "tech")
    current: int | None = None
    for body in bodies:
        shown, current = _items_shown(body, current)
        assert part_categories(body) == list(dict.fromkeys(cycle[n % 3] for n in shown))
        assert check_create_message(api_body(body)) == []
        assert len(body.get("content", "")) <= 2000 - MENTION_ROOM
    assert all(CATEGORIES_KEY not in body for body in plain)  # untagged renders (goldens) unchanged


def _items_shown(body: dict[str, Any], current: int | None) -> tuple[list[int], int | None]:
    """The item numbers a body shows, read from its text (an embed or a markdown part without a
    title of its own continues the item before it)."""
    shown: list[int] = []
    if body.get("embeds"):
        for embed in body["embeds"]:
            match = re.match(r"(\d+)\\\.", embed.get("title", ""))
            current = int(match.group(1)) if match else current
            if current is not None and current not in shown:
                shown.append(current)
        return shown, current
    content = body.get("content", "")
    starts = [(m.start(), int(m.group(1))) for m in re.finditer(r"(?m)^(\d+)\\\. \*\*\[Item", content)]
    if current is not None and (not starts or content[: starts[0][0]].strip()):
        shown.append(current)
    for _, number in starts:
        shown.append(number)
        current = number
    return shown, current


def test_a_markdown_part_that_continues_an_item_carries_its_category() -> None:
    items = (Item(1, "Huge", None, "https://example.org/1", ((Span("word " * 1200),),), ("jobs",)),)
    big = Digest("big", "Big", datetime(2031, 5, 1, tzinfo=UTC), items)
    bodies = render_discord(big, OPTIONS, embeds=False, tagged=True)
    assert len(bodies) >= 3 and all(part_categories(b) == ["jobs"] for b in bodies)


def test_api_body_strips_only_the_tag() -> None:
    [body, *_] = render_discord(digest(), OPTIONS, tagged=True)
    assert part_categories(body) == ["robotics", "jobs", "tech"]
    assert api_body(body) == render_discord(digest(), OPTIONS)[0]
    assert api_body({"content": "x"}) == {"content": "x"}


def test_preview_json_shows_exact_api_bodies() -> None:
    result = run_cli("preview", str(SAMPLE), "--platform", "discord", "--json")
    assert result.returncode == 0, result.stderr
    assert all(CATEGORIES_KEY not in body for body in json.loads(result.stdout))


def test_mentions_go_on_top_and_allow_exactly_those_roles() -> None:
    body = {"content": "Digest", "allowed_mentions": {"parse": []}}
    mentioned = with_mentions(body, ["11", "22"])
    assert mentioned["content"] == "<@&11> <@&22>\nDigest"
    assert mentioned["allowed_mentions"] == {"parse": [], "roles": ["11", "22"]}
    assert body == {"content": "Digest", "allowed_mentions": {"parse": []}}  # shared bodies stay as they are
    embeds_only = with_mentions({"embeds": [{"title": "t"}], "allowed_mentions": {"parse": []}}, ["11"])
    assert embeds_only["content"] == "<@&11>"


def test_mentions_never_push_content_over_the_limit() -> None:
    roles = [str(10**18 + n) for n in range(20)]
    full = with_mentions({"content": "x" * (2000 - MENTION_ROOM)}, roles)
    assert len(full["content"]) <= 2000 and len(full["allowed_mentions"]["roles"]) == MAX_MENTIONS
    assert with_mentions({"content": "x" * 1995}, roles) == {"content": "x" * 1995}


def test_webhook_tokens_never_reach_a_log_line() -> None:
    """Through the formatter every log handler uses (no change to the process's logging set-up)."""
    formatter = RedactingFormatter("%(name)s: %(message)s", [])
    token = "Zk3Hq_webhook-token.abcdefghijklmnopqrstuvwxyz0123456789"
    setting = WebhookSetting("1234567890", token)
    lines = [
        ("POST https://discord.com/api/v10/webhooks/1234567890/%s?wait=true has returned 200", (token,)),
        ("created webhook: %s", ({"id": "1234567890", "token": token, "name": "Digest"},)),
        ("stored: %r, as json %s", (setting, json.dumps(setting.stored()))),
    ]
    shown = [
        formatter.format(logging.makeLogRecord({"name": "discord.http", "msg": msg, "args": args}))
        for msg, args in lines
    ]
    assert all(token not in line for line in shown)
    assert "\n".join(shown).count("[REDACTED]") == 3


def test_webhook_and_forum_tag_settings_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "discord:\n  webhook: {name: My Discord Bot, avatar_url: ftp://x/y.png}\n  forum_tag: ''\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    problems = info.value.problems
    assert any(p.startswith("discord.webhook.name: ") and "discord or clyde" in p for p in problems)
    assert any(p.startswith("discord.webhook.avatar_url: ") for p in problems)
    assert any(p.startswith("discord.forum_tag: ") for p in problems)


async def test_settings_are_forgotten_with_their_subscription(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        sub, _ = await store.subscribe(
            "discord",
            "42",
            None,
            kind="guild_channel",
            title="t",
            created_by="1",
            language="en",
            timezone="UTC",
        )
        await store.put_subscription_setting(sub.id, "discord.webhook", {"id": "1", "token": "t"})
        assert await store.subscription_settings("discord", "42") == (
            sub.id,
            {"discord.webhook": {"id": "1", "token": "t"}},
        )
        await store.put_subscription_setting(sub.id, "discord.webhook", None)
        assert await store.subscription_settings("discord", "42") == (sub.id, {})
        await store.put_subscription_setting(sub.id, "discord.mentions", {"jobs": "7"})
        await store.forget(sub.id)
        assert await store.subscription_settings("discord", "42") is None
        async with store.transaction(write=False) as tx:
            row = await tx.conn.fetchone("SELECT count(*) FROM subscription_settings")
            assert row is not None and row[0] == 0
    finally:
        await store.close()
