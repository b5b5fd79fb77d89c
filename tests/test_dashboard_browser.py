"""The dashboard in a real browser: headless Chromium watches a broadcast to the fake Bot API server.

The bot (bot.app.App) fans one digest out to 300 chats at 40 messages per second, so the broadcast
takes about eight seconds (room for a slow browser start on a busy machine); the page's progress
bar, fed by its own script polling /api/progress, must be read moving forward twice, and the page
is saved as a screenshot under tests/artifacts/.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from app_helpers import FOLDER, settings_for
from browser import artifact, browser_paths, headless_chromium
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from waiting import ledger_settled, wait_for
from web_helpers import HTTP_TOKEN, web_app

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
TOKEN = "7512345678:AAF-webWEBwebWEBwebWEBwebWEBweb1234"
CHATS = range(20_000, 20_300)
CATEGORIES = [{"id": "robotics", "zh": "机器人", "en": "Robotics", "keywords": ["robot*"]}]
DIGEST = """---
title: "2025.11.21.08 Robots <&> everywhere"
date: 2025-11-21T08:00:00+08:00
---

1.  [Warehouse robots learn to fold boxes](https://example.com/robots/boxes)

    A logistics firm says its robot arms now fold shipping boxes.
"""


def watch_progress(url: str, screenshot: Path) -> tuple[int, int, int, str]:
    """Sign in with ?token=, read the progress bar, wait for it to move on, read it again, and save
    a screenshot. Runs in a thread: Selenium blocks, and the bot's loop must keep sending."""
    with headless_chromium() as driver:
        driver.get(f"{url}?token={HTTP_TOKEN}")
        bar = driver.find_element(By.ID, "progress")
        first = int(bar.get_property("value"))
        WebDriverWait(driver, 15, poll_frequency=0.1).until(
            lambda d: int(d.find_element(By.ID, "progress").get_property("value")) > first
        )
        second = int(driver.find_element(By.ID, "progress").get_property("value"))
        total = int(driver.find_element(By.ID, "total").text)
        driver.save_screenshot(str(screenshot))
        return first, second, total, driver.current_url


async def test_the_progress_bar_advances_during_a_broadcast(tmp_path: Path) -> None:
    browser_paths()  # fail first, with the install command, when the browser is missing
    async with FakeTelegram(TOKEN, flood_rules=FloodRules()) as fake:
        for chat in CHATS:
            fake.add_chat(chat, "private")
        telegram = {
            "token": TOKEN,
            "base_url": fake.base_url,
            "rate_limits": {"global_per_second": 40, "per_chat_per_second": 1, "per_group_per_minute": 20},
        }
        settings = settings_for(
            tmp_path,
            categories=CATEGORIES,
            telegram=telegram,
            broadcasts=[{"platform": "telegram", "chat": str(chat)} for chat in CHATS],
            http={"port": 0, "token": HTTP_TOKEN},
        )
        async with web_app(settings) as (app, url):
            (tmp_path / FOLDER / "2025.11.21.08.md").write_text(DIGEST, encoding="utf-8")
            sent = lambda: sum(len(fake.sent_to(chat)) for chat in CHATS)  # noqa: E731
            await fake.wait_for(lambda: sent() >= 20, message="the broadcast under way")
            screenshot = artifact("dashboard.png")
            first, second, total, where = await asyncio.to_thread(watch_progress, url, screenshot)
            print(f"dashboard screenshot: {screenshot}")
            assert total == len(CHATS)
            assert 0 < first < second <= total
            assert "token" not in where  # the sign-in redirect left the token out of the address
            assert sent() < len(CHATS) or second == total
            assert app.store is not None
            await wait_for(
                lambda: ledger_settled(Path(app.store.path), rows=len(CHATS)), timeout=20, message="all sent"
            )
        assert screenshot.stat().st_size > 10_000
