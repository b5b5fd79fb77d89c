"""The HTTP server as an operator meets it: `digestbot run` with `http:` on, probed with plain HTTP.

The app-level tests (test_web.py) cover each state; this one proves the real process starts the
server, answers health and metrics with the token from the environment, never logs the token, and
stops cleanly on SIGTERM.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
import yaml
from app_helpers import config_data, example_categories
from process_helpers import bot_process
from waiting import wait_for

TOKEN = "http-process-token-0123456789abcdef"
LISTENING = re.compile(r"http server on http://127\.0\.0\.1:(\d+)/")


async def test_a_running_bot_serves_health_and_metrics_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = config_data(tmp_path, categories=example_categories(), poll_interval=0.1)
    data["http"] = {"listen": "127.0.0.1", "port": 0, "token": "${DIGESTBOT_HTTP_TOKEN}"}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("DIGESTBOT_HTTP_TOKEN", TOKEN)
    async with bot_process(config, tmp_path / "bot.log") as bot:
        await bot.running()
        await wait_for(lambda: LISTENING.search(bot.stderr()) is not None, 10, "the listening line")
        match = LISTENING.search(bot.stderr())
        assert match is not None
        base = f"http://127.0.0.1:{match.group(1)}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/healthz") as health:
                assert (health.status, await health.text()) == (200, "ok\n")
            async with session.get(f"{base}/metrics") as refused:
                assert refused.status == 401
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            async with session.get(f"{base}/metrics", headers=bearer) as metrics:
                assert metrics.status == 200
                assert "digestbot_queue_depth" in await metrics.text()
        assert await bot.terminate() == 0
        assert TOKEN not in bot.stderr()
