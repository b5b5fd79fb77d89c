"""The whole bot (bot.app.App) with Telegram pointed at the fake Bot API server.

A digest file dropped into the watched folder reaches exactly the chats whose filter wants it, and a
429 storm in the middle of a broadcast to 200 chats still ends with every message delivered once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from app_helpers import FOLDER, running_app, settings_for
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules, flood
from waiting import ledger_settled, wait_for

from bot.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
TOKEN = "7512345678:AAF-appAPPappAPPappAPPappAPPapp1234"
CATEGORIES = [
    {"id": "robotics", "zh": "机器人", "en": "Robotics", "keywords": ["robot*", "机器人"]},
    {"id": "jobs", "zh": "就业市场", "en": "Jobs", "keywords": ["hiring", "招聘"]},
]
DIGEST = """---
title: "2025.11.21.08 What happened in AI"
date: 2025-11-21T08:00:00+08:00
categories: ["机器人", "就业市场"]
---

1.  [Warehouse robots learn to fold boxes - Mei Lin](https://example.com/robots/boxes)

    A logistics firm says its **robot arms** now fold shipping boxes & pack them <unaided>.

    Categories: robotics

2.  [招聘市场回暖：AI 岗位需求上升 - 李雷](https://example.com/jobs/hiring)

    多家公司扩大**招聘**，数据标注与模型评测岗位需求明显上升。

    分类：就业市场

3.  [人形机器人进入家庭试点 - 王可](https://example.com/robots/home)

    一家公司启动家用人形机器人试点项目。

    分类：机器人
"""


def telegram_settings(tmp_path: Path, fake: FakeTelegram, **extra: Any) -> Settings:
    telegram = {
        "token": TOKEN,
        "base_url": fake.base_url,
        "rate_limits": {"global_per_second": 150, "per_chat_per_second": 5, "per_group_per_minute": 60},
    }
    return settings_for(tmp_path, categories=CATEGORIES, telegram=telegram, **extra)


async def test_a_digest_dropped_in_the_folder_reaches_only_its_subscribers(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules()) as fake:
        robots_fan = fake.user(100, language="en")
        jobs_fan = fake.user(101, language="zh-CN")
        async with running_app(telegram_settings(tmp_path, fake)) as app:
            for chat, sender, text in (
                (100, robots_fan, "/subscribe robotics"),
                (101, jobs_fan, "/subscribe 就业市场"),
            ):
                fake.push_message(chat, text, sender=sender)
            await fake.wait_for(lambda: bool(fake.sent_to(100) and fake.sent_to(101)))
            assert fake.sent_to(100)[0].text == "Subscribed: Robotics."
            assert fake.sent_to(101)[0].text == "已订阅：就业市场。"

            (tmp_path / FOLDER / "2025.11.21.08.md").write_text(DIGEST, encoding="utf-8")
            await fake.wait_for(lambda: len(fake.sent_to(100)) >= 2 and len(fake.sent_to(101)) >= 2)
            # Nothing left to plan or send: a wrongly addressed or repeated message has arrived by now.
            await wait_for(lambda: ledger_settled(app.store.path, rows=2), message="both deliveries done")

            robots = fake.sent_to(100)[1:]
            assert len(robots) == 1 and robots[0].parse_mode == "HTML"
            assert "Warehouse robots" in robots[0].visible and "<unaided>" in robots[0].visible
            assert "人形机器人" in robots[0].visible and "招聘市场" not in robots[0].visible
            jobs = fake.sent_to(101)[1:]
            assert len(jobs) == 1
            assert "招聘市场回暖" in jobs[0].visible and "Warehouse" not in jobs[0].visible
            assert fake.refused == []


async def test_429_storm_during_a_broadcast_to_200_chats(tmp_path: Path) -> None:
    chats = range(20_000, 20_200)
    rules = FloodRules(
        global_per_second=150, global_burst=150, per_chat_per_second=5, per_chat_burst=5, group_per_minute=60
    )
    async with FakeTelegram(TOKEN, flood_rules=rules) as fake:
        for chat in chats:
            fake.user(chat)
        broadcasts = [
            {"platform": "telegram", "chat": str(chat), "categories": ["robotics"] if chat % 2 else []}
            for chat in chats
        ]
        async with running_app(telegram_settings(tmp_path, fake, broadcasts=broadcasts)) as app:
            fake.fail(None, lambda: flood(1), times=60)
            (tmp_path / FOLDER / "2025.11.21.08.md").write_text(DIGEST, encoding="utf-8")
            await fake.wait_for(lambda: all(fake.sent_to(chat) for chat in chats), timeout=60)
            await wait_for(
                lambda: ledger_settled(app.store.path, rows=len(chats)), 10, "every delivery in a final state"
            )

        per_chat = Counter(m.chat_id for messages in fake.messages.values() for m in messages)
        assert set(per_chat) == set(chats)
        assert set(per_chat.values()) == {1}
        assert fake.refused == []
        sends = fake.calls("sendMessage")
        assert len(sends) == len(chats) + 60
        assert "招聘市场回暖" not in fake.sent_to(20_001)[0].visible
        assert "招聘市场回暖" in fake.sent_to(20_000)[0].visible
