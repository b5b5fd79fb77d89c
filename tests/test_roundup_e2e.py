"""The weekly roundup end to end: the whole bot (bot.app.App) on the fake Bot API server and on the
console. Commands set the schedule; digests dropped in the folder wait for the roundup; when its
time comes (moved to now in the database, as a week passing would) one post per category goes out."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from app_helpers import FOLDER, SAMPLE, console_settings, running_app, settings_for
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules
from waiting import ledger_settled, wait_for

from bot.app import App
from bot.platforms.console import ConsolePlatform
from bot.store.times import to_db

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
TOKEN = "7512345678:AAF-weekWEEKweekWEEKweekWEEKweek1234"
CATEGORIES = [
    {"id": "robotics", "zh": "机器人", "en": "Robotics", "keywords": ["robot*", "机器人"]},
    {"id": "jobs", "zh": "就业市场", "en": "Jobs", "keywords": ["hiring", "招聘"]},
]


def post(stamp: str, robots_summary: str) -> str:
    """A digest whose first item links to the same story every time (its text changes)."""
    return f"""---
title: "{stamp} What happened in AI"
date: 2026-11-2{stamp[-1]}T08:00:00+08:00
---

1.  [Warehouse robots learn to fold boxes](https://example.com/robots/boxes)

    {robots_summary}

    Categories: robotics

2.  [AI hiring picks up {stamp}](https://example.com/jobs/{stamp})

    Companies are **hiring** again.

    Categories: jobs
"""


def planned(database: Path, count: int) -> bool:
    with closing(sqlite3.connect(database)) as raw:
        done = raw.execute("SELECT count(*) FROM digests WHERE plan_state = 'done'").fetchone()[0]
    return bool(done >= count)


def make_due(app: App, chat_id: str) -> None:
    """The week has passed: the subscription's roundup is due now (the scheduler is woken)."""
    now = to_db(app.store.clock.now() - timedelta(seconds=1))
    with closing(sqlite3.connect(app.store.path, timeout=10)) as raw, raw:
        raw.execute("UPDATE subscriptions SET next_due_at = ? WHERE chat_id = ?", (now, chat_id))
    app.scheduler.wake()


async def test_a_weekly_roundup_on_telegram_groups_by_category_and_counts_a_story_once(
    tmp_path: Path,
) -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:  # pacing: elsewhere
        ann = fake.user(100, language="en")
        li = fake.user(101, language="zh-CN")
        telegram = {
            "token": TOKEN,
            "base_url": fake.base_url,
            "rate_limits": {
                "global_per_second": 1000,
                "per_chat_per_second": 1000,
                "per_group_per_minute": 6e4,
            },
        }
        settings = settings_for(tmp_path, categories=CATEGORIES, telegram=telegram)
        async with running_app(settings) as app:

            async def say(chat: int, sender: dict[str, object], text: str) -> str:
                before = len(fake.sent_to(chat))
                fake.push_message(chat, text, sender=sender)
                await fake.wait_for(lambda: len(fake.sent_to(chat)) > before)
                return fake.sent_to(chat)[before].text

            await say(100, ann, "/subscribe")
            reply = await say(100, ann, "/schedule weekly Mon 09:00 Europe/Berlin")
            assert reply == "Schedule: weekly roundup every Monday at 09:00 (Europe/Berlin)."
            assert "weekly roundup every Monday at 09:00" in await say(100, ann, "/status")
            await say(101, li, "/subscribe")
            refused = await say(101, li, "/schedule weekly 周八 09:00")
            assert "无法识别的星期“周八”" in refused and "用法" in refused
            assert "每周一 09:00，一周回顾" in await say(101, li, "/schedule 每周一 09:00 Asia/Shanghai")

            folder = tmp_path / FOLDER
            (folder / "2026.11.23.08.md").write_text(post("2026.11.23.08", "First report."), encoding="utf-8")
            (folder / "2026.11.24.08.md").write_text(
                post("2026.11.24.08", "Now with video."), encoding="utf-8"
            )
            await wait_for(lambda: planned(app.store.path, 2), timeout=30, message="both digests planned")
            sent = len(fake.sent_to(100))
            make_due(app, "100")
            await fake.wait_for(lambda: len(fake.sent_to(100)) >= sent + 2, timeout=30, message="the roundup")
            await wait_for(lambda: ledger_settled(app.store.path, rows=2), message="the roundup sent")
            robots, jobs = (m.visible for m in fake.sent_to(100)[sent:])
            assert robots.splitlines()[0] == "Weekly roundup (2 digests)"
            assert robots.splitlines()[2] == "Robotics" and jobs.splitlines()[2] == "Jobs"
            assert robots.count("Warehouse robots") == 1 and "Now with video." in robots  # newest text
            assert "First report." not in robots
            assert "AI hiring picks up 2026.11.24.08" in jobs and "AI hiring picks up 2026.11.23.08" in jobs
            assert len(fake.sent_to(100)) == sent + 2
            assert len(fake.sent_to(101)) == 3  # the Chinese chat's roundup is not due yet


async def test_a_weekly_roundup_on_the_console(tmp_path: Path) -> None:
    out = io.StringIO()
    app = App(console_settings(tmp_path), stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        console = app.platforms[0]
        assert isinstance(console, ConsolePlatform)
        assert await console.handle_line("/subscribe robotics") is not None
        await console.handle_line("/language zh")  # whatever the terminal's locale says
        reply = await console.handle_line("/schedule weekly Fri 18:00")
        assert reply is not None and "每周五 18:00，一周回顾" in reply.text
        bad = await console.handle_line("/schedule weekly Fri 18:00 19:00")
        assert bad is not None and bad.error and "只能有一个星期几和一个时间" in bad.text
        (tmp_path / "posts" / SAMPLE.name).write_bytes(SAMPLE.read_bytes())
        await wait_for(lambda: planned(app.store.path, 1), timeout=30, message="the digest planned")
        assert "📬" not in out.getvalue()  # weekly: nothing goes out when the digest arrives
        make_due(app, "local")
        await wait_for(lambda: "📬" in out.getvalue(), timeout=30, message="the roundup on the console")
        await wait_for(lambda: ledger_settled(app.store.path), message="the roundup sent")
        shown = out.getvalue().split("📬", 1)[1]
        assert "每周回顾（1 期摘要）" in shown and "\n机器人\n" in shown  # the title, the heading
        assert "人形机器人" in shown
    finally:
        await app.stop()
