"""Shared set-up for tests that run the whole bot (bot.app.App in-process, or `python -m bot run`).

One config shape for both, so the in-process tests and the subprocess tests exercise the same
settings: a watched folder, a database in tmp, fast delivery back-off, and whatever platform
sections the test adds. The Discord scene (a server, a channel, an admin allowed to subscribe it)
is built here too because the app test and the process test need exactly the same one.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fake_discord import FakeDiscord
from fake_discord_model import MANAGE_CHANNELS, Channel, Guild, InteractionRecord, User

from bot.app import App
from bot.config import Settings, parse_settings
from bot.core.classify import classify
from bot.core.model import Digest, Vocabulary
from bot.core.parse import load_digest
from bot.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "digests" / "2025.11.20.20.md"
EXAMPLE_CONFIG = ROOT / "bot" / "config.example.yaml"
FOLDER = "digests"


def example_categories() -> list[dict[str, Any]]:
    """The bundled vocabulary, as config data (what a real deployment starts from)."""
    return yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))["categories"]


def config_data(
    tmp_path: Path,
    *,
    categories: list[dict[str, Any]],
    poll_interval: float = 0.05,
    **extra: Any,
) -> dict[str, Any]:
    """Config file content: folder `tmp_path/digests` (created), database in tmp, fast back-off."""
    (tmp_path / FOLDER).mkdir(exist_ok=True)
    data: dict[str, Any] = {
        "database": str(tmp_path / "db.sqlite"),
        "language": "en",
        "sources": [
            {
                "name": "local",
                "type": "directory",
                "path": str(tmp_path / FOLDER),
                "poll_interval": poll_interval,
            }
        ],
        "categories": categories,
        "delivery": {"backoff_base": 0.05, "shutdown_grace": 1},
    }
    data.update(extra)
    return data


def settings_for(tmp_path: Path, **kwargs: Any) -> Settings:
    return parse_settings(config_data(tmp_path, **kwargs), "test", tmp_path)


def console_settings(tmp_path: Path) -> Settings:
    """The console bot as its README sets it up: the example vocabulary, Shanghai time, and a
    fast-polled folder `posts` and a database given relative to the config's own folder."""
    (tmp_path / "posts").mkdir()
    data = {
        "database": "bot.db",
        "timezone": "Asia/Shanghai",
        "sources": [{"name": "posts", "type": "directory", "path": "posts", "poll_interval": 0.05}],
        "categories": example_categories(),
    }
    return parse_settings(data, "test", tmp_path)


def drop_digest(tmp_path: Path, source: Path, name: str | None = None) -> Path:
    """Copy a digest into the watched folder the way a publisher would: complete, then renamed in."""
    target = tmp_path / FOLDER / (name or source.name)
    partial = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return target


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[App]:
    app = App(settings)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


def links_for(path: Path, vocabulary: Vocabulary, wanted: Iterable[str]) -> list[str]:
    """Links of the items of a digest file that belong to any of the `wanted` categories, in order."""
    chosen = set(wanted)
    digest = classify(load_digest(path), vocabulary)
    return [item.url for item in digest.items if item.url and chosen & set(item.categories)]


# -- Discord --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscordScene:
    """A server with a #news channel and an admin (Manage Channels) who may subscribe it."""

    fake: FakeDiscord
    guild: Guild
    channel: Channel
    admin: User

    async def subscribe(self, categories: str) -> InteractionRecord:
        """`/digest subscribe categories:<categories>` in #news, typed by the admin, answered."""
        payload = self.fake.slash(self.admin, self.channel, "digest", "subscribe", {"categories": categories})
        return await self.fake.answered(await self.fake.interact(payload))

    def posts(self) -> list[dict[str, Any]]:
        """Create Message bodies the fake accepted in #news."""
        return [p.body for p in self.fake.posted if p.channel_id == self.channel.id]

    def post_statuses(self) -> list[int]:
        """HTTP status of every Create Message attempt in #news (accepted or refused)."""
        path = f"/channels/{self.channel.id}/messages"
        return [
            status for method, url, status in self.fake.requests if method == "POST" and url.endswith(path)
        ]


def discord_scene(fake: FakeDiscord) -> DiscordScene:
    guild = fake.add_guild("AI readers")
    channel = fake.add_channel(guild, "news")
    moderators = fake.add_role(guild, "moderators", MANAGE_CHANNELS)
    admin = fake.add_member(guild, "alice", [moderators])
    return DiscordScene(fake, guild, channel, admin)


def embed_urls(bodies: Iterable[dict[str, Any]]) -> list[str]:
    return [e["url"] for body in bodies for e in body.get("embeds") or () if e.get("url")]


async def latest_digest(store: Store) -> Digest | None:
    """The digest /latest would show, decoded (the bot itself renders it through its cache)."""
    seq = await store.latest_seq()
    return None if seq is None else (await store.load_digests([seq])).get(seq)
