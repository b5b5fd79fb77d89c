"""/id, /announce and /forget on the console, through the real app, outbox and SQLite file."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing
from pathlib import Path

from app_helpers import console_settings
from waiting import ledger_settled, wait_for

from bot.app import App
from bot.commands.model import Reply
from bot.platforms.console import ConsolePlatform


def rows(path: str, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as raw:
        return raw.execute(sql).fetchall()


async def say(app: App, line: str) -> Reply:
    console = app.platforms[0]
    assert isinstance(console, ConsolePlatform)
    reply = await console.handle_line(line)
    assert reply is not None
    return reply


async def test_id_shows_chat_and_user(tmp_path: Path) -> None:
    app = App(console_settings(tmp_path), stdin=io.StringIO(""), stdout=io.StringIO())
    await app.start()
    try:
        reply = await say(app, "/id")
        assert "local" in reply.text and "console" in reply.text and not reply.error
    finally:
        await app.stop()


async def test_announce_previews_then_sends_once_even_across_a_restart(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    out = io.StringIO()
    app = App(settings, stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        await say(app, "/subscribe")
        preview = await say(app, "/announce Maintenance <b>tonight</b> & *tomorrow*")
        assert preview.confirm is not None and not preview.error
        assert preview.parts == ({"text": "Maintenance <b>tonight</b> & *tomorrow*"},)
        assert f"/announce confirm {preview.confirm.token}" in out.getvalue()  # the console's "button"
        assert "📬" not in out.getvalue()  # nothing is sent before the confirm
        sent = await say(app, f"/announce confirm {preview.confirm.token}")
        assert "1" in sent.text and not sent.error
        await wait_for(lambda: "📬 Maintenance" in out.getvalue(), message="the announcement delivered")
        await wait_for(lambda: ledger_settled(app.store.path), message="the ledger settled")
    finally:
        await app.stop()
    again = App(settings, stdin=io.StringIO(""), stdout=io.StringIO())
    await again.start()
    try:
        twice = await say(again, f"/announce confirm {preview.confirm.token}")
        assert "already" in twice.text or "已经" in twice.text
        unknown = await say(again, "/announce confirm 999")
        assert unknown.error
        usage = await say(again, "/announce")
        assert usage.error
        typo = await say(again, "/announce confirm x1")
        assert typo.error and "/announce confirm" in typo.text
        too_long = await say(again, "/announce " + "x" * 1001)
        assert too_long.error and "1000" in too_long.text
    finally:
        await again.stop()
    assert out.getvalue().count("📬 Maintenance") == 1
    assert rows(settings.database.as_posix(), "SELECT unit, state FROM deliveries") == [
        (f"a{preview.confirm.token}", "sent")
    ]


async def test_forget_asks_then_deletes_everything_about_the_chat(tmp_path: Path) -> None:
    settings = console_settings(tmp_path)
    out = io.StringIO()
    app = App(settings, stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        await say(app, "/subscribe robotics")
        preview = await say(app, "/announce hello")
        assert preview.confirm is not None
        await say(app, f"/announce confirm {preview.confirm.token}")
        await wait_for(lambda: ledger_settled(app.store.path), message="the announcement sent")
        ask = await say(app, "/forget")
        assert ask.confirm is not None and not ask.error
        assert rows(app.store.path, "SELECT count(*) FROM subscriptions") == [(1,)]  # not yet
        assert (await say(app, "/forget now")).error
        assert (await say(app, "/forget confirm 999")).error
        done = await say(app, f"/forget confirm {ask.confirm.token}")
        assert not done.error and "1" in done.text
        assert rows(app.store.path, "SELECT count(*) FROM subscriptions") == [(0,)]
        assert rows(app.store.path, "SELECT count(*) FROM deliveries") == [(0,)]
        assert rows(app.store.path, "SELECT count(*) FROM payloads") == [(0,)]
        nothing = await say(app, "/forget")
        assert nothing.confirm is None
        status = await say(app, "/status")
        assert "/subscribe" in status.text
    finally:
        await app.stop()
