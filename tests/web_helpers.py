"""Shared set-up for the HTTP server tests: an app with `http:` on, and plain GET requests to it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from app_helpers import example_categories

from bot.app import App
from bot.config import Settings, parse_settings

HTTP_TOKEN = "dashboard-token-0123456789abcdef"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    cookies: dict[str, str]


async def get(url: str, *, allow_redirects: bool = False, **kwargs: Any) -> Answer:
    """One GET with a fresh session (no cookie carried over unless given), redirects not followed."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, allow_redirects=allow_redirects, **kwargs) as response,
    ):
        return Answer(
            response.status,
            dict(response.headers),
            await response.text(),
            {name: morsel.value for name, morsel in response.cookies.items()},
        )


def web_settings(tmp_path: Path, *, token: str = HTTP_TOKEN, **extra: Any) -> Settings:
    """The console bot with the HTTP server on a free loopback port."""
    (tmp_path / "posts").mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "database": "bot.db",
        "language": "en",
        "sources": [{"name": "posts", "type": "directory", "path": "posts", "poll_interval": 0.05}],
        "categories": example_categories(),
        "http": {"listen": "127.0.0.1", "port": 0, "token": token},
    }
    data.update(extra)
    return parse_settings(data, "test", tmp_path)


@asynccontextmanager
async def web_app(settings: Settings) -> AsyncIterator[tuple[App, str]]:
    """The app running on the console (empty stdin) with its server; yields it and the base URL.
    A failed start is unwound like `serve` does."""
    app = App(settings, stdin=io.StringIO(""), stdout=io.StringIO())
    try:
        await app.start()
        assert app.web is not None
        yield app, app.web.url
    finally:
        await app.stop()
