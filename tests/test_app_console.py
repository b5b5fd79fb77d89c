"""The whole bot in one loop on the console platform: folder -> store -> plan -> send -> stdout."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from app_helpers import ROOT, SAMPLE, console_settings
from waiting import ledger_settled, wait_for

from bot.app import App
from bot.platforms.console import ConsolePlatform

BROKEN = ROOT / "tests" / "fixtures" / "digests" / "bad" / "invalid_yaml.md"
SAMPLE_ID = SAMPLE.stem
NEXT_ID = "2025.11.21.08"  # the sample again, later: a digest that must come after anything re-sent


async def test_digest_in_folder_reaches_console_subscription(tmp_path: Path) -> None:
    out = io.StringIO()
    app = App(console_settings(tmp_path), stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        console = app.platforms[0]
        assert isinstance(console, ConsolePlatform)
        reply = await console.handle_line("/subscribe robotics")
        assert reply is not None and not reply.error
        shutil.copy(BROKEN, tmp_path / "posts" / "broken.md")
        shutil.copy(SAMPLE, tmp_path / "posts" / SAMPLE.name)
        await wait_for(lambda: "📬" in out.getvalue(), message="the digest on the console")
        await wait_for(lambda: ledger_settled(app.store.path), message="every delivery in a final state")
        delivered = out.getvalue().split("📬", 1)[1]
        assert "人形机器人" in delivered
        assert "#机器人" in delivered or "机器人" in delivered
        assert "5. " not in delivered and "2. " not in delivered  # jobs/policy items are filtered out
        status = await console.handle_line("/status")
        assert status is not None and "尚无" not in status.text
    finally:
        await app.stop()


async def test_restart_sends_nothing_twice(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    out = io.StringIO()
    app = App(settings, stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        await app.platforms[0].handle_line("/subscribe")  # type: ignore[attr-defined]
        shutil.copy(SAMPLE, tmp_path / "posts" / SAMPLE.name)
        await wait_for(lambda: "📬" in out.getvalue(), message="the digest on the console")
        await wait_for(lambda: ledger_settled(app.store.path), message="the first run's deliveries done")
    finally:
        await app.stop()
    first = out.getvalue().count("📬")
    out2 = io.StringIO()
    again = App(settings, stdin=io.StringIO(""), stdout=out2)
    await again.start()
    try:
        # A chat's rows go out in order, so anything the restart re-sent would be out before this one.
        (tmp_path / "posts" / f"{NEXT_ID}.md").write_text(next_digest(), encoding="utf-8")
        await wait_for(lambda: NEXT_ID in out2.getvalue(), message="the next digest on the console")
        await wait_for(lambda: ledger_settled(again.store.path), message="every delivery in a final state")
    finally:
        await again.stop()
    assert first >= 1 and SAMPLE_ID in out.getvalue()
    assert SAMPLE_ID not in out2.getvalue()
    assert out2.getvalue().count("📬") == first  # the next digest's parts, and nothing else


def next_digest() -> str:
    """The sample as the next digest: the same items under a later id and date."""
    text = SAMPLE.read_text(encoding="utf-8")
    return text.replace(SAMPLE_ID, NEXT_ID).replace("2025-11-20T20:00:09", "2025-11-21T08:00:00")
