"""The fake Bot API server enforces the rules the end-to-end tests rely on."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules, flood

TOKEN = "123456:fake-token-for-the-fake-server-tests"


async def call(
    fake: FakeTelegram, method: str, *, token: str = TOKEN, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST like PTB does: form-encoded, non-string values JSON-encoded."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    url = f"http://127.0.0.1:{fake.port}/bot{token}/{method}"
    async with aiohttp.ClientSession() as http, http.post(url, data=form) as response:
        return response.status, await response.json()


@pytest.fixture
async def fake() -> Any:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as server:
        server.user(1)
        yield server


async def test_token_and_method_are_checked(fake: FakeTelegram) -> None:
    assert (await call(fake, "getMe", token="1:wrong"))[0] == 401
    status, body = await call(fake, "sendSticker", chat_id=1)
    assert (status, body["ok"], body["description"]) == (404, False, "Not Found")
    assert (await call(fake, "getMe"))[1]["result"]["username"] == "digest_test_bot"


async def test_json_bodies_are_understood_too(fake: FakeTelegram) -> None:
    url = f"http://127.0.0.1:{fake.port}/bot{TOKEN}/sendMessage"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"chat_id": 1, "text": "123"}) as response,
    ):
        assert (await response.json())["result"]["text"] == "123"
    assert fake.sent_to(1)[0].text == "123"


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "<b>open", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
        ({"text": "a & b", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
        ({"text": "<p>x</p>", "parse_mode": "HTML"}, "Bad Request: can't parse entities"),
        ({"text": "😀" * 2049}, "Bad Request: message is too long"),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "x", "parse_mode": "Markdown"}, "Bad Request: unsupported parse_mode"),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "x" * 65}]]}},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_send_message_rules(fake: FakeTelegram, params: dict[str, Any], description: str) -> None:
    status, body = await call(fake, "sendMessage", chat_id=1, **params)
    assert status == 400
    assert body["description"].startswith(description)
    assert fake.sent_to(1) == []


async def test_limits_that_pass(fake: FakeTelegram) -> None:
    assert (await call(fake, "sendMessage", chat_id=1, text="😀" * 2048))[0] == 200
    html = '<b>bold</b> <a href="https://example.com/?a=1&amp;b=2">link</a> &lt;3'
    status, body = await call(fake, "sendMessage", chat_id=1, text=html, parse_mode="HTML")
    assert status == 200 and body["result"]["text"] == "bold link <3"
    assert (await call(fake, "sendMessage", chat_id=404, text="x"))[1][
        "description"
    ] == "Bad Request: chat not found"


async def test_edit_rules(fake: FakeTelegram) -> None:
    _, sent = await call(fake, "sendMessage", chat_id=1, text="one")
    message_id = sent["result"]["message_id"]
    status, body = await call(fake, "editMessageText", chat_id=1, message_id=message_id, text="one")
    assert status == 400 and "message is not modified" in body["description"]
    assert (await call(fake, "editMessageText", chat_id=1, message_id=message_id, text="two"))[0] == 200
    assert fake.sent_to(1)[0].visible == "two" and fake.sent_to(1)[0].edits == 1
    assert (await call(fake, "editMessageText", chat_id=1, message_id=99, text="x"))[0] == 400


async def test_get_updates_long_polls_and_confirms_with_offset(fake: FakeTelegram) -> None:
    started = time.monotonic()
    assert (await call(fake, "getUpdates", timeout=0.2))[1]["result"] == []
    assert time.monotonic() - started >= 0.2
    poll = asyncio.create_task(call(fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    fake.push_message(1, "/start", sender={"id": 1, "is_bot": False, "first_name": "A"})
    updates = (await poll)[1]["result"]
    assert len(updates) == 1 and updates[0]["message"]["entities"][0]["length"] == 6
    again = (await call(fake, "getUpdates", timeout=0))[1]["result"]
    assert again == updates  # not confirmed yet
    confirmed = (await call(fake, "getUpdates", offset=updates[0]["update_id"] + 1, timeout=0))[1]["result"]
    assert confirmed == []


async def test_faults_are_injected_per_chat_and_counted(fake: FakeTelegram) -> None:
    fake.user(2)
    fake.fail(1, lambda: flood(3), times=2)
    for _ in range(2):
        status, body = await call(fake, "sendMessage", chat_id=1, text="x")
        assert (status, body["parameters"]) == (429, {"retry_after": 3})
    assert (await call(fake, "sendMessage", chat_id=1, text="x"))[0] == 200
    assert (await call(fake, "sendMessage", chat_id=2, text="x"))[0] == 200


async def test_flood_rules_refuse_like_telegram() -> None:
    rules = FloodRules(per_chat_per_second=1, per_chat_burst=1, group_per_minute=20, group_burst=2)
    async with FakeTelegram(TOKEN, flood_rules=rules) as fake:
        fake.user(1)
        fake.add_chat(-5, "supergroup")
        assert (await call(fake, "sendMessage", chat_id=1, text="a"))[0] == 200
        status, body = await call(fake, "sendMessage", chat_id=1, text="b")
        assert status == 429 and body["parameters"]["retry_after"] == 1
        assert body["description"] == "Too Many Requests: retry after 1"
        fake.rules = FloodRules(
            per_chat_per_second=100, per_chat_burst=100, group_per_minute=20, group_burst=2
        )
        for _ in range(2):
            assert (await call(fake, "sendMessage", chat_id=-5, text="g"))[0] == 200
        status, body = await call(fake, "sendMessage", chat_id=-5, text="g")
        assert status == 429 and body["parameters"]["retry_after"] == 3
        assert [r.rule for r in fake.refused] == ["chat", "group"]
