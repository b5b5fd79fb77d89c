"""The whole bot in one loop on the console platform: folder -> store -> plan -> send -> stdout."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import yaml

from bot.app import App
from bot.config import Settings, parse_settings
from bot.platforms.console import ConsolePlatform

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "digests" / "2025.11.20.20.md"
BROKEN = ROOT / "tests" / "fixtures" / "digests" / "bad" / "invalid_yaml.md"


def settings_for(tmp_path: Path) -> Settings:
    """A real config: the example vocabulary, a fast-polled folder and a database in tmp_path."""
    (tmp_path / "posts").mkdir()
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))
    data = {
        "database": "bot.db",
        "timezone": "Asia/Shanghai",
        "sources": [{"name": "posts", "type": "directory", "path": "posts", "poll_interval": 0.05}],
        "categories": example["categories"],
    }
    return parse_settings(data, "test", tmp_path)


async def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_digest_in_folder_reaches_console_subscription(tmp_path: Path) -> None:
    out = io.StringIO()
    app = App(settings_for(tmp_path), stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        console = app.platforms[0]
        assert isinstance(console, ConsolePlatform)
        reply = await console.handle_line("/subscribe robotics")
        assert reply is not None and not reply.error
        shutil.copy(BROKEN, tmp_path / "posts" / "broken.md")
        shutil.copy(SAMPLE, tmp_path / "posts" / SAMPLE.name)
        await wait_for(lambda: "📬" in out.getvalue())
        await asyncio.sleep(0.3)
        delivered = out.getvalue().split("📬", 1)[1]
        assert "人形机器人" in delivered
        assert "#机器人" in delivered or "机器人" in delivered
        assert "5. " not in delivered and "2. " not in delivered  # jobs/policy items are filtered out
        status = await console.handle_line("/status")
        assert status is not None and "尚无" not in status.text
    finally:
        await app.stop()


async def test_restart_sends_nothing_twice(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    out = io.StringIO()
    app = App(settings, stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        await app.platforms[0].handle_line("/subscribe")  # type: ignore[attr-defined]
        shutil.copy(SAMPLE, tmp_path / "posts" / SAMPLE.name)
        await wait_for(lambda: "📬" in out.getvalue())
    finally:
        await app.stop()
    first = out.getvalue().count("📬")
    out2 = io.StringIO()
    again = App(settings, stdin=io.StringIO(""), stdout=out2)
    await again.start()
    try:
        await asyncio.sleep(0.5)
    finally:
        await again.stop()
    assert first >= 1 and "📬" not in out2.getvalue()
